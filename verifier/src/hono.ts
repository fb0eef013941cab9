/**
 * Hono middleware over the framework-neutral core: `requireAuth` verifies the Bearer token and sets
 * `c.var.auth`; `requireScope` and `requireRole` answer 403 `insufficient_scope` after it.
 */
import type { Context, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import type { VerifiedClaims } from "./claims.js";
import { assertAnyRole, assertScopes, authErrorAnswer, checkRealm, checkScopeNames, readBearerToken } from "./http.js";
import type { Verifier } from "./verifier.js";

/** The Hono env these middleware provide: `c.var.auth` holds the verified claims. */
export type AuthEnv = { Variables: { auth: VerifiedClaims } };

export interface RequireAuthOptions {
  /**
   * Also ask the service's introspection endpoint (RFC 7662) on every request, so that a logout or
   * revocation is seen at once instead of when the token expires. Costs one request to the service.
   */
  introspect?: boolean;
  /** The `realm` of the `WWW-Authenticate` challenges (printable ASCII without `"` and `\`). */
  realm?: string;
}

/** requireAuth records its realm per request so that the permission guards after it use the same. */
const realmOfRequest = new WeakMap<Context, string | undefined>();

function answer(c: Context, error: unknown, realm: string | undefined): Response {
  const failure = authErrorAnswer(error, { realm });
  if (!failure) throw error;
  return c.json(failure.body, failure.status, failure.headers);
}

/**
 * Requires a valid access token: 401 `invalid_token` (missing, malformed, forged, expired, or
 * inactive when introspecting) or 503 when the JWKS or introspection endpoint cannot be reached.
 */
export function requireAuth(verifier: Verifier, options: RequireAuthOptions = {}): MiddlewareHandler<AuthEnv> {
  checkRealm(options.realm);
  if (options.introspect && !verifier.canIntrospect) {
    throw new TypeError("requireAuth({ introspect: true }) needs a verifier created with the introspection option");
  }
  return createMiddleware<AuthEnv>(async (c, next) => {
    realmOfRequest.set(c, options.realm);
    let claims: VerifiedClaims;
    try {
      const token = readBearerToken(c.req.header("Authorization"));
      claims = options.introspect ? await verifier.introspect(token) : await verifier.verify(token);
    } catch (err) {
      return answer(c, err, options.realm);
    }
    c.set("auth", claims);
    await next();
  });
}

function permissionGuard(name: string, check: (claims: VerifiedClaims) => void): MiddlewareHandler<AuthEnv> {
  return createMiddleware<AuthEnv>(async (c, next) => {
    // A route without requireAuth in front of this guard is a wiring mistake: fail closed (500).
    if (!realmOfRequest.has(c)) throw new Error(`${name}() must come after requireAuth()`);
    try {
      check(c.var.auth);
    } catch (err) {
      return answer(c, err, realmOfRequest.get(c));
    }
    await next();
  });
}

/** After {@link requireAuth}: requires every one of `scopes` in the token's `scope`, else 403. */
export function requireScope(...scopes: string[]): MiddlewareHandler<AuthEnv> {
  checkScopeNames(scopes);
  return permissionGuard("requireScope", (claims) => assertScopes(claims, scopes));
}

/** After {@link requireAuth}: requires at least one of `roles` in the token's `roles`, else 403. */
export function requireRole(...roles: string[]): MiddlewareHandler<AuthEnv> {
  if (roles.length === 0 || roles.some((role) => role === "")) throw new TypeError("name at least one non-empty role");
  return permissionGuard("requireRole", (claims) => assertAnyRole(claims, roles));
}
