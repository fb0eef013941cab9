/**
 * D1 queries on `sessions` (refresh-token families) and `refresh_tokens`.
 * Every multi-statement change runs as one D1 batch, which D1 executes as a single transaction.
 */
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { alias } from "drizzle-orm/sqlite-core";
import { guardStorage } from "../storage";
import { CLOCK_TOLERANCE_SECONDS } from "../tokens";
import type { Database } from "./client";
import { insertAuthEvent, logSecurityEvent, type AuthEventInput } from "./events";
import { refreshTokens, sessions, users, type Session } from "./schema";

export interface NewRefreshToken {
  id: string;
  tokenHash: string;
  expiresAt: number;
  accessJti: string;
  accessExpiresAt: number;
}

export interface NewSession {
  id: string;
  userId: string;
  expiresAt: number;
  userAgent: string | null;
  ip: string | null;
}

/** Statements that start a family with its first token; the caller batches them (e.g. with a new user). */
export function insertSessionStatements(db: Database, session: NewSession, token: NewRefreshToken, now: number) {
  return [
    db.insert(sessions).values({ ...session, createdAt: now }),
    db.insert(refreshTokens).values({ ...token, sessionId: session.id, createdAt: now }),
  ] as const;
}

export interface RotationInput {
  presentedHash: string;
  /** The child's expiry is computed in the batch: min(now + refresh TTL, the family's end). */
  child: Omit<NewRefreshToken, "expiresAt">;
  sealedChild: string;
  now: number;
  idleCutoff: number;
  refreshTtlMs: number;
  event: Omit<AuthEventInput, "type" | "userId" | "sessionId">;
}

export interface RotatedToken {
  sessionId: string;
  userId: string;
  role: string;
  expiresAt: number;
}

/**
 * The whole rotation in one batch: consume the presented token only if it is unused, unexpired and
 * its family is live (conditional UPDATE), then create the child and record the event, reading back
 * what the access token needs; every later statement only acts if the UPDATE won.
 * Returns undefined when the presented token could not be consumed.
 */
export async function rotateRefreshToken(db: Database, input: RotationInput): Promise<RotatedToken | undefined> {
  const { presentedHash, child, sealedChild, now, idleCutoff, refreshTtlMs, event } = input;
  const d1 = db.$client;
  const [, inserted, recorded] = await guardStorage(() =>
    d1.batch([
      d1.prepare(ROTATE_CONSUME).bind(now, child.id, sealedChild, presentedHash, idleCutoff),
      d1.prepare(ROTATE_INSERT_CHILD).bind(child.id, child.tokenHash, now, now + refreshTtlMs, child.accessJti, child.accessExpiresAt, presentedHash),
      d1.prepare(ROTATE_EVENT).bind(event.ip ?? null, event.userAgent?.slice(0, 256) ?? null, now, child.id),
    ]),
  );
  const token = inserted?.results[0] as { session_id: string; expires_at: number } | undefined;
  const family = recorded?.results[0] as { user_id: string; role: string } | undefined;
  if (!token || !family) return undefined;
  return { sessionId: token.session_id, userId: family.user_id, role: family.role, expiresAt: token.expires_at };
}

// The rotation's statements as fixed SQL text: built once, not by the query builder on every refresh.
// Every statement after the first acts only if the first consumed the token (it set child_id).
// Only the family's current token can be consumed, and it was created when the family was last
// used: its created_at is the idle-timeout check.
const ROTATE_CONSUME = `update refresh_tokens set used_at = ?1, child_id = ?2, sealed_child = ?3
  where token_hash = ?4 and used_at is null and expires_at > ?1 and created_at > ?5
  and exists (select 1 from sessions s join users u on u.id = s.user_id
    where s.id = refresh_tokens.session_id and s.revoked_at is null and s.expires_at > ?1
    and u.disabled_at is null)`;
const ROTATE_INSERT_CHILD = `insert into refresh_tokens (id, session_id, token_hash, created_at, expires_at, access_jti, access_expires_at)
  select ?1, t.session_id, ?2, ?3, min(?4, s.expires_at), ?5, ?6
  from refresh_tokens t join sessions s on s.id = t.session_id
  where t.token_hash = ?7 and t.child_id = ?1
  returning session_id, expires_at`;
const ROTATE_EVENT = `insert into auth_events (type, user_id, session_id, ip, user_agent, created_at)
  select 'refresh', s.user_id, s.id, ?1, ?2, ?3
  from refresh_tokens t join sessions s on s.id = t.session_id where t.id = ?4
  returning user_id, (select role from users where users.id = auth_events.user_id) as role`;

/**
 * When a family was last used: the creation of its newest refresh token (login or last rotation);
 * its own creation once housekeeping has deleted its expired tokens. For queries over `sessions`.
 */
export const lastUsedAtOf = (sessionId: typeof sessions.id) =>
  sql<number>`coalesce((select max(rt.created_at) from refresh_tokens rt where rt.session_id = ${sessionId}), ${sessions.createdAt})`;

