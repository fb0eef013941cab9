/**
 * A user's API keys (README.md, "API keys"): POST, GET and DELETE /auth/api-keys, and
 * DELETE /auth/api-keys/:id. Only a signed-in user's session may manage them: never a key's own token.
 */
import { Hono } from "hono";
import * as z from "zod/mini";
import type { ApiKeyView, CreatedApiKey } from "../api-keys/service";
import type { AppEnv } from "../app-env";
import { requireAccessToken, requireLiveSession } from "../middleware/bearer";
import { clientInfo, jsonBody, pathParams } from "./context";

/** Types and sizes only: the service checks the name, the scopes it may grant and the days (400 naming the field). */
export const NewKeyBody = z.object({
  name: z.string().check(z.maxLength(256)),
  scopes: z.optional(z.array(z.string().check(z.maxLength(64))).check(z.maxLength(64))),
  expires_in_days: z.optional(z.number()),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** A key as the API shows it (snake_case, ISO 8601 times); never its hash. */
export const keyView = (key: ApiKeyView) => ({
  id: key.id,
  name: key.name,
  prefix: key.prefix,
  scopes: key.scopes,
  created_at: iso(key.createdAt),
  last_used_at: iso(key.lastUsedAt),
  expires_at: iso(key.expiresAt),
});

/** The answer to a creation: the one response that holds the key. */
export const createdView = (created: CreatedApiKey) => {
  const { id, name, prefix, scopes, created_at, expires_at } = keyView(created);
  return { id, key: created.key, name, prefix, scopes, created_at, expires_at };
};

export const ApiKeyIdParams = z.object({ id: z.uuid() });

export const apiKeyRoutes = new Hono<AppEnv>();

apiKeyRoutes.use(requireAccessToken, requireLiveSession);

apiKeyRoutes.post("/", jsonBody(NewKeyBody), async (c) => {
  const { name, scopes, expires_in_days } = c.req.valid("json");
  const { sub, sid } = c.get("claims");
  const owner = { userId: sub, roles: c.get("session").subject.roles };
  const created = await c.get("services").apiKeys.create(owner, { name, scopes, expiresInDays: expires_in_days }, { sessionId: sid, ...clientInfo(c) });
  return c.json(createdView(created), 201);
});

apiKeyRoutes.get("/", async (c) => {
  const keys = await c.get("services").apiKeys.list({ userId: c.get("claims").sub });
  return c.json({ api_keys: keys.map(keyView) });
});

// Idempotent: a key already revoked answers 204 too; another user's key is 404.
apiKeyRoutes.delete("/:id", pathParams(ApiKeyIdParams), async (c) => {
  const { sub, sid } = c.get("claims");
  await c.get("services").apiKeys.revoke({ userId: sub }, c.req.valid("param").id, { sessionId: sid, ...clientInfo(c) });
  return c.body(null, 204);
});

// Every key of the caller at once (a leaked laptop, a departing teammate's CI).
apiKeyRoutes.delete("/", async (c) => {
  const { sub, sid } = c.get("claims");
  await c.get("services").apiKeys.revokeAll({ userId: sub }, { sessionId: sid, ...clientInfo(c) });
  return c.body(null, 204);
});
