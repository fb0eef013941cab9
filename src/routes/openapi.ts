/**
 * GET /openapi.json: the API description (OpenAPI 3.1). It is generated at build time
 * (npm run openapi:generate, CONTRIBUTING.md) into src/routes/openapi.generated.ts and bundled:
 * about 6.6 KB of the gzipped worker. A static asset would keep it out of the script, but a worker
 * with `[assets]` has every request pass through the assets router first (measured locally: twice
 * the CPU of a JWKS answer), which every hot path would pay for a document tools fetch now and then.
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../app-env";
import { OPENAPI_DOCUMENT } from "./openapi.generated";

export const OPENAPI_PATH = "/openapi.json";
/** Tools read it from anywhere; it changes only with a deploy. */
export const OPENAPI_CACHE_CONTROL = "public, max-age=300";

export const openApiRoutes = new Hono<AppEnv>();

/** The served text for the last issuer seen: the committed document says "/", served it names the service's public URL. */
let served: { issuer: string; body: string } | undefined;

function documentFor(issuer: string): string {
  if (served?.issuer !== issuer) served = { issuer, body: JSON.stringify({ ...JSON.parse(OPENAPI_DOCUMENT), servers: [{ url: issuer }] }) };
  return served.body;
}

openApiRoutes.use(OPENAPI_PATH, cors({ origin: "*", allowMethods: ["GET", "HEAD", "OPTIONS"] }));

openApiRoutes.get(OPENAPI_PATH, (c) => {
  c.header("Cache-Control", OPENAPI_CACHE_CONTROL);
  c.header("Content-Type", "application/json");
  return c.body(documentFor(c.get("services").config.issuer));
});
