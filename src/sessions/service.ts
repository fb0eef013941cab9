/**
 * Refresh-token families: start, rotate (with the idempotent grace window and reuse detection),
 * revoke. Storage-agnostic of HTTP: routes turn results and {@link AuthError}s into responses.
 */
import type { Config } from "../config";
import type { Database } from "../db/client";
import { insertSessionStatements, findTokenState, liveAccessTokensOf, revokeSessions, rotateRefreshToken, type NewRefreshToken, type TokenState } from "../db/sessions";
import { invalidGrant, rateLimited } from "../errors";
import type { KeyMaterial } from "../keys";
import { limiterAllows } from "../rate-limits";
import { revokeAccessTokens } from "../revocation";
import { signAccessToken } from "../tokens";
import { generateRefreshToken, hashRefreshToken, isWellFormedRefreshToken, openChildToken, sealChildToken } from "./refresh-token";

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

export interface IssuedTokens {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  /** Epoch ms after which the refresh token is useless: the cookie's Max-Age never goes beyond. */
  refreshExpiresAt: number;
  sessionId: string;
}

export interface SessionDeps {
  db: Database;
  kv: KVNamespace;
  config: Config;
  keys: KeyMaterial;
  /** Optional Rate Limiting binding keyed by family id (see refreshSession). */
  familyLimiter?: RateLimit;
}

/** Creates everything a new family needs; the caller runs `statements` in its own batch. */
export async function prepareSession(deps: SessionDeps, user: { id: string; role: string }, client: ClientInfo, now = Date.now()) {
  const { config, db } = deps;
  const sessionId = crypto.randomUUID();
  const sessionExpiresAt = now + config.sessionAbsoluteTtlMs;
  const refreshToken = generateRefreshToken();
  const token = { ...(await newTokenRow(refreshToken, now, config)), expiresAt: Math.min(now + config.refreshTokenTtlMs, sessionExpiresAt) };
  const accessToken = await accessTokenFor(deps, { userId: user.id, sessionId, role: user.role, jti: token.accessJti }, now);
  const statements = insertSessionStatements(
    db,
    { id: sessionId, userId: user.id, expiresAt: sessionExpiresAt, userAgent: client.userAgent?.slice(0, 256) ?? null, ip: client.ip },
    token,
    now,
  );
  const issued: IssuedTokens = {
    accessToken,
    expiresIn: config.accessTokenTtlSeconds,
    refreshToken,
    refreshExpiresAt: token.expiresAt,
    sessionId,
  };
  return { statements, issued };
}

/** A refresh-token row and the id and expiry of the access token issued with it (at `now`). */
async function newTokenRow(token: string, now: number, config: Config): Promise<Omit<NewRefreshToken, "expiresAt">> {
  return {
    id: crypto.randomUUID(),
    tokenHash: await hashRefreshToken(token),
    accessJti: crypto.randomUUID(),
    accessExpiresAt: (Math.floor(now / 1000) + config.accessTokenTtlSeconds) * 1000,
  };
}

/**
 * Signs the access token issued with a refresh-token row at `issuedAtMs`. The same row and time give
 * the same token, which is how a grace-window retry gets the access token of the first answer.
 */
function accessTokenFor(
  { keys, config }: SessionDeps,
  claims: { userId: string; sessionId: string; role: string; jti: string },
  issuedAtMs: number,
): Promise<string> {
  return signAccessToken({ ...claims, issuedAt: Math.floor(issuedAtMs / 1000) }, keys, config);
}

/**
 * Exchanges a refresh token for its child and a new access token.
 * - unused and live: rotated atomically (exactly one child under any concurrency);
 * - the direct parent of an unused child issued less than the grace window ago: the SAME child again;
 * - any other reuse: the whole family is revoked and its access tokens deny-listed;
 * - unknown, malformed, expired, revoked: `invalid_grant`, nothing changes.
 */
