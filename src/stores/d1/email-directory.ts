/**
 * Addresses held by users of another database (several databases only; docs/storage.md).
 *
 * A user lives in the database of the email it registered with, and its id (the token's `sub`)
 * says so; an email change keeps the user where it is. The new address is then claimed by a row
 * of `email_directory` in the address's own database, where registrations and logins of that
 * address look: its primary key, and the checks below, keep every address to one user.
 *
 * A row counts only while its user's `email` is that address. A row that no longer does (a change
 * whose confirmation never committed, or an old address whose row could not be deleted) is stale:
 * it is replaced when someone claims the address, once it is older than {@link CLAIM_GRACE_MS}
 * (younger, it may belong to a change committing right now).
 */
import { and, eq, sql } from "drizzle-orm";
import { guardStorage } from "../guard";
import { d1Statement, type Database, type Databases } from "./databases";
import { emailDirectory, users } from "./schema";

/** A claim younger than this may be a change in progress: never treated as stale. */
export const CLAIM_GRACE_MS = 5 * 60_000;

/** True when a D1 error is the UNIQUE violation of this table (possibly wrapped by Drizzle). */
export function uniqueViolationOn(err: unknown, table: "users" | "email_directory"): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (new RegExp(`UNIQUE constraint failed: ${table}\\.`, "i").test(e.message)) return true;
  }
  return false;
}

/**
 * Two statements for the batch that gives `email` to a user of this database (a registration, or
 * a change to an address of this database): they fail with a UNIQUE violation on
 * `email_directory` if a user of another database holds the address, and leave no row otherwise.
 */
export function directoryProbe(db: Database, email: string, userId: string, now: number) {
  return [
    db.insert(emailDirectory).values({ email, userId, claimedAt: now }),
    db.delete(emailDirectory).where(and(eq(emailDirectory.email, email), eq(emailDirectory.userId, userId), eq(emailDirectory.claimedAt, now))),
  ] as const;
}

/** The query for the directory row of `email` (in `email`'s database): the user it names may no longer have the address. */
export function directoryEntry(db: Database, email: string) {
  return db.select({ userId: emailDirectory.userId }).from(emailDirectory).where(eq(emailDirectory.email, email));
}

/**
 * Deletes the directory row of `email` if it is stale (see the module comment); true when it did,
 * and the caller may try its claim again.
 */
export async function removeStaleEntry(databases: Databases, email: string, now: number): Promise<boolean> {
  const db = databases.forKey(email);
  const entry = await guardStorage(() => db.select().from(emailDirectory).where(eq(emailDirectory.email, email)).get());
  if (!entry || entry.claimedAt > now - CLAIM_GRACE_MS) return false;
  const holder = await guardStorage(() => databases.forKey(entry.userId).select({ email: users.email }).from(users).where(eq(users.id, entry.userId)).get());
  if (holder?.email === email) return false;
  const { meta } = await guardStorage(() =>
    db
      .delete(emailDirectory)
      .where(and(eq(emailDirectory.email, email), eq(emailDirectory.userId, entry.userId), eq(emailDirectory.claimedAt, entry.claimedAt)))
      .run(),
  );
  return meta.changes === 1;
}

/**
 * Claims `email` for a user of another database, in the address's database: inserts the row (or
 * renews the user's own), unless a user of that database or another user's row holds it.
 */
export async function claimAddress(databases: Databases, email: string, userId: string, now: number): Promise<"claimed" | "taken"> {
  const db = databases.forKey(email);
  const claim = () =>
    guardStorage(() =>
      d1Statement(
        db,
        sql`insert into ${emailDirectory} (email, user_id, claimed_at)
          select ${email}, ${userId}, ${now} where not exists (select 1 from ${users} where ${users.email} = ${email})
          on conflict (email) do update set claimed_at = excluded.claimed_at where ${emailDirectory.userId} = excluded.user_id`,
      ).run(),
    );
  if ((await claim()).meta.changes === 1) return "claimed";
  if ((await removeStaleEntry(databases, email, now)) && (await claim()).meta.changes === 1) return "claimed";
  return "taken";
}

/** Deletes the user's row for an address it no longer has. Best effort: a row left behind is stale, and replaced later. */
export async function releaseAddress(databases: Databases, email: string, userId: string): Promise<void> {
  await databases
    .forKey(email)
    .delete(emailDirectory)
    .where(and(eq(emailDirectory.email, email), eq(emailDirectory.userId, userId)))
    .run()
    .catch(() => undefined);
}
