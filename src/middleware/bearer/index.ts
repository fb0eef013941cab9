import { createMiddleware } from "hono/factory";
import { DomainError } from "../../domain-errors";
import type { AppEnv } from "../../app-env";

/** Compact JWS of a reasonable size; anything longer is refused before parsing. */
const MAX_TOKEN_LENGTH = 4096;
/** The scheme name is case-insensitive (RFC 9110 section 11.1). */
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i;

/** The Bearer token of an Authorization header; undefined when there is none, `invalid_token` when malformed. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = BEARER.exec(authorization);
  if (!match || match[1]!.length > MAX_TOKEN_LENGTH) throw new DomainError("invalid_token", "The Authorization header is not a valid Bearer token.");
  return match[1];
}

/**
 * Requires a valid, unrevoked access token and puts its claims on the context (`c.get("claims")`). The revocation
 * check (KV: token, family, user cutoff) is fail-closed: a KV error is a 503.
 */
export const requireAccessToken = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("Authorization"));
  if (!token) throw new DomainError("token_required", "A Bearer access token is required.");
  c.set("claims", await c.get("services").tokens.authenticate(token));
  await next();
});

/**
 * For endpoints that change security state (password, logout-all, sessions, API keys, admin by
 * access token): after `requireAccessToken`, the caller's session must also be live in D1 right now,
 * so a session revoked elsewhere cannot act during KV's propagation delay. An API key's token has no
 * session and is refused. Puts the session, with its user's roles now, on the context (`c.get("session")`).
 */
export const requireLiveSession = createMiddleware<AppEnv>(async (c, next) => {
  c.set("session", await c.get("services").sessions.requireLive(c.get("claims")));
  await next();
});
