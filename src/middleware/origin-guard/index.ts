import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import { getConfig } from "../../config";
import type { AppEnv } from "../../env";
import { AuthError } from "../../errors";
import { hasRefreshCookie } from "../refresh-cookie";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** True for the configured origins and the worker's own origin. */
export function isAllowedOrigin(origin: string | undefined, requestUrl: string, allowed: ReadonlySet<string>): origin is string {
  if (!origin) return false;
  // Same as origin === new URL(requestUrl).origin, without parsing the URL on every request.
  return allowed.has(origin) || (requestUrl.startsWith(origin) && requestUrl[origin.length] === "/");
}

/**
 * CORS for the API: credentialed, and only for allowed origins. A request without `Origin` (same-origin
 * GET, or not from a browser) has nothing for CORS to answer, so it skips the middleware, which would
 * otherwise set headers before the handler runs and make Hono rebuild the response; it still gets
 * `Vary: Origin`, since the answer to a cross-origin request differs.
 */
export function corsForAllowedOrigins(): MiddlewareHandler<AppEnv> {
  const credentialedCors = cors({
    origin: (origin, c) => (isAllowedOrigin(origin, c.req.url, getConfig(c.env).allowedOrigins) ? origin : null),
    credentials: true,
    allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
    allowHeaders: ["Content-Type", "Authorization"],
    maxAge: 600,
  });
  return async (c, next) => {
    if (c.req.header("Origin") !== undefined) return credentialedCors(c, next);
    await next();
    c.header("Vary", "Origin", { append: true });
  };
}

/**
 * CSRF guard for cookie-authenticated requests: any unsafe request that carries the refresh cookie
 * must come from an allowed `Origin` and be `Content-Type: application/json` (which a cross-site
 * form cannot send without a preflight). Otherwise 403 `invalid_origin`, before any state change.
 */
export const requireAllowedOriginForCookie = createMiddleware<AppEnv>(async (c, next) => {
  if (!SAFE_METHODS.has(c.req.method) && hasRefreshCookie(c)) {
    const { allowedOrigins } = getConfig(c.env);
    if (!isAllowedOrigin(c.req.header("Origin"), c.req.url, allowedOrigins)) {
      throw new AuthError(403, "invalid_origin", "Requests that carry the session cookie must come from an allowed Origin.");
    }
    const contentType = c.req.header("Content-Type") ?? "";
    if (!/^application\/json\s*(;|$)/i.test(contentType)) {
      throw new AuthError(403, "invalid_origin", "Requests that carry the session cookie must be Content-Type: application/json.");
    }
  }
  await next();
});
