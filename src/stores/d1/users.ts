/** Users in D1, and the changes that must commit together with a user's families and events. */
import { and, eq, inArray, sql, type SQL } from "drizzle-orm";
import type { NewFamily, SecurityEvent, UserRecord, UserStore } from "../types";
import { guardStorage } from "../guard";
import { d1Statement, isUniqueViolation, normalizeEmail, type Databases } from "./databases";
import { directoryEntry, directoryProbe, removeStaleEntry, uniqueViolationOn } from "./email-directory";
import { insertEvent, insertEventIf, logEvent } from "./events";
import { revokeFamiliesStatement, sessionNotRevoked } from "./families";
import { rolesOfUser } from "./roles";
import { emailTokens, sessions, userRoles, users } from "./schema";

const familyRow = (family: NewFamily) => ({ ...family, generation: 0, rotatedAt: family.createdAt });

/** A user with its roles, in one query. */
const userColumns = {
  id: users.id,
  email: users.email,
  passwordHash: users.passwordHash,
  createdAt: users.createdAt,
  updatedAt: users.updatedAt,
  disabledAt: users.disabledAt,
  emailVerifiedAt: users.emailVerifiedAt,
  roles: rolesOfUser(users.id),
};

/**
 * The user still has the password that was just verified and is not disabled, and the caller's
 * family is not revoked: what a change authorised by the current password requires when it commits.
 */
export function credentialsAndSessionHold({ userId, verifiedHash, familyId }: { userId: string; verifiedHash: string; familyId: string }): SQL {
  return sql`exists (select 1 from ${users} where ${users.id} = ${userId} and ${users.passwordHash} = ${verifiedHash} and ${users.disabledAt} is null)
    and ${sessionNotRevoked(familyId, userId)}`;
}

export class D1UserStore implements UserStore {
  constructor(private readonly databases: Databases) {}

  /** With several databases, a user who changed to this address lives elsewhere: the directory says where. */
  async findByEmail(email: string): Promise<UserRecord | undefined> {
    const normalized = normalizeEmail(email);
    const db = this.databases.forKey(normalized);
    const byEmail = db.select(userColumns).from(users).where(eq(users.email, normalized));
    if (this.databases.all.length === 1) return guardStorage(() => byEmail.get());
    // The address's directory row is in this same database. It is read in the same round trip
    // whether or not the user is found here, so that an unknown address costs what a known one does.
    const [[user], [entry]] = await guardStorage(() => db.batch([byEmail, directoryEntry(db, normalized)]));
    if (user) return user;
    const holder = entry && (await this.findById(entry.userId));
    return holder?.email === normalized ? holder : undefined;
  }

  findById(id: string): Promise<UserRecord | undefined> {
    return guardStorage(() => this.databases.forKey(id).select(userColumns).from(users).where(eq(users.id, id)).get());
  }

  async register(user: UserRecord, family: NewFamily | undefined, event: SecurityEvent, retry = true): Promise<"created" | "email_taken"> {
    const db = this.databases.forKey(user.id);
    const { roles, ...columns } = user;
    const roleRows = roles.map((role) => ({ userId: user.id, role, grantedAt: user.createdAt, grantedBy: null }));
    // With several databases, a user of another database may hold the address (email-directory.ts).
    const probe = this.databases.all.length > 1 ? directoryProbe(db, user.email, user.id, user.createdAt) : [];
    try {
      await db.batch([
        db.insert(users).values(columns),
        ...probe,
        ...(roleRows.length > 0 ? [db.insert(userRoles).values(roleRows)] : []),
        ...(family ? [db.insert(sessions).values(familyRow(family))] : []),
        insertEvent(db, event, user.createdAt),
      ]);
    } catch (err) {
      if (retry && uniqueViolationOn(err, "email_directory") && (await removeStaleEntry(this.databases, user.email, user.createdAt))) {
        return this.register(user, family, event, false);
      }
      if (isUniqueViolation(err)) return "email_taken" as const;
      return guardStorage(() => Promise.reject(err));
    }
    logEvent(event, user.createdAt);
    return "created" as const;
  }

