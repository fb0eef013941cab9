/**
 * Single-use email links in D1 (`email_tokens`, docs/storage.md). A token row lives in its user's
 * database, and its hash was drawn to land there too, so a presented token finds its database.
 * Consuming one is the last statement of the batch it authorises: every other statement of that
 * batch runs only if the token is still there, so concurrent uses apply the change once.
 */
import { and, eq, gt, isNull, ne, sql, type SQL } from "drizzle-orm";
import type { LinkTokenPurpose, LinkTokenRecord, LinkTokenStore, SecurityEvent } from "../types";
import { guardStorage } from "../guard";
import { d1Statement, isUniqueViolation, type Database, type Databases } from "./databases";
import { claimAddress, directoryProbe, releaseAddress, removeStaleEntry, uniqueViolationOn } from "./email-directory";
import { insertEventIf, logEvent } from "./events";
import { revokeFamiliesStatement } from "./families";
import { credentialsAndSessionHold } from "./users";
import { apiKeys, emailTokens, users } from "./schema";

/** The token is still there and unexpired: the condition of every statement it authorises. */
const stillValid = (tokenHash: string, now: number): SQL =>
  sql`exists (select 1 from ${emailTokens} where ${emailTokens.tokenHash} = ${tokenHash} and ${emailTokens.expiresAt} > ${now})`;

/** The batch's last statement: deletes the token and says whether it was still valid. */
const consume = (db: Database, tokenHash: string, now: number) =>
  d1Statement(db, db.delete(emailTokens).where(and(eq(emailTokens.tokenHash, tokenHash), gt(emailTokens.expiresAt, now))).returning({ userId: emailTokens.userId }));

export class D1LinkTokenStore implements LinkTokenStore {
  constructor(private readonly databases: Databases) {}

  async issue(token: LinkTokenRecord, event?: SecurityEvent, onlyIf?: { verifiedHash: string; familyId: string }) {
    const db = this.databases.forKey(token.userId);
    const holds = onlyIf ? credentialsAndSessionHold({ userId: token.userId, ...onlyIf }) : sql`1`;
    const stored = sql`exists (select 1 from ${emailTokens} where ${emailTokens.tokenHash} = ${token.tokenHash})`;
    const [, inserted] = await guardStorage(() =>
      db.$client.batch([
        d1Statement(db, db.delete(emailTokens).where(and(eq(emailTokens.userId, token.userId), eq(emailTokens.purpose, token.purpose), holds))),
        d1Statement(db, sql`insert into ${emailTokens} (token_hash, user_id, purpose, new_email, created_at, expires_at)
          select ${token.tokenHash}, ${token.userId}, ${token.purpose}, ${token.newEmail}, ${token.createdAt}, ${token.expiresAt} where ${holds}`),
        ...(event ? [d1Statement(db, insertEventIf(event, token.createdAt, stored))] : []),
      ]),
    );
    if (inserted?.meta.changes !== 1) return false;
    if (event) logEvent(event, token.createdAt);
    return true;
  }

  find(tokenHash: string, purpose: LinkTokenPurpose, now: number) {
    return guardStorage(() =>
      this.databases
        .forKey(tokenHash)
        .select()
        .from(emailTokens)
        .where(and(eq(emailTokens.tokenHash, tokenHash), eq(emailTokens.purpose, purpose), gt(emailTokens.expiresAt, now)))
        .get(),
    );
  }

  async discard(tokenHash: string, userId: string) {
    await guardStorage(() => this.databases.forKey(userId).delete(emailTokens).where(eq(emailTokens.tokenHash, tokenHash)).run());
  }