const childToken = alias(refreshTokens, "child");

/** Everything needed to classify a token that could not be consumed: unknown, expired, grace retry or reuse. */
export function findTokenState(db: Database, tokenHash: string) {
  return guardStorage(() =>
    db
      .select({
        token: {
          id: refreshTokens.id,
          expiresAt: refreshTokens.expiresAt,
          usedAt: refreshTokens.usedAt,
          sealedChild: refreshTokens.sealedChild,
        },
        child: {
          id: childToken.id,
          createdAt: childToken.createdAt,
          expiresAt: childToken.expiresAt,
          usedAt: childToken.usedAt,
          accessJti: childToken.accessJti,
        },
        session: {
          id: sessions.id,
          userId: sessions.userId,
          expiresAt: sessions.expiresAt,
          lastUsedAt: lastUsedAtOf(sessions.id),
          revokedAt: sessions.revokedAt,
        },
        user: { role: users.role, disabledAt: users.disabledAt },
      })
      .from(refreshTokens)
      .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
      .innerJoin(users, eq(users.id, sessions.userId))
      .leftJoin(childToken, eq(childToken.id, refreshTokens.childId))
      .where(eq(refreshTokens.tokenHash, tokenHash))
      .get(),
  );
}

export type TokenState = NonNullable<Awaited<ReturnType<typeof findTokenState>>>;

/** Access tokens stay acceptable this long after `exp` (the verifier's clock leeway). */
const ACCEPTANCE_LEEWAY_MS = CLOCK_TOLERANCE_SECONDS * 1000;

/** The access tokens of these families that could still be accepted: what revocation deny-lists. */
export interface LiveAccessToken {
  jti: string;
  exp: number;
}

const liveAccessTokenColumns = { jti: refreshTokens.accessJti, expiresAt: refreshTokens.accessExpiresAt };
const stillAcceptable = (now: number) => gt(refreshTokens.accessExpiresAt, now - ACCEPTANCE_LEEWAY_MS);
const toLiveAccessToken = (row: { jti: string; expiresAt: number }): LiveAccessToken => ({
  jti: row.jti,
  exp: Math.ceil(row.expiresAt / 1000),
});

/**
 * Revokes families (by id, or all of a user's) in one batch with the event, and returns the live
 * access tokens they had issued. Revoked families can never rotate again (see the rotation UPDATE).
 */
export async function revokeSessions(
  db: Database,
  target: { sessionId: string; userId?: string } | { userId: string; exceptSessionId?: string },
  reason: string,
  event: AuthEventInput,
  now = Date.now(),
  /** Further changes that must commit together with the revocation (e.g. a new password hash). */
  alongWith: BatchItem<"sqlite">[] = [],
): Promise<{ revoked: number; liveAccessTokens: LiveAccessToken[] }> {
  const scope =
    "sessionId" in target
      ? and(eq(sessions.id, target.sessionId), target.userId ? eq(sessions.userId, target.userId) : undefined)
      : and(
          eq(sessions.userId, target.userId),
          target.exceptSessionId ? sql`${sessions.id} <> ${target.exceptSessionId}` : undefined,
        );
  const [revoked, , live] = await guardStorage(() =>
    db.batch([
      db
        .update(sessions)
        .set({ revokedAt: now, revokedReason: reason })
        .where(and(scope, isNull(sessions.revokedAt)))
        .returning({ id: sessions.id }),
      insertAuthEvent(db, event, now),
      db
        .select(liveAccessTokenColumns)
        .from(refreshTokens)
        .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
        .where(and(scope, stillAcceptable(now))),
      ...alongWith,
    ]),
  );
  logSecurityEvent(event, now);
  return {
    revoked: revoked.length,
    liveAccessTokens: live.map(toLiveAccessToken),
  };
}

export async function liveAccessTokensOf(db: Database, sessionId: string, now: number): Promise<LiveAccessToken[]> {
  const rows = await guardStorage(() =>
    db.select(liveAccessTokenColumns).from(refreshTokens).where(and(eq(refreshTokens.sessionId, sessionId), stillAcceptable(now))).all(),
  );
  return rows.map(toLiveAccessToken);
}

export function findSessionOwner(db: Database, sessionId: string): Promise<Pick<Session, "id" | "userId"> | undefined> {
  return guardStorage(() =>
    db.select({ id: sessions.id, userId: sessions.userId }).from(sessions).where(eq(sessions.id, sessionId)).get(),
  );
}

/** Live families of a user, most recently used first. */
export function listLiveSessions(db: Database, userId: string, now: number, idleCutoff: number) {
  const lastUsedAt = lastUsedAtOf(sessions.id);
  return guardStorage(() =>
    db
      .select({
        id: sessions.id,
        createdAt: sessions.createdAt,
        lastUsedAt,
        expiresAt: sessions.expiresAt,
        userAgent: sessions.userAgent,
      })
      .from(sessions)
      .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now), gt(lastUsedAt, idleCutoff)))
      .orderBy(sql`${lastUsedAt} desc`)
      .all(),
  );
}