export async function refreshSession(deps: SessionDeps, presented: unknown, client: ClientInfo, now = Date.now()): Promise<IssuedTokens> {
  if (!isWellFormedRefreshToken(presented)) throw invalidGrant();
  const { db, config } = deps;
  const presentedHash = await hashRefreshToken(presented);
  const childToken = generateRefreshToken();
  const child = await newTokenRow(childToken, now, config);
  const rotated = await rotateRefreshToken(db, {
    presentedHash,
    child,
    sealedChild: await sealChildToken(presented, childToken),
    now,
    idleCutoff: now - config.sessionIdleTimeoutMs,
    refreshTtlMs: config.refreshTokenTtlMs,
    event: client,
  });
  if (rotated) {
    const accessToken = await accessTokenFor(
      deps,
      { userId: rotated.userId, sessionId: rotated.sessionId, role: rotated.role, jti: child.accessJti },
      now,
    );
    return {
      accessToken,
      expiresIn: config.accessTokenTtlSeconds,
      refreshToken: childToken,
      refreshExpiresAt: rotated.expiresAt,
      sessionId: rotated.sessionId,
    };
  }
  const state = await findTokenState(db, presentedHash);
  if (!state) throw invalidGrant();
  // Retries, replays and refused tokens of one family are throttled; a normal rotation needs the
  // family's one current token and is never counted.
  if (deps.familyLimiter && !(await limiterAllows(deps.familyLimiter, state.session.id))) throw rateLimited();
  return answerUnconsumable(deps, presented, state, client, now);
}

async function answerUnconsumable(deps: SessionDeps, presented: string, state: TokenState, client: ClientInfo, now: number): Promise<IssuedTokens> {
  const { config } = deps;
  const { token, child, session, user } = state;
  const sessionLive =
    session.revokedAt === null &&
    user.disabledAt === null &&
    session.expiresAt > now &&
    session.lastUsedAt > now - config.sessionIdleTimeoutMs;
  if (session.revokedAt !== null && now - session.revokedAt < config.accessTokenTtlSeconds * 1000) {
    // A revocation whose KV deny-listing failed (503) would otherwise leave the family's access
    // tokens valid; presenting one of its refresh tokens again completes it. Best effort and
    // idempotent: the answer stays invalid_grant whatever KV does.
    await liveAccessTokensOf(deps.db, session.id, now)
      .then((live) => revokeAccessTokens(deps.kv, live, now))
      .catch(() => undefined);
  }
  // Expired, idle, revoked or disabled session, or an expired or never-used token: refuse, no change.
  if (!sessionLive || token.usedAt === null || token.expiresAt <= now) throw invalidGrant();

  // `now` was taken before the batch, so a loser of a concurrent race can see a child "from the
  // future" (negative age): still inside the window, unless the window is disabled.
  const withinGrace =
    config.refreshGraceMs > 0 &&
    child !== null &&
    child.usedAt === null &&
    child.expiresAt > now &&
    now - child.createdAt < config.refreshGraceMs;
  if (withinGrace && token.sealedChild) {
    const childToken = await openChildToken(presented, token.sealedChild);
    if (childToken) {
      const accessToken = await accessTokenFor(
        deps,
        { userId: session.userId, sessionId: session.id, role: user.role, jti: child.accessJti },
        child.createdAt,
      );
      return {
        accessToken,
        expiresIn: Math.max(0, Math.floor(child.createdAt / 1000) + config.accessTokenTtlSeconds - Math.floor(now / 1000)),
        refreshToken: childToken,
        refreshExpiresAt: child.expiresAt,
        sessionId: session.id,
      };
    }
  }

  await revokeFamily(deps, session.id, session.userId, "reuse_detected", {
    type: "reuse_detected",
    userId: session.userId,
    sessionId: session.id,
    ...client,
    detail: child?.usedAt != null ? "ancestor_replayed" : "parent_replayed_after_grace",
  }, now);
  throw invalidGrant("The refresh token was already used; the session has been revoked.");
}

/** Revokes one family and deny-lists its live access tokens. */
export async function revokeFamily(
  deps: SessionDeps,
  sessionId: string,
  userId: string | undefined,
  reason: string,
  event: Parameters<typeof revokeSessions>[3],
  now = Date.now(),
): Promise<void> {
  const { liveAccessTokens } = await revokeSessions(deps.db, { sessionId, userId }, reason, event, now);
  await revokeAccessTokens(deps.kv, liveAccessTokens, now);
}

/** Finds the family a refresh token belongs to, whatever its state (for logout). */
export async function sessionOfRefreshToken(db: Database, presented: unknown) {
  if (!isWellFormedRefreshToken(presented)) return undefined;
  return (await findTokenState(db, await hashRefreshToken(presented)))?.session;
}
