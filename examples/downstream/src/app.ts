/**
 * A downstream API that trusts the edge token service's access tokens through
 * @edge-token-service/verifier: each token is verified offline against the service's JWKS, routes
 * ask for permissions of its `scope`, and the one route that must see a logout or a revoked role at
 * once asks the service (RFC 7662 introspection). Built by `createApp` so that tests can hand it a
 * `fetch` that reaches the service in-process; src/index.ts builds it from the worker's vars.
 */
import { createVerifier, type FetchLike } from "@edge-token-service/verifier";
import { requireAuth, requireScope, type AuthEnv } from "@edge-token-service/verifier/hono";
import { Hono } from "hono";
import { cors } from "hono/cors";

export interface DownstreamSettings {
  /** The token service's ISSUER and AUDIENCE. */
  issuer: string;
  audience: string;
  /** Default: `${issuer}/.well-known/jwks.json`. */
  jwksUri?: string;
  /** The browser app allowed to call this API (CORS). */
  allowedOrigin: string;
  /** This API's resource-server credentials at the introspection endpoint (the service's RESOURCE_SERVERS). */
  introspection?: { clientId: string; clientSecret: string };
  /** Replaces the global fetch for the JWKS and introspection requests (tests, service bindings). */
  fetch?: FetchLike;
}

/** The realm of this API's `WWW-Authenticate` challenges. */
const REALM = "downstream-example";

export function createApp(settings: DownstreamSettings): Hono<AuthEnv> {
  const verifier = createVerifier({
    issuer: settings.issuer,
    audience: settings.audience,
    jwksUri: settings.jwksUri,
    // A token must name its session, or its API key (the service's tokens always do).
    requiredClaims: ["sid"],
    // Refetch on an unknown kid at most every 5 s (default 30 s), so that a key rotation is seen
    // quickly; it still caps the refetches made-up kids can cause.
    cooldownMs: 5_000,
    introspection: settings.introspection,
    fetch: settings.fetch,
  });
  const auth = requireAuth(verifier, { realm: REALM });
  const app = new Hono<AuthEnv>();

  app.use("*", cors({ origin: settings.allowedOrigin, allowHeaders: ["Authorization"], maxAge: 600 }));
  app.get("/health", (c) => c.json({ status: "ok" }));

  // Any valid token: who is calling, and what the token grants.
  app.get("/api/me", auth, (c) => {
    const { sub, roles, scopes, payload } = c.var.auth;
    return c.json({ sub, roles, scopes, claims: payload });
  });

  // One permission: 403 insufficient_scope (WWW-Authenticate names it) without "profile:read".
  app.get("/api/profile", auth, requireScope("profile:read"), (c) => c.json({ profile: { id: c.var.auth.sub, roles: c.var.auth.roles } }));

  // An administrator's permission. Offline: a token issued before its role was revoked still passes
  // here until it expires; routes where that matters introspect (below).
  app.get("/api/admin/report", auth, requireScope("users:manage"), (c) => c.json({ report: { generated_for: c.var.auth.sub } }));

  // Introspected on every request: a logout, a revoked session or a revoked role counts at once.
  if (settings.introspection) {
    app.get("/api/account", requireAuth(verifier, { realm: REALM, introspect: true }), requireScope("profile:read"), (c) =>
      c.json({ account: { id: c.var.auth.sub, roles: c.var.auth.roles }, checked_with: "introspection" }),
    );
  } else {
    app.get("/api/account", (c) =>
      c.json({ error: "temporarily_unavailable", error_description: "Introspection is not configured: set INTROSPECTION_CLIENT_ID and INTROSPECTION_CLIENT_SECRET." }, 503),
    );
  }

  return app;
}
