/**
 * Access-token revocation in Workers KV (binding `REVOCATIONS`). Storage schema:
 *
 * | key                     | value                          | TTL                                     |
 * | ----------------------- | ------------------------------ | --------------------------------------- |
 * | `revoked-jti:<jti>`     | `"1"`                          | remaining life + 60 s leeway, >= 60 s   |
 * | `user-cutoff:<userId>`  | Unix seconds; older `iat` fail | access-token TTL + leeway, >= 60 s      |
 *
 * Tokens themselves are never stored. KV refuses TTLs under 60 s, so every TTL is clamped up.
 */
import { guardStorage } from "../storage";
import { CLOCK_TOLERANCE_SECONDS } from "../tokens";

export const KV_MIN_TTL_SECONDS = 60;
const JTI_PREFIX = "revoked-jti:";
const CUTOFF_PREFIX = "user-cutoff:";

export interface RevocableToken {
  jti: string;
  /** Unix seconds. */
  exp: number;
}

/** A token is accepted until `exp` plus the verifier's leeway: its deny-list entry must outlive that. */
const acceptedUntil = (t: RevocableToken) => t.exp + CLOCK_TOLERANCE_SECONDS;

/** Deny-lists access tokens for as long as they could be accepted; tokens past that are skipped. */
export async function revokeAccessTokens(kv: KVNamespace, tokens: RevocableToken[], nowMs = Date.now()): Promise<void> {
  const nowSeconds = nowMs / 1000;
  const ttlUntil = (t: RevocableToken) => Math.max(KV_MIN_TTL_SECONDS, Math.ceil(acceptedUntil(t) - nowSeconds));
  const live = tokens.filter((t) => acceptedUntil(t) > nowSeconds);
  await guardStorage(() =>
    Promise.all(live.map((t) => kv.put(JTI_PREFIX + t.jti, "1", { expirationTtl: ttlUntil(t) }))),
  );
}

/**
 * Refuses every access token of the user issued before `cutoffSeconds`. The entry only has to
 * outlive the longest access token, plus the verifier's clock leeway.
 */
export async function setUserCutoff(
  kv: KVNamespace,
  userId: string,
  cutoffSeconds: number,
  accessTokenTtlSeconds: number,
): Promise<void> {
  const ttl = Math.max(KV_MIN_TTL_SECONDS, accessTokenTtlSeconds + 120);
  await guardStorage(() => kv.put(CUTOFF_PREFIX + userId, String(cutoffSeconds), { expirationTtl: ttl }));
}

/** One KV round trip: is this jti deny-listed, or was the token issued before the user's cutoff? */
export async function isAccessTokenRevoked(kv: KVNamespace, token: { jti: string; sub: string; iat: number }): Promise<boolean> {
  const jtiKey = JTI_PREFIX + token.jti;
  const cutoffKey = CUTOFF_PREFIX + token.sub;
  const values = await guardStorage(() => kv.get([jtiKey, cutoffKey], "text"));
  if (values.get(jtiKey) != null) return true;
  const cutoff = values.get(cutoffKey);
  return cutoff != null && token.iat < Number(cutoff);
}
