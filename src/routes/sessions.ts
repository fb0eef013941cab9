/** GET /auth/sessions and DELETE /auth/sessions/:id: the caller's devices. */
import { Hono } from "hono";
import * as z from "zod/mini";
import { zValidator } from "@hono/zod-validator";
import { findSessionOwner, listLiveSessions } from "../db/sessions";
import type { AppEnv } from "../env";
import { AuthError, invalidRequest } from "../errors";
import { requireAccessToken } from "../middleware/bearer";
import { revokeFamily } from "../sessions/service";
import { clientInfo, noStore, sessionDeps } from "./context";

export const sessionRoutes = new Hono<AppEnv>();

sessionRoutes.use(requireAccessToken);

sessionRoutes.get("/", async (c) => {
  const { db, config } = await sessionDeps(c);
  const now = Date.now();
  const { sub, sid } = c.var.claims;
  const rows = await listLiveSessions(db, sub, now, now - config.sessionIdleTimeoutMs);
  noStore(c);
  return c.json({
    sessions: rows.map((s) => ({
      id: s.id,
      created_at: new Date(s.createdAt).toISOString(),
      last_used_at: new Date(s.lastUsedAt).toISOString(),
      expires_at: new Date(s.expiresAt).toISOString(),
      user_agent: s.userAgent,
      current: s.id === sid,
    })),
  });
});

const SessionIdParam = z.object({ id: z.uuid() });

sessionRoutes.delete(
  "/:id",
  zValidator("param", SessionIdParam, (result) => {
    if (!result.success) throw invalidRequest("id: not a session id");
  }),
  async (c) => {
    const deps = await sessionDeps(c);
    const { id } = c.req.valid("param");
    const { sub } = c.var.claims;
    const owner = await findSessionOwner(deps.db, id);
    if (owner?.userId !== sub) throw new AuthError(404, "invalid_request", "No session with this id.");
    // Idempotent: a retry after a partial failure completes the deny-listing and still answers 204.
    await revokeFamily(deps, id, sub, "session_revoked", { type: "session_revoked", userId: sub, sessionId: id, ...clientInfo(c) });
    return c.body(null, 204);
  },
);
