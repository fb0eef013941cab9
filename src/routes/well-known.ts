/** Public discovery: the JWKS and the OpenID-style metadata document. */
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../app-env";

/** Verifiers refetch on an unknown kid anyway; caches may serve a stale copy while revalidating. */
export const JWKS_CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=3600";

export const wellKnownRoutes = new Hono<AppEnv>();

wellKnownRoutes.use(cors({ origin: "*", allowMethods: ["GET", "HEAD", "OPTIONS"] }));

wellKnownRoutes.get("/jwks.json", async (c) => {
  const keys = await c.var.services.keys();
  c.header("Cache-Control", JWKS_CACHE_CONTROL);
  c.header("ETag", keys.jwksEtag);
  const ifNoneMatch = c.req.header("If-None-Match");
  if (ifNoneMatch && ifNoneMatch.split(",").some((tag) => tag.trim().replace(/^W\//, "") === keys.jwksEtag)) {
    return c.body(null, 304);
  }
  c.header("Content-Type", "application/json");
  return c.body(keys.jwksJson);
});

wellKnownRoutes.get("/openid-configuration", (c) => {
  const { issuer } = c.var.services.config;
  c.header("Cache-Control", JWKS_CACHE_CONTROL);
  // Only what is true of this service: it is not an OAuth authorization server, so no
  // token/registration/revocation endpoints that generic OAuth clients would misuse.
  return c.json({
    issuer,
    jwks_uri: `${issuer}/.well-known/jwks.json`,
    userinfo_endpoint: `${issuer}/auth/me`,
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: ["RS256"],
    token_endpoint_auth_signing_alg_values_supported: ["RS256"],
    access_token_signing_alg_values_supported: ["RS256"],
    claims_supported: ["iss", "aud", "sub", "iat", "exp", "jti", "client_id", "sid", "role"],
  });
});
