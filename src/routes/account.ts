/** POST /auth/password: change the password with the current one. */
import { Hono } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../app-env";
import { requireAccessToken, requireLiveSession } from "../middleware/bearer";
import { boundedString, clientInfo, jsonBody } from "./context";

export const ChangePasswordBody = z.object({
  current_password: boundedString(1, 256),
  new_password: boundedString(8, 256),
});

export const accountRoutes = new Hono<AppEnv>();

accountRoutes.post("/password", requireAccessToken, requireLiveSession, jsonBody(ChangePasswordBody), async (c) => {
  const { current_password, new_password } = c.req.valid("json");
  const { sub, sid } = c.get("claims");
  await c.get("services").accounts.changePassword({ userId: sub, familyId: sid, currentPassword: current_password, newPassword: new_password }, clientInfo(c));
  return c.body(null, 204);
});
