/** POST /auth/password: change the password with the current one. */
import { Hono } from "hono";
import * as z from "zod/mini";
import { boundedString } from "./context";
import { isLoginLocked, lockoutKey, recordLoginFailure } from "../accounts/login-lockout";
import { changePassword } from "../accounts/service";
import { findUserById } from "../db/users";
import type { AppEnv } from "../env";
import { AuthError, invalidToken, rateLimited } from "../errors";
import { requireAccessToken } from "../middleware/bearer";
import { clientIp } from "../middleware/rate-limit";
import { verifyPassword } from "../passwords";
import { clientInfo, jsonBody, noStore, sessionDeps } from "./context";

const ChangePasswordBody = z.object({
  current_password: boundedString(1, 256),
  new_password: boundedString(8, 256),
});

export const accountRoutes = new Hono<AppEnv>();

accountRoutes.post("/password", requireAccessToken, jsonBody(ChangePasswordBody), async (c) => {
  const { current_password, new_password } = c.req.valid("json");
  const deps = await sessionDeps(c);
  const { sub, sid } = c.var.claims;
  const user = await findUserById(deps.db, sub);
  if (!user || user.disabledAt !== null) throw invalidToken("The account no longer exists or is disabled.");
  const lock = await lockoutKey(user.email, clientIp(c));
  if (await isLoginLocked(c.env, lock)) throw rateLimited();
  if (!(await verifyPassword(current_password, user.passwordHash)).valid) {
    if (await recordLoginFailure(c.env, lock)) throw rateLimited();
    throw new AuthError(401, "invalid_credentials", "The current password is incorrect.");
  }
  await changePassword(deps, user, sid, new_password, clientInfo(c));
  noStore(c);
  return c.body(null, 204);
});
