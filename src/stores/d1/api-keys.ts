/**
 * API keys in D1 (`api_keys`). A key lives in the database of its owner: its id is drawn beside the
 * owner's placement key (the user id, or `svc:<service account>`), so the id alone finds it.
 */
import { and, desc, eq, gt, inArray, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import type { ApiKeyOwner, ApiKeyRecord, ApiKeyState, ApiKeyStore, SecurityEvent } from "../types";
import { guardStorage } from "../guard";
import { d1Statement, qualified, type Databases } from "./databases";
import { insertEventIf, logEvent } from "./events";
import { sessionNotRevoked } from "./families";
import { rolesOfUser } from "./roles";
import { apiKeys, authEvents, users } from "./schema";

/** Where an owner's keys live: the user id, or `svc:<name>` for a service account. */
export const apiKeyOwnerKey = (owner: ApiKeyOwner) => ("userId" in owner ? owner.userId : `svc:${owner.serviceAccount}`);

const ownedBy = (owner: ApiKeyOwner) => ("userId" in owner ? eq(apiKeys.userId, owner.userId) : eq(apiKeys.serviceAccount, owner.serviceAccount));

/**
 * The SQL of a usable key at `now`, mirroring `isUsable` (src/api-keys/usable.ts): not revoked, not
 * expired, and a user's key only while that user is not disabled.
 */
export const usableKeyAt = (now: number): SQL =>
  and(
    isNull(apiKeys.revokedAt),
    or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, now)),
    or(isNull(apiKeys.userId), sql`exists (select 1 from ${users} as "u" where "u"."id" = ${qualified(apiKeys.userId)} and "u"."disabled_at" is null)`),
  )!;

const recordColumns = {
  id: apiKeys.id,
  userId: apiKeys.userId,
  serviceAccount: apiKeys.serviceAccount,
  name: apiKeys.name,
  prefix: apiKeys.prefix,
  secretHash: apiKeys.secretHash,
  scopes: apiKeys.scopes,
  createdAt: apiKeys.createdAt,
  expiresAt: apiKeys.expiresAt,
  lastUsedAt: apiKeys.lastUsedAt,
  revokedAt: apiKeys.revokedAt,
};

const splitScopes = (scopes: string) => scopes.split(" ").filter(Boolean);
const toRecord = <T extends { scopes: string }>(row: T) => ({ ...row, scopes: splitScopes(row.scopes) });

export class D1ApiKeyStore implements ApiKeyStore {
  constructor(private readonly databases: Databases) {}

  async create({ key, maxLive, event, ownerSessionId }: { key: ApiKeyRecord; maxLive: number; event: SecurityEvent; ownerSessionId?: string }) {
    const owner: ApiKeyOwner = key.userId !== null ? { userId: key.userId } : { serviceAccount: key.serviceAccount! };
    const db = this.databases.forKey(apiKeyOwnerKey(owner));
    const now = key.createdAt;
    const userActive = key.userId === null ? sql`1` : sql`exists (select 1 from ${users} where ${users.id} = ${key.userId} and ${users.disabledAt} is null)`;
    const sessionLive = ownerSessionId === undefined ? sql`1` : sessionNotRevoked(ownerSessionId, key.userId);
    const ownerHolds = sql`(${userActive} and ${sessionLive})`;
    const created = sql`exists (select 1 from ${apiKeys} where ${apiKeys.id} = ${key.id})`;
    const [inserted, , holds] = await guardStorage(() =>
      db.$client.batch([
        d1Statement(
          db,
          sql`insert into ${apiKeys} (id, user_id, service_account, name, prefix, secret_hash, scopes, created_at, expires_at) select ${key.id}, ${key.userId}, ${key.serviceAccount}, ${key.name}, ${key.prefix}, ${key.secretHash}, ${key.scopes.join(" ")}, ${now}, ${key.expiresAt} where ${ownerHolds} and (select count(*) from ${apiKeys} where ${and(ownedBy(owner), usableKeyAt(now))}) < ${maxLive}`,
        ),
        d1Statement(db, insertEventIf(event, now, created)),
        // Read in the same batch: why nothing was inserted, if nothing was.
        d1Statement(db, sql`select ${ownerHolds} as holds`),
      ]),
    );
    if (inserted?.meta.changes !== 1) return (holds?.results[0] as { holds?: number } | undefined)?.holds ? "too_many" : "owner_gone";
    logEvent(event, now);
    return "created";
  }

