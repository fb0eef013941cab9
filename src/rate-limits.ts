/**
 * Counting against the Workers Rate Limiting bindings (wrangler.toml `[[ratelimits]]`), without Hono:
 * the per-IP middleware, the failed-login lockout and the refresh-family limiter all count here.
 */
import type { Env } from "./env";

/** The limiters looked up by name; the family limiter is passed as a binding (see sessions/service). */
export type LimiterName =
  | "AUTH_RATE_LIMITER"
  | "LOGIN_RATE_LIMITER"
  | "FAILED_LOGIN_RATE_LIMITER"
  | "REGISTER_RATE_LIMITER"
  | "REFRESH_RATE_LIMITER";

/**
 * Counts one request against a limiter and reports whether it is within the limit. The limiter is
 * a best-effort shield: a missing binding or a limiter error lets the request through, so an
 * outage of the limiter never locks every user out.
 */
export function withinLimit(env: Env, name: LimiterName, key: string): Promise<boolean> {
  const limiter = env[name];
  return limiter ? limiterAllows(limiter, `${name}:${key}`) : Promise.resolve(true);
}

/** One count against a limiter binding; an erroring limiter lets the request through. */
export async function limiterAllows(limiter: RateLimit, key: string): Promise<boolean> {
  try {
    return (await limiter.limit({ key })).success;
  } catch {
    return true;
  }
}
