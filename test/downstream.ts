/**
 * The downstream example worker (examples/downstream/src/app.ts) wired to this service in-process:
 * its JWKS and introspection requests reach the service's real entry point.
 */
import { env, exports } from "cloudflare:workers";
import { createApp } from "../examples/downstream/src/app";

export const ISSUER = env.ISSUER ?? "http://localhost:8787";

export function createDownstream(): ReturnType<typeof createApp> {
  return createApp({
    issuer: ISSUER,
    audience: env.AUDIENCE ?? ISSUER,
    allowedOrigin: "http://localhost:5173",
    introspection: { clientId: "billing-api", clientSecret: env.TEST_RESOURCE_SERVER_SECRET },
    fetch: (url, init) => exports.default.fetch(new Request(url, init)),
  });
}
