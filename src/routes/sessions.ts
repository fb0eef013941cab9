/** GET /auth/sessions and DELETE /auth/sessions/:id: the caller's devices. */
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../app-env";
import { requireAccessToken, requireLiveSession } from "../middleware/bearer";
import { clientInfo, pathParams } from "./context";

export const SessionIdParams = z.object({ id: z.uuid() });

export const sessionRoutes = new Hono<AppEnv>();

sessionRoutes.use(requireAccessToken, requireLiveSession);

sessionRoutes.get("/", async (c) => {
  const { sub, sid } = c.get("claims");
  const sessions = await c.get("services").sessions.list(sub, sid);
  return c.json({
    sessions: sessions.map((s) => ({
      id: s.id,
      client_id: s.clientId,
      created_at: new Date(s.createdAt).toISOString(),
      last_used_at: new Date(s.lastUsedAt).toISOString(),
      expires_at: new Date(s.expiresAt).toISOString(),
      user_agent: s.userAgent,
      current: s.current,
    })),
  });
});

sessionRoutes.delete("/:id", pathParams(SessionIdParams), async (c) => {
  // Idempotent: a retry after a partial failure completes the revocation and still answers 204.
  await c.get("services").sessions.revokeOwn(c.get("claims").sub, c.req.valid("param").id, clientInfo(c));
  return c.body(null, 204);
});
