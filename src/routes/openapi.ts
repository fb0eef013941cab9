/**
 * GET /openapi.json: the API description (OpenAPI 3.1). It is generated at build time
 * (npm run openapi:generate, docs/readme/openapi.md) into public/openapi.json, a static asset that
 * only the worker reaches (wrangler.toml `[assets]`), so its ~70 KB are not part of the script's size.
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { AppEnv } from "../app-env";
import { DomainError } from "../domain-errors";

export const OPENAPI_PATH = "/openapi.json";
/** Tools read it from anywhere; it changes only with a deploy. */
export const OPENAPI_CACHE_CONTROL = "public, max-age=300";

export const openApiRoutes = new Hono<AppEnv>();

openApiRoutes.use(OPENAPI_PATH, cors({ origin: "*", allowMethods: ["GET", "HEAD", "OPTIONS"] }));

openApiRoutes.get(OPENAPI_PATH, async (c) => {
  const asset = await c.env.ASSETS.fetch(new URL(OPENAPI_PATH, c.req.url));
  // A deploy without public/ (wrangler.toml edited away from it) is a configuration error.
  if (!asset.ok) throw new DomainError("misconfigured", `The API description asset answered ${asset.status}: deploy with public/ as wrangler.toml's [assets].`);
  const document = await asset.json<Record<string, unknown>>();
  c.header("Cache-Control", OPENAPI_CACHE_CONTROL);
  // The committed document says "/"; served, it names the service's public URL, for tools that keep a copy.
  return c.json({ ...document, servers: [{ url: c.var.services.config.issuer }] });
});
