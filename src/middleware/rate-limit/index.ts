import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { networkOf } from "../../client-info";
import { rateLimited } from "../../domain-errors";
import type { AppEnv } from "../../app-env";
import type { NetworkLimiterName } from "../../services";

/** The client's IP as Cloudflare's edge reports it. */
export const clientIp = (c: Context) => c.req.header("CF-Connecting-IP") ?? null;

/** 429 `rate_limited` with `Retry-After` once the client's network (IPv4 address, IPv6 /64) exceeds the named limiter. */
export const rateLimitByNetwork = (name: NetworkLimiterName) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (c.req.method !== "OPTIONS" && !(await c.get("services").networkLimiters[name].allows(networkOf(clientIp(c))))) throw rateLimited();
    await next();
  });
