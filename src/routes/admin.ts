/**
 * Operator endpoints, enabled only when the ADMIN_API_TOKEN secret is set:
 * POST /admin/users/:id/disable and POST /admin/users/:id/enable (Bearer ADMIN_API_TOKEN).
 */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import * as z from "zod/mini";
import { zValidator } from "@hono/zod-validator";
import { disableUser, enableUser } from "../accounts/service";
import { findUserById } from "../db/users";
import type { AppEnv } from "../env";
import { AuthError, invalidRequest, invalidToken } from "../errors";
import { bearerToken } from "../middleware/bearer";
import { guardStorage } from "../storage";
import { sessionDeps } from "./context";

const digest = async (text: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));

const requireAdminToken = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.env.ADMIN_API_TOKEN;
  if (!expected) throw new AuthError(404, "invalid_request", "No such endpoint.");
  const presented = bearerToken(c.req.header("Authorization")) ?? "";
  if (!crypto.subtle.timingSafeEqual(await digest(presented), await digest(expected))) throw invalidToken("Invalid admin token.");
  await next();
});

const UserIdParam = zValidator("param", z.object({ id: z.uuid() }), (result) => {
  if (!result.success) throw invalidRequest("id: not a user id");
});

export const adminRoutes = new Hono<AppEnv>();
adminRoutes.use(requireAdminToken);

adminRoutes.post("/users/:id/disable", UserIdParam, async (c) => {
  const deps = await sessionDeps(c);
  const { id } = c.req.valid("param");
  if (!(await findUserById(deps.db, id))) throw new AuthError(404, "invalid_request", "No such user.");
  await disableUser(deps, id);
  return c.body(null, 204);
});

adminRoutes.post("/users/:id/enable", UserIdParam, async (c) => {
  const deps = await sessionDeps(c);
  const { id } = c.req.valid("param");
  if (!(await findUserById(deps.db, id))) throw new AuthError(404, "invalid_request", "No such user.");
  await guardStorage(() => enableUser(deps.db, id));
  return c.body(null, 204);
});
