/** D1 queries on `users`. */
import { eq } from "drizzle-orm";
import { guardStorage } from "../storage";
import type { Database } from "./client";
import { users, type User } from "./schema";

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

export function findUserByEmail(db: Database, email: string): Promise<User | undefined> {
  return guardStorage(() => db.select().from(users).where(eq(users.email, normalizeEmail(email))).get());
}

export function findUserById(db: Database, id: string): Promise<User | undefined> {
  return guardStorage(() => db.select().from(users).where(eq(users.id, id)).get());
}

export function updatePasswordHash(db: Database, userId: string, passwordHash: string, now = Date.now()) {
  return db.update(users).set({ passwordHash, updatedAt: now }).where(eq(users.id, userId));
}

/** The public view of a user: never the password hash. */
export function publicUser(user: User) {
  return { id: user.id, email: user.email, role: user.role, created_at: new Date(user.createdAt).toISOString() };
}
