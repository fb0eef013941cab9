import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv, Env } from "../../env";
import { AuthError } from "../../errors";

export type LimiterName =
  | "AUTH_RATE_LIMITER"
  | "LOGIN_RATE_LIMITER"
  | "FAILED_LOGIN_RATE_LIMITER"
  | "REGISTER_RATE_LIMITER"
  | "REFRESH_RATE_LIMITER";

/** The Rate Limiting binding counts in 60 s windows (see wrangler.toml); that is when to retry. */
export const RATE_LIMIT_RETRY_AFTER_SECONDS = 60;

export const rateLimited = () =>
  new AuthError(429, "rate_limited", "Too many requests. Retry later.", { "Retry-After": String(RATE_LIMIT_RETRY_AFTER_SECONDS) });

export const clientIp = (c: Context) => c.req.header("CF-Connecting-IP") ?? "unknown";

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

/** Middleware: 429 `rate_limited` with `Retry-After` once the client IP exceeds the named limiter. */
export const rateLimitByIp = (name: LimiterName) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (c.req.method !== "OPTIONS" && !(await withinLimit(c.env, name, clientIp(c)))) throw rateLimited();
    await next();
  });
