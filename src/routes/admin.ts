/**
 * Operator endpoints, enabled only when the ADMIN_API_TOKEN secret is set:
 * POST /admin/users/:id/disable and POST /admin/users/:id/enable (Bearer ADMIN_API_TOKEN).
 */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import * as z from "zod/mini";
import { DomainError, notFound } from "../domain-errors";
import type { AppEnv } from "../app-env";
import { bearerToken } from "../middleware/bearer";
import { clientInfo, pathParams } from "./context";

const digest = async (text: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));

const requireAdminToken = createMiddleware<AppEnv>(async (c, next) => {
  const expected = c.env.ADMIN_API_TOKEN;
  if (!expected) throw notFound("No such endpoint.");
  const presented = bearerToken(c.req.header("Authorization")) ?? "";
  if (!crypto.subtle.timingSafeEqual(await digest(presented), await digest(expected))) throw new DomainError("invalid_token", "Invalid admin token.");
  await next();
});

const UserId = pathParams(z.object({ id: z.uuid() }));

export const adminRoutes = new Hono<AppEnv>();
adminRoutes.use(requireAdminToken);

adminRoutes.post("/users/:id/disable", UserId, async (c) => {
  await c.var.services.accounts.disable(c.req.valid("param").id, clientInfo(c));
  return c.body(null, 204);
});

adminRoutes.post("/users/:id/enable", UserId, async (c) => {
  await c.var.services.accounts.enable(c.req.valid("param").id, clientInfo(c));
  return c.body(null, 204);
});
