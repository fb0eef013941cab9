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
