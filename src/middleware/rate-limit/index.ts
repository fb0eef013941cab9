import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../env";
import { rateLimited } from "../../errors";
import { withinLimit, type LimiterName } from "../../rate-limits";

/** The client's IP as Cloudflare's edge reports it. */
export const clientIp = (c: Context) => c.req.header("CF-Connecting-IP") ?? "unknown";

/** Middleware: 429 `rate_limited` with `Retry-After` once the client IP exceeds the named limiter. */
export const rateLimitByIp = (name: LimiterName) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (c.req.method !== "OPTIONS" && !(await withinLimit(c.env, name, clientIp(c)))) throw rateLimited();
    await next();
  });
