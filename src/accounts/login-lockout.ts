/**
 * Failed-login lockout per email + IP. The Rate Limiting binding counts only failures (so successful
 * logins never lock anyone out); once it reports the limit exceeded, a short lock in KV makes the
 * following attempts answer 429 before any password is hashed.
 *
 * KV: `login-lock:<sha256(email|ip)>` = "1", TTL 60 s (KV's minimum).
 */
import type { Env } from "../env";
import { withinLimit } from "../rate-limits";
import { guardStorage } from "../storage";
import { KV_MIN_TTL_SECONDS } from "../revocation";

const LOCK_PREFIX = "login-lock:";

export async function lockoutKey(email: string, ip: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`${email.trim().toLowerCase()}|${ip}`));
  return [...new Uint8Array(digest).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function isLoginLocked(env: Env, key: string): Promise<boolean> {
  return (await guardStorage(() => env.REVOCATIONS.get(LOCK_PREFIX + key))) !== null;
}

/** Counts a failure; returns true when this failure crossed the limit and the lock was set. */
export async function recordLoginFailure(env: Env, key: string): Promise<boolean> {
  if (await withinLimit(env, "FAILED_LOGIN_RATE_LIMITER", key)) return false;
  await guardStorage(() => env.REVOCATIONS.put(LOCK_PREFIX + key, "1", { expirationTtl: KV_MIN_TTL_SECONDS }));
  return true;
}