  async find(id: string): Promise<ApiKeyState | undefined> {
    const row = await guardStorage(() => this.#findQuery(id).get());
    return row && toState(row);
  }

  async touch({ id, secretHash, now, usedBefore }: { id: string; secretHash: string; now: number; usedBefore: number }): Promise<boolean> {
    const touched = and(eq(apiKeys.id, id), eq(apiKeys.secretHash, secretHash), usableKeyAt(now), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, usedBefore)));
    const { meta } = await guardStorage(() => this.databases.forKey(id).update(apiKeys).set({ lastUsedAt: now }).where(touched).run());
    return meta.changes === 1;
  }

  list(owner: ApiKeyOwner): Promise<ApiKeyRecord[]> {
    const db = this.databases.forKey(apiKeyOwnerKey(owner));
    return guardStorage(async () =>
      (
        await db
          .select(recordColumns)
          .from(apiKeys)
          .where(and(ownedBy(owner), isNull(apiKeys.revokedAt)))
          .orderBy(desc(apiKeys.createdAt))
          .all()
      ).map(toRecord),
    );
  }

  async revoke({ owner, ids, now, event }: { owner: ApiKeyOwner; ids: readonly string[]; now: number; event: Omit<SecurityEvent, "detail"> }): Promise<string[]> {
    if (ids.length === 0) return [];
    const db = this.databases.forKey(apiKeyOwnerKey(owner));
    const unrevoked = and(ownedBy(owner), inArray(apiKeys.id, [...ids]), isNull(apiKeys.revokedAt));
    // One event per key, written first while the rows still say they are unrevoked.
    const events = sql`insert into ${authEvents} (type, user_id, session_id, ip, user_agent, detail, actor_id, created_at) select ${event.type}, ${event.userId ?? null}, ${event.sessionId ?? null}, ${event.ip ?? null}, ${event.userAgent?.slice(0, 256) ?? null}, ${qualified(apiKeys.id)}, ${event.actorId ?? null}, ${now} from ${apiKeys} where ${unrevoked}`;
    const [, revoked] = await guardStorage(() =>
      db.$client.batch<{ id: string }>([
        d1Statement(db, events),
        d1Statement(db, db.update(apiKeys).set({ revokedAt: now }).where(unrevoked).returning({ id: apiKeys.id })),
      ]),
    );
    const revokedIds = (revoked?.results ?? []).map((row) => row.id);
    for (const id of revokedIds) logEvent({ ...event, detail: id }, now);
    return revokedIds;
  }

  #findQuery(id: string) {
    return this.databases
      .forKey(id)
      // No column of `users` under a name `api_keys` has too (D1 returns one value per column name).
      .select({
        ...recordColumns,
        userFound: sql<number>`${users.id} is not null`,
        userDisabledAt: users.disabledAt,
        roles: rolesOfUser(apiKeys.userId),
        emailVerified: sql<number>`${users.emailVerifiedAt} is not null`,
      })
      .from(apiKeys)
      .leftJoin(users, eq(users.id, apiKeys.userId))
      .where(eq(apiKeys.id, id));
  }
}

interface StateRow extends Omit<ApiKeyRecord, "scopes"> {
  scopes: string;
  userFound: number;
  userDisabledAt: number | null;
  roles: string[];
  emailVerified: number;
}

function toState({ userFound, userDisabledAt, roles, emailVerified, ...record }: StateRow): ApiKeyState {
  return { ...toRecord(record), user: userFound ? { disabledAt: userDisabledAt, roles, emailVerified: Boolean(emailVerified) } : null };
}
