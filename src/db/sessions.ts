/**
 * D1 queries on `sessions` (refresh-token families) and `refresh_tokens`.
 * Every multi-statement change runs as one D1 batch, which D1 executes as a single transaction.
 */
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { alias } from "drizzle-orm/sqlite-core";
import { guardStorage } from "../errors";
import { CLOCK_TOLERANCE_SECONDS } from "../tokens";
import type { Database } from "./client";
import { insertAuthEvent, logSecurityEvent, type AuthEventInput } from "./events";
import { authEvents, refreshTokens, sessions, users, type Session } from "./schema";

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
    db.insert(sessions).values({ ...session, createdAt: now, lastUsedAt: now }),
    db.insert(refreshTokens).values({ ...token, sessionId: session.id, createdAt: now }),
  ] as const;
}

export interface RotationInput {
  presentedHash: string;
  child: NewRefreshToken;
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
 * its family is live (conditional UPDATE), then create the child, touch the family, record the event
 * and read back what the access token needs; every later statement only acts if the UPDATE won.
 * Returns undefined when the presented token could not be consumed.
 */
export async function rotateRefreshToken(db: Database, input: RotationInput): Promise<RotatedToken | undefined> {
  const { presentedHash, child, sealedChild, now, idleCutoff, refreshTtlMs, event } = input;
  const [, , , , created] = await guardStorage(() =>
    db.batch([
      db
        .update(refreshTokens)
        .set({ usedAt: now, childId: child.id, sealedChild })
        .where(
          and(
            eq(refreshTokens.tokenHash, presentedHash),
            isNull(refreshTokens.usedAt),
            gt(refreshTokens.expiresAt, now),
            sql`exists (select 1 from ${sessions} s join ${users} u on u.id = s.user_id
              where s.id = ${refreshTokens.sessionId} and s.revoked_at is null and s.expires_at > ${now}
              and s.last_used_at > ${idleCutoff} and u.disabled_at is null)`,
          ),
        ),
      db.insert(refreshTokens).select(
        db
          .select({
            id: sql<string>`${child.id}`.as("id"),
            sessionId: refreshTokens.sessionId,
            tokenHash: sql<string>`${child.tokenHash}`.as("token_hash"),
            createdAt: sql<number>`${now}`.as("created_at"),
            expiresAt: sql<number>`min(${now + refreshTtlMs}, ${sessions.expiresAt})`.as("expires_at"),
            usedAt: sql<null>`null`.as("used_at"),
            childId: sql<null>`null`.as("child_id"),
            sealedChild: sql<null>`null`.as("sealed_child"),
            accessJti: sql<string>`${child.accessJti}`.as("access_jti"),
            accessExpiresAt: sql<number>`${child.accessExpiresAt}`.as("access_expires_at"),
          })
          .from(refreshTokens)
          .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
          .where(and(eq(refreshTokens.tokenHash, presentedHash), eq(refreshTokens.childId, child.id))),
      ),
      db
        .update(sessions)
        .set({ lastUsedAt: now })
        .where(sql`${sessions.id} = (select ${refreshTokens.sessionId} from ${refreshTokens} where ${refreshTokens.id} = ${child.id})`),
      db.insert(authEvents).select(
        db
          .select({
            id: sql<null>`null`.as("id"),
            type: sql<"refresh">`'refresh'`.as("type"),
            userId: sessions.userId,
            sessionId: sessions.id,
            ip: sql<string | null>`${event.ip ?? null}`.as("ip"),
            userAgent: sql<string | null>`${event.userAgent?.slice(0, 256) ?? null}`.as("user_agent"),
            detail: sql<null>`null`.as("detail"),
            createdAt: sql<number>`${now}`.as("created_at"),
          })
          .from(refreshTokens)
          .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
          .where(eq(refreshTokens.id, child.id)),
      ),
      db
        .select({ sessionId: sessions.id, userId: sessions.userId, role: users.role, expiresAt: refreshTokens.expiresAt })
        .from(refreshTokens)
        .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
        .innerJoin(users, eq(users.id, sessions.userId))
        .where(eq(refreshTokens.id, child.id)),
    ]),
  );
  return created[0];
}

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
          lastUsedAt: sessions.lastUsedAt,
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
        .select({ jti: refreshTokens.accessJti, expiresAt: refreshTokens.accessExpiresAt })
        .from(refreshTokens)
        .innerJoin(sessions, eq(sessions.id, refreshTokens.sessionId))
        .where(and(scope, gt(refreshTokens.accessExpiresAt, now - ACCEPTANCE_LEEWAY_MS))),
      ...alongWith,
    ]),
  );
  logSecurityEvent(event, now);
  return {
    revoked: revoked.length,
    liveAccessTokens: live.map((t) => ({ jti: t.jti, exp: Math.ceil(t.expiresAt / 1000) })),
  };
}

export async function liveAccessTokensOf(db: Database, sessionId: string, now: number): Promise<LiveAccessToken[]> {
  const rows = await guardStorage(() =>
    db
      .select({ jti: refreshTokens.accessJti, expiresAt: refreshTokens.accessExpiresAt })
      .from(refreshTokens)
      .where(and(eq(refreshTokens.sessionId, sessionId), gt(refreshTokens.accessExpiresAt, now - ACCEPTANCE_LEEWAY_MS)))
      .all(),
  );
  return rows.map((t) => ({ jti: t.jti, exp: Math.ceil(t.expiresAt / 1000) }));
}

export function findSessionOwner(db: Database, sessionId: string): Promise<Pick<Session, "id" | "userId"> | undefined> {
  return guardStorage(() =>
    db.select({ id: sessions.id, userId: sessions.userId }).from(sessions).where(eq(sessions.id, sessionId)).get(),
  );
}

/** Live families of a user, most recently used first. */
export function listLiveSessions(db: Database, userId: string, now: number, idleCutoff: number) {
  return guardStorage(() =>
    db
      .select()
      .from(sessions)
      .where(
        and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now), gt(sessions.lastUsedAt, idleCutoff)),
      )
      .orderBy(sql`${sessions.lastUsedAt} desc`)
      .all(),
  );
}
