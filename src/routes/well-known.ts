/** Public discovery: the JWKS and the two metadata documents (RFC 8414 and OIDC Discovery). */
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../app-env";

/** Verifiers refetch on an unknown kid anyway; caches may serve a stale copy while revalidating. */
export const JWKS_CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=3600";

export const wellKnownRoutes = new Hono<AppEnv>();

wellKnownRoutes.use(cors({ origin: "*", allowMethods: ["GET", "HEAD", "OPTIONS"] }));

wellKnownRoutes.get("/jwks.json", async (c) => {
  const keys = await c.get("services").keys();
  c.header("Cache-Control", JWKS_CACHE_CONTROL);
  c.header("ETag", keys.jwksEtag);
  const ifNoneMatch = c.req.header("If-None-Match");
  if (ifNoneMatch && ifNoneMatch.split(",").some((tag) => tag.trim().replace(/^W\//, "") === keys.jwksEtag)) {
    return c.body(null, 304);
  }
  c.header("Content-Type", "application/json");
  return c.body(keys.jwksJson);
});

/**
 * Authorization-server metadata: exactly the endpoints that exist. There is no authorization
 * endpoint (sign-in is the service's own API, not a redirect flow), so no response type either.
 */
function metadata(issuer: string) {
  return {
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    token_endpoint: `${issuer}/oauth/token`,
    // "none" for the refresh grant of public clients; Basic or form for an API key (client_credentials).
    token_endpoint_auth_methods_supported: ["none", "client_secret_basic", "client_secret_post"],
    grant_types_supported: ["refresh_token", "client_credentials"],
    response_types_supported: [],
    revocation_endpoint: `${issuer}/oauth/revoke`,
    // "none" for public clients; Basic or form for an API key revoking its own access tokens.
    revocation_endpoint_auth_methods_supported: ["none", "client_secret_basic", "client_secret_post"],
    introspection_endpoint: `${issuer}/oauth/introspect`,
    introspection_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
    userinfo_endpoint: `${issuer}/oauth/userinfo`,
    // `role` is deprecated (one release): `roles` and `scope` replace it.
    claims_supported: ["iss", "aud", "sub", "iat", "exp", "jti", "client_id", "sid", "roles", "scope", "role", "email", "email_verified"],
  };
}

// RFC 8414.
wellKnownRoutes.get("/oauth-authorization-server", (c) => {
  c.header("Cache-Control", JWKS_CACHE_CONTROL);
  return c.json(metadata(c.get("services").config.issuer));
});

// OIDC Discovery 1.0 requires these three members; this service signs only access tokens, with RS256.
wellKnownRoutes.get("/openid-configuration", (c) => {
  c.header("Cache-Control", JWKS_CACHE_CONTROL);
  return c.json({
    ...metadata(c.get("services").config.issuer),
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
  });
});
