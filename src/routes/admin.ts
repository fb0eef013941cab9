/**
 * Operator endpoints:
 * - POST /admin/users/:id/disable and POST /admin/users/:id/enable (permission `users:manage`);
 * - GET /admin/users/:id/roles, PUT and DELETE /admin/users/:id/roles/:role (permission `roles:manage`);
 * - DELETE /admin/users/:id/api-keys: revoke every API key of a user (permission `users:manage`);
 * - service accounts' API keys (keys that belong to no person; permission `users:manage`):
 *   POST, GET and DELETE /admin/service-accounts/:name/api-keys, DELETE .../api-keys/:id.
 * Authorised by `Authorization: Bearer <ADMIN_API_TOKEN>` (when that secret is set), or by an access
 * token whose `scope` grants the permission, whose session is live in D1 and whose user's roles
 * still grant it (src/roles/service.ts). A valid access token without it: 403 `insufficient_scope`.
 */
import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import * as z from "zod/mini";
import type { AppEnv } from "../app-env";
import { ADMIN_API_TOKEN_ACTOR, type Actor } from "../client-info";
import { DomainError } from "../domain-errors";
import { bearerToken } from "../middleware/bearer";
import type { RoleGrant } from "../roles/service";
import { createdView, keyView, NewKeyBody } from "./api-keys";
import { clientInfo, jsonBody, pathParams } from "./context";

const digest = async (text: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));

/** Constant-time comparison with the ADMIN_API_TOKEN secret; false when it is not set. */
async function isAdminApiToken(presented: string, expected: string | undefined): Promise<boolean> {
  if (!expected) return false;
  return crypto.subtle.timingSafeEqual(await digest(presented), await digest(expected));
}

/** Lets the request through for the ADMIN_API_TOKEN or an access token granting `permission`, and names the actor. */
const requirePermission = (permission: string) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const token = bearerToken(c.req.header("Authorization"));
    if (!token) throw new DomainError("token_required", "A Bearer token is required: the admin API token or an access token.");
    if (await isAdminApiToken(token, c.env.ADMIN_API_TOKEN)) {
      c.set("actor", { id: ADMIN_API_TOKEN_ACTOR, ...clientInfo(c) });
    } else {
      const services = c.get("services");
      const claims = await services.tokens.authenticate(token);
      await services.roles.authorize(claims, permission);
      c.set("actor", { id: claims.sub, ...clientInfo(c) });
    }
    await next();
  });

export const UserIdParams = z.object({ id: z.uuid() });
// The role's grammar is the role service's rule (400 naming "role").
export const UserRoleParams = z.object({ id: z.uuid(), role: z.string() });
const UserId = pathParams(UserIdParams);
const UserRole = pathParams(UserRoleParams);

// The name's grammar is the API-key service's rule (400 naming "service_account").
export const ServiceAccountParams = z.object({ name: z.string() });
export const ServiceAccountKeyParams = z.object({ name: z.string(), id: z.uuid() });
const ServiceAccount = pathParams(ServiceAccountParams);
const ServiceAccountKey = pathParams(ServiceAccountKeyParams);
/** Who changes API keys through this API: an admin (the event's actor), never the keys' owner. */
const keyActor = ({ id, ip, userAgent }: Actor) => ({ ip, userAgent, actorId: id });

const grantView = ({ role, grantedAt, grantedBy }: RoleGrant) => ({ role, granted_at: new Date(grantedAt).toISOString(), granted_by: grantedBy });

export const adminRoutes = new Hono<AppEnv>();

const manageUsers = requirePermission("users:manage");
const manageRoles = requirePermission("roles:manage");

adminRoutes.post("/users/:id/disable", manageUsers, UserId, async (c) => {
  await c.get("services").accounts.disable(c.req.valid("param").id, c.get("actor"));
  return c.body(null, 204);
});

adminRoutes.post("/users/:id/enable", manageUsers, UserId, async (c) => {
  await c.get("services").accounts.enable(c.req.valid("param").id, c.get("actor"));
  return c.body(null, 204);
});

adminRoutes.get("/users/:id/roles", manageRoles, UserId, async (c) => {
  const { id } = c.req.valid("param");
  return c.json({ user_id: id, roles: (await c.get("services").roles.list(id)).map(grantView) });
});

adminRoutes.put("/users/:id/roles/:role", manageRoles, UserRole, async (c) => {
  const { id, role } = c.req.valid("param");
  const { grant, created } = await c.get("services").roles.grant(id, role, c.get("actor"));
  return c.json(grantView(grant), created ? 201 : 200);
});

adminRoutes.delete("/users/:id/roles/:role", manageRoles, UserRole, async (c) => {
  const { id, role } = c.req.valid("param");
  await c.get("services").roles.revoke(id, role, c.get("actor"));
  return c.body(null, 204);
});

// Every key of a user at once (a compromised account); a disable alone only suspends them.
adminRoutes.delete("/users/:id/api-keys", manageUsers, UserId, async (c) => {
  await c.get("services").apiKeys.revokeAll({ userId: c.req.valid("param").id }, keyActor(c.get("actor")));
  return c.body(null, 204);
});

adminRoutes.post("/service-accounts/:name/api-keys", manageUsers, ServiceAccount, jsonBody(NewKeyBody), async (c) => {
  const { name: serviceAccount } = c.req.valid("param");
  const { name, scopes, expires_in_days } = c.req.valid("json");
  const created = await c.get("services").apiKeys.create({ serviceAccount }, { name, scopes, expiresInDays: expires_in_days }, keyActor(c.get("actor")));
  return c.json({ ...createdView(created), service_account: serviceAccount }, 201);
});

adminRoutes.get("/service-accounts/:name/api-keys", manageUsers, ServiceAccount, async (c) => {
  const { name } = c.req.valid("param");
  return c.json({ service_account: name, api_keys: (await c.get("services").apiKeys.list({ serviceAccount: name })).map(keyView) });
});

adminRoutes.delete("/service-accounts/:name/api-keys/:id", manageUsers, ServiceAccountKey, async (c) => {
  const { name, id } = c.req.valid("param");
  await c.get("services").apiKeys.revoke({ serviceAccount: name }, id, keyActor(c.get("actor")));
  return c.body(null, 204);
});

adminRoutes.delete("/service-accounts/:name/api-keys", manageUsers, ServiceAccount, async (c) => {
  await c.get("services").apiKeys.revokeAll({ serviceAccount: c.req.valid("param").name }, keyActor(c.get("actor")));
  return c.body(null, 204);
});