  async verifyEmail({ userId, tokenHash, now, event }: { userId: string; tokenHash: string; now: number; event: SecurityEvent }) {
    const db = this.databases.forKey(userId);
    const valid = stillValid(tokenHash, now);
    return this.#commit(db, [
      d1Statement(db, insertEventIf(event, now, valid)),
      d1Statement(db, db.update(users).set({ emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, ${now})`, updatedAt: now }).where(and(eq(users.id, userId), valid))),
      consume(db, tokenHash, now),
    ], event, now);
  }

  async resetPassword({ userId, tokenHash, now, event, passwordHash }: { userId: string; tokenHash: string; now: number; event: SecurityEvent; passwordHash: string }) {
    const db = this.databases.forKey(userId);
    const valid = stillValid(tokenHash, now);
    return this.#commit(db, [
      // The link reached the user's inbox: that proves the address too.
      d1Statement(db, db.update(users).set({ passwordHash, emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, ${now})`, updatedAt: now }).where(and(eq(users.id, userId), valid))),
      d1Statement(db, revokeFamiliesStatement(db, { userId }, "password_reset", now, valid)),
      // Keys too: whoever held the account before its recovery (or registered the address before its
      // owner) must keep no credential. Their live tokens fall under the reset's per-user cutoff.
      d1Statement(db, db.update(apiKeys).set({ revokedAt: now }).where(and(eq(apiKeys.userId, userId), isNull(apiKeys.revokedAt), valid))),
      d1Statement(db, insertEventIf(event, now, valid)),
      // Every other link: the account is recovered, pending changes asked for before are void.
      d1Statement(db, db.delete(emailTokens).where(and(eq(emailTokens.userId, userId), ne(emailTokens.tokenHash, tokenHash), valid))),
      consume(db, tokenHash, now),
    ], event, now);
  }

  /**
   * Several databases, new address in another one: the address is claimed there first, so no
   * registration can take it while the user's row is updated (email-directory.ts). A claim whose
   * change then does not commit is left to go stale rather than deleted: deleting it could race
   * with a change of the same user to the same address that is committing.
   */
  async changeEmail(input: { userId: string; tokenHash: string; now: number; event: SecurityEvent; oldEmail: string; newEmail: string }, retry = true): Promise<"changed" | "email_taken" | "token_gone"> {
    const { userId, tokenHash, now, event, oldEmail, newEmail } = input;
    const { databases } = this;
    const db = databases.forKey(userId);
    const elsewhere = databases.indexOf(newEmail) !== databases.indexOf(userId);
    if (elsewhere && (await claimAddress(databases, newEmail, userId, now)) === "taken") return "email_taken";
    const valid = stillValid(tokenHash, now);
    const probe = !elsewhere && databases.all.length > 1 ? directoryProbe(db, newEmail, userId, now).map((query) => d1Statement(db, query)) : [];
    let consumed: boolean;
    try {
      consumed = await this.#commit(db, [
        d1Statement(db, db.update(users).set({ email: newEmail, emailVerifiedAt: now, updatedAt: now }).where(and(eq(users.id, userId), valid))),
        ...probe,
        d1Statement(db, insertEventIf(event, now, valid)),
        // Every other link of the user was sent for the old address.
        d1Statement(db, db.delete(emailTokens).where(and(eq(emailTokens.userId, userId), ne(emailTokens.tokenHash, tokenHash), valid))),
        consume(db, tokenHash, now),
      ], event, now);
    } catch (err) {
      if (retry && uniqueViolationOn(err, "email_directory") && (await removeStaleEntry(databases, newEmail, now))) return this.changeEmail(input, false);
      if (isUniqueViolation(err)) return "email_taken";
      throw err;
    }
    if (!consumed) return "token_gone";
    if (databases.all.length > 1 && databases.indexOf(oldEmail) !== databases.indexOf(userId)) await releaseAddress(databases, oldEmail, userId);
    return "changed";
  }

  /** Runs the batch; true (and the event logged) when its last statement consumed the token. */
  async #commit(db: Database, statements: D1PreparedStatement[], event: SecurityEvent, now: number): Promise<boolean> {
    const results = await db.$client.batch(statements).catch((err: unknown) => {
      if (isUniqueViolation(err)) throw err;
      return guardStorage(() => Promise.reject(err));
    });
    const consumed = (results.at(-1)?.results.length ?? 0) === 1;
    if (consumed) logEvent(event, now);
    return consumed;
  }
}