  async startFamily({ family, verifiedHash, rehash, event }: { family: NewFamily; verifiedHash: string; rehash?: string; event: SecurityEvent }) {
    const db = this.databases.forKey(family.userId);
    const now = family.createdAt;
    const credentialsHold = sql`exists (select 1 from ${users} where ${users.id} = ${family.userId}
      and ${users.passwordHash} = ${verifiedHash} and ${users.disabledAt} is null)`;
    const familyStarted = sql`exists (select 1 from ${sessions} where ${sessions.id} = ${family.id})`;
    const statements = [
      d1Statement(db, sql`insert into ${sessions}
        (id, user_id, client_id, created_at, expires_at, generation, token_hash, rotated_at, user_agent, ip)
        select ${family.id}, ${family.userId}, ${family.clientId}, ${now}, ${family.expiresAt}, 0, ${family.tokenHash},
          ${now}, ${family.userAgent}, ${family.ip}
        where ${credentialsHold}`),
      d1Statement(db, insertEventIf(event, now, familyStarted)),
      // The rehash is of the same password: it may only replace the hash that was verified.
      ...(rehash
        ? [d1Statement(db, db.update(users).set({ passwordHash: rehash, updatedAt: now }).where(and(eq(users.id, family.userId), eq(users.passwordHash, verifiedHash), familyStarted)))]
        : []),
    ];
    const [inserted] = await guardStorage(() => db.$client.batch(statements));
    if (inserted?.meta.changes !== 1) return false;
    logEvent(event, now);
    return true;
  }

  async changePassword({ userId, verifiedHash, passwordHash, keepFamilyId, event, now }: { userId: string; verifiedHash: string; passwordHash: string; keepFamilyId: string; event: SecurityEvent; now: number }) {
    const db = this.databases.forKey(userId);
    // The new hash has a fresh salt: finding it means the first statement of this batch wrote it.
    const changed = sql`exists (select 1 from ${users} where ${users.id} = ${userId} and ${users.passwordHash} = ${passwordHash})`;
    const [updated] = await guardStorage(() =>
      db.$client.batch([
        d1Statement(db, db.update(users).set({ passwordHash, updatedAt: now }).where(and(eq(users.id, userId), credentialsAndSessionHold({ userId, verifiedHash, familyId: keepFamilyId })))),
        d1Statement(db, revokeFamiliesStatement(db, { userId, exceptFamilyId: keepFamilyId }, "password_changed", now, changed)),
        // A reset link sent before the change must not undo it, nor an email change asked for before it go through.
        d1Statement(db, db.delete(emailTokens).where(and(eq(emailTokens.userId, userId), inArray(emailTokens.purpose, ["reset_password", "change_email"]), changed))),
        d1Statement(db, insertEventIf(event, now, changed)),
      ]),
    );
    if (updated?.meta.changes !== 1) return false;
    logEvent(event, now);
    return true;
  }

  async setDisabled({ userId, disabled, event, now }: { userId: string; disabled: boolean; event: SecurityEvent; now: number }) {
    const db = this.databases.forKey(userId);
    const [updated] = await guardStorage(() =>
      db.$client.batch([
        d1Statement(db, db.update(users).set({ disabledAt: disabled ? now : null, updatedAt: now }).where(eq(users.id, userId))),
        ...(disabled ? [d1Statement(db, revokeFamiliesStatement(db, { userId }, "user_disabled", now))] : []),
        d1Statement(db, insertEventIf(event, now, sql`exists (select 1 from ${users} where ${users.id} = ${userId})`)),
      ]),
    );
    if (updated?.meta.changes !== 1) return false;
    logEvent(event, now);
    return true;
  }
}
