import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import { DomainError } from "../../domain-errors";
import type { AppEnv } from "../../app-env";
import { hasRefreshCookie } from "../refresh-cookie";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The serialised origin (scheme, host, port) of an absolute URL. */
export const originOf = (url: string) => new URL(url).origin;

/**
 * True only for an exact allowed origin: one of the configured ones, or the worker's own (the
 * serialised origin of the request URL). Prefixes (`http:`, `https://auth.example.com/auth`) and
 * look-alikes never match.
 */
export function isAllowedOrigin(origin: string | undefined, requestUrl: string, allowed: ReadonlySet<string>): boolean {
  if (!origin) return false;
  return allowed.has(origin) || origin === originOf(requestUrl);
}

/**
 * CORS for the API: credentialed, and only for allowed origins. A request without `Origin` (same-origin
 * GET, or not from a browser) has nothing for CORS to answer, so it skips the middleware, which would
 * otherwise set headers before the handler runs and make Hono rebuild the response; it still gets
 * `Vary: Origin`, since the answer to a cross-origin request differs.
 */
export function corsForAllowedOrigins(): MiddlewareHandler<AppEnv> {
  const credentialedCors = cors({
    origin: (origin, c) => (isAllowedOrigin(origin, c.req.url, c.get("services").config.allowedOrigins) ? origin : null),
    credentials: true,
    allowMethods: ["GET", "POST", "DELETE", "OPTIONS"],
    allowHeaders: ["Content-Type", "Authorization"],
    // What a browser client needs to read of an error: the Bearer challenge and when to retry.
    exposeHeaders: ["WWW-Authenticate", "Retry-After"],
    maxAge: 600,
  });
  return async (c, next) => {
    if (c.req.header("Origin") !== undefined) return credentialedCors(c, next);
    await next();
    c.res.headers.append("Vary", "Origin");
  };
}

/**
 * CSRF guard for requests that carry the refresh cookie: any unsafe one must come from an allowed
 * `Origin` and, on the routes that read the cookie, be `Content-Type: application/json` (which a
 * cross-site form cannot send without a preflight). Otherwise 403 `invalid_origin`, before any
 * state change. The OAuth and admin endpoints never read the cookie (OAuth's take forms): they only
 * check the Origin.
 */
export const requireAllowedOriginForCookie = (options: { requireJson: boolean } = { requireJson: true }) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (!SAFE_METHODS.has(c.req.method) && hasRefreshCookie(c)) {
      const { allowedOrigins } = c.get("services").config;
      const origin = c.req.header("Origin");
      if (!isAllowedOrigin(origin, c.req.url, allowedOrigins)) {
        const seen = origin === undefined ? "no Origin header" : `Origin ${JSON.stringify(origin.slice(0, 100))}`;
        throw new DomainError("invalid_origin", `Requests that carry the session cookie must come from an allowed Origin (ALLOWED_ORIGINS, OAUTH_CLIENTS or the service's own); this one has ${seen}.`);
      }
      const contentType = c.req.header("Content-Type") ?? "";
      if (options.requireJson && !/^application\/json\s*(;|$)/i.test(contentType)) {
        throw new DomainError("invalid_origin", "Requests that carry the session cookie must be Content-Type: application/json.");
      }
    }
    await next();
  });
