/**
 * Refresh-token families in D1 (`sessions`, one row per family). A rotation is one prepared,
 * conditional UPDATE of that row: no read before it, no row inserted.
 */
import { and, desc, eq, isNull, sql, type SQL } from "drizzle-orm";
import type { FamilyRecord, FamilyScope, FamilyState, FamilyStore, LivenessBounds, Rotation, SecurityEvent, TokenSubject } from "../types";
import { guardStorage } from "../guard";
import { d1Statement, qualified, type Database, type Databases } from "./databases";
import { insertEventIf, logEvent } from "./events";
import { liveFamily } from "./liveness";
import { rolesOfUser } from "./roles";
import { legacyRefreshTokens, sessions, users } from "./schema";

const familyColumns = {
  id: sessions.id,
  userId: sessions.userId,
  clientId: sessions.clientId,
  createdAt: sessions.createdAt,
  expiresAt: sessions.expiresAt,
  generation: sessions.generation,
  tokenHash: sessions.tokenHash,
  previousHash: sessions.previousHash,
  sealedToken: sessions.sealedToken,
  childNonce: sessions.childNonce,
  rotatedAt: sessions.rotatedAt,
  revokedAt: sessions.revokedAt,
  userAgent: sessions.userAgent,
};

/** What an access token needs of the user, read in the same statement as the family. */
const subjectOf = {
  roles: rolesOfUser(sessions.userId),
  emailVerified: sql<number>`(select "u"."email_verified_at" is not null from ${users} as "u" where "u"."id" = ${qualified(sessions.userId)})`,
};

/** Prepared once per database handle: the query builder never runs on the hot path. */
function preparedFor(db: Database) {
  return {
    rotate: db
      .update(sessions)
      .set({
        generation: sql`${sessions.generation} + 1`,
        tokenHash: sql`${sql.placeholder("childHash")}`,
        previousHash: sql`${sessions.tokenHash}`,
        // The child is derived from its parent and this nonce now: a seal left by an older rotation goes.
        sealedToken: null,
        childNonce: sql`${sql.placeholder("childNonce")}`,
        rotatedAt: sql`${sql.placeholder("now")}`,
      })
      .where(
        and(
          eq(sessions.id, sql.placeholder("familyId")),
          eq(sessions.generation, sql.placeholder("generation")),
          eq(sessions.tokenHash, sql.placeholder("presentedHash")),
          sql`(${sql.placeholder("clientId")} is null or ${sessions.clientId} = ${sql.placeholder("clientId")})`,
          liveFamily,
        ),
      )
      .returning({ userId: sessions.userId, clientId: sessions.clientId, expiresAt: sessions.expiresAt, ...subjectOf })
      .prepare(),
    find: db
      .select({
        ...familyColumns,
        userDisabledAt: users.disabledAt,
        ...subjectOf,
      })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(eq(sessions.id, sql.placeholder("familyId")))
      .prepare(),
    listLive: db
      .select(familyColumns)
      .from(sessions)
      .where(and(eq(sessions.userId, sql.placeholder("userId")), liveFamily))
      .orderBy(desc(sessions.rotatedAt))
      .prepare(),
  };
}

const prepared = new WeakMap<Database, ReturnType<typeof preparedFor>>();
function queriesOf(db: Database) {
  let queries = prepared.get(db);
  if (!queries) prepared.set(db, (queries = preparedFor(db)));
  return queries;
}

/** The families a scope names. */
function inScope(scope: FamilyScope) {
  return "familyId" in scope
    ? and(eq(sessions.id, scope.familyId), scope.userId ? eq(sessions.userId, scope.userId) : undefined)
    : and(eq(sessions.userId, scope.userId), scope.exceptFamilyId ? sql`${sessions.id} <> ${scope.exceptFamilyId}` : undefined);
}

/** Family `familyId` is the user's and not revoked: the session a change is made through still stands. */
export const sessionNotRevoked = (familyId: string, userId: string | null): SQL =>
  sql`exists (select 1 from ${sessions} where ${sessions.id} = ${familyId} and ${sessions.userId} = ${userId} and ${sessions.revokedAt} is null)`;

/** The UPDATE that revokes the live families in scope (for a batch), only if `onlyIf` holds when given. */
export function revokeFamiliesStatement(db: Database, scope: FamilyScope, reason: string, now: number, onlyIf?: SQL) {
  return db
    .update(sessions)
    .set({ revokedAt: now, revokedReason: reason, tokenHash: null, previousHash: null, sealedToken: null, childNonce: null })
    .where(and(inScope(scope), isNull(sessions.revokedAt), onlyIf))
    .returning({ id: sessions.id });
}

export class D1FamilyStore implements FamilyStore {
  constructor(private readonly databases: Databases) {}

  async rotate(rotation: Rotation) {
    const { familyId, generation, presentedHash, childHash, childNonce, live, clientId } = rotation;
    const row = await guardStorage(() =>
      queriesOf(this.databases.forKey(familyId)).rotate.get({
        familyId,
        generation,
        presentedHash,
        childHash,
        childNonce,
        clientId: clientId ?? null,
        now: live.now,
        lastUsedAfter: live.lastUsedAfter,
      }),
    );
    if (!row) return undefined;
    const subject: TokenSubject = { userId: row.userId, roles: row.roles, emailVerified: Boolean(row.emailVerified) };
    return { subject, clientId: row.clientId, expiresAt: row.expiresAt };
  }

  async find(familyId: string): Promise<FamilyState | undefined> {
    const row = await guardStorage(() => queriesOf(this.databases.forKey(familyId)).find.get({ familyId }));
    if (!row) return undefined;
    const { roles, emailVerified, ...family } = row;
    return { ...family, subject: { userId: row.userId, roles, emailVerified: Boolean(emailVerified) } };
  }

  async findLegacyToken(tokenHash: string) {
    // Tokens from before the upgrade were issued while the service had one database: the first.
    const db = this.databases.all[0]!;
    return guardStorage(() =>
      db.select({ familyId: legacyRefreshTokens.sessionId }).from(legacyRefreshTokens).where(eq(legacyRefreshTokens.tokenHash, tokenHash)).get(),
    );
  }

  async revoke(scope: FamilyScope, reason: string, event: SecurityEvent, now: number): Promise<string[]> {
    const db = this.databases.forKey("familyId" in scope ? scope.familyId : scope.userId);
    // The event only if this batch revoked something: a repeated logout (or a retry after a lost
    // response) ends nothing and records nothing.
    const revokedByThisBatch = sql`exists (select 1 from ${sessions} where ${and(inScope(scope), eq(sessions.revokedAt, now), eq(sessions.revokedReason, reason))})`;
    const [revoked] = await guardStorage(() =>
      db.$client.batch<{ id: string }>([d1Statement(db, revokeFamiliesStatement(db, scope, reason, now)), d1Statement(db, insertEventIf(event, now, revokedByThisBatch))]),
    );
    const ids = (revoked?.results ?? []).map((row) => row.id);
    if (ids.length > 0) logEvent(event, now);
    return ids;
  }

  listLive(userId: string, live: LivenessBounds): Promise<FamilyRecord[]> {
    return guardStorage(() => queriesOf(this.databases.forKey(userId)).listLive.all({ userId, ...live }));
  }
}
