/**
 * The downstream example worker (src/app.ts), built once per isolate from its vars and secrets, so
 * that the verifier's JWKS cache outlives a request.
 */
import { env } from "cloudflare:workers";
import { createApp } from "./app";

interface Bindings {
  ISSUER: string;
  AUDIENCE: string;
  JWKS_URI?: string;
  ALLOWED_ORIGIN: string;
  /** This API's id at the service's introspection endpoint (an entry of its RESOURCE_SERVERS secret). */
  INTROSPECTION_CLIENT_ID?: string;
  /** A secret (`wrangler secret put`, locally examples/downstream/.dev.vars). */
  INTROSPECTION_CLIENT_SECRET?: string;
}

const vars = env as unknown as Bindings;

export default createApp({
  issuer: vars.ISSUER,
  audience: vars.AUDIENCE,
  jwksUri: vars.JWKS_URI,
  allowedOrigin: vars.ALLOWED_ORIGIN,
  introspection:
    vars.INTROSPECTION_CLIENT_ID && vars.INTROSPECTION_CLIENT_SECRET
      ? { clientId: vars.INTROSPECTION_CLIENT_ID, clientSecret: vars.INTROSPECTION_CLIENT_SECRET }
      : undefined,
});
