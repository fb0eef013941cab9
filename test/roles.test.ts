/**
 * Roles and permissions in access tokens, and the admin endpoints that grant and revoke them
 * (ADMIN_API_TOKEN or an access token granting roles:manage). Runs with one and with two databases.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { databaseOf } from "./databases";
import { expectError } from "./hardening";
import {
  bearer,
  call,
  callWith,
  cookieRefreshInit,
  decodePayload,
  login,
  me,
  nextSecond,
  refreshCookieOf,
  register,
  rotate,
  updateFamily,
  type Login,
  type Overrides,
  type TokenBody,
} from "./helpers";

const ADMIN_TOKEN = "test-admin-token";
const withAdminToken: Overrides = { ADMIN_API_TOKEN: ADMIN_TOKEN };
const CALLER = { "CF-Connecting-IP": "192.0.2.44", "User-Agent": "roles-test/1.0" };

/** A call to an admin role endpoint, authorised by `credential` (the admin API token by default). */
const roles = (method: string, userId: string, role?: string, credential = ADMIN_TOKEN, overrides: Overrides = {}) =>
  callWith({ ...withAdminToken, ...overrides }, `/admin/users/${userId}/roles${role === undefined ? "" : `/${encodeURIComponent(role)}`}`, {
    method,
    headers: { ...bearer(credential), ...CALLER },
  });

const claimsOf = (accessToken: string) => decodePayload(accessToken);

/** The user_roles rows of a user, from its database. */
const roleRows = async (userId: string) =>
  (await databaseOf(userId).prepare("select role, granted_by from user_roles where user_id = ? order by role").bind(userId).all()).results;

const roleEvents = async (userId: string) =>
  (await databaseOf(userId).prepare("select type, detail, actor_id, ip, user_agent from auth_events where user_id = ? and type like 'role_%' order by id").bind(userId).all()).results;

/** A user who holds `role` and a fresh token carrying it. */
async function userWithRole(role: string): Promise<Login> {
  const user = await register();
  expect((await roles("PUT", user.userId, role)).status).toBe(201);
  return { ...user, ...(await rotate(user.refreshToken)) };
}

describe("roles and scope in access tokens", () => {
  it("a new user holds the role user: roles, scope and the deprecated role in every token; user_roles in D1", async () => {
    const user = await register();
    const expected = { roles: ["user"], scope: "profile:read", role: "user" };
    expect(claimsOf(user.accessToken)).toMatchObject(expected);
    expect(claimsOf((await rotate(user.refreshToken)).accessToken)).toMatchObject(expected);
    expect(claimsOf((await login(user.email)).accessToken)).toMatchObject(expected);
    expect(await roleRows(user.userId)).toEqual([{ role: "user", granted_by: null }]);
    const profile = (await (await me(user.accessToken)).json()) as { user: Record<string, unknown> };
    expect(profile.user).toMatchObject({ id: user.userId, role: "user", roles: ["user"] });
  });

  it("every token and profile carries its own user's roles, never another user's", async () => {
    const admin = await userWithRole("admin");
    const plain = await register();
    const plainTokens = [plain.accessToken, (await rotate(plain.refreshToken)).accessToken, (await login(plain.email)).accessToken];
    for (const token of plainTokens) expect(claimsOf(token)).toMatchObject({ roles: ["user"], scope: "profile:read" });
    expect(claimsOf((await login(admin.email)).accessToken)).toMatchObject({ roles: ["admin", "user"] });
    expect(((await (await me(plain.accessToken)).json()) as { user: unknown }).user).toMatchObject({ roles: ["user"] });
  });

  it("a granted role shows up at the next refresh (and login), not in the live token; a grace retry gets the same token", async () => {
    const user = await register();
    const granted = await roles("PUT", user.userId, "admin");
    expect(granted.status).toBe(201);
    expect(await granted.json()).toMatchObject({ role: "admin", granted_by: "admin-api-token", granted_at: expect.any(String) });
    // The live token keeps what it said; the profile reads D1.
    expect(claimsOf(user.accessToken)).toMatchObject({ roles: ["user"] });
    expect(((await (await me(user.accessToken)).json()) as { user: unknown }).user).toMatchObject({ roles: ["admin", "user"], role: "admin" });

    const refreshed = await call("/auth/refresh", cookieRefreshInit(user.refreshToken));
    const body = (await refreshed.json()) as TokenBody;
    const expected = { roles: ["admin", "user"], scope: "profile:read roles:manage users:manage", role: "admin" };
    expect(claimsOf(body.access_token)).toMatchObject(expected);
    const retry = (await (await call("/auth/refresh", cookieRefreshInit(user.refreshToken))).json()) as TokenBody;
    expect(retry.access_token).toBe(body.access_token);
    expect(claimsOf((await login(user.email)).accessToken)).toMatchObject(expected);
    expect(claimsOf((await rotate(refreshCookieOf(refreshed)!)).accessToken)).toMatchObject(expected);
  });

  it("revoking a role cuts off the user's live access tokens at once; the session refreshes into a token without it", async () => {
    const admin = await userWithRole("admin");
    const { accessToken: adminToken } = admin;
    expect((await me(adminToken)).status).toBe(200);
    expect((await roles("DELETE", admin.userId, "admin")).status).toBe(204);
    await expectError(await me(adminToken), 401, "invalid_token");
    await nextSecond(); // the cutoff covers the second it was written in
    const next = await rotate(admin.refreshToken);
    expect(claimsOf(next.accessToken)).toMatchObject({ roles: ["user"], scope: "profile:read", role: "user" });
    expect((await me(next.accessToken)).status).toBe(200);
    // Idempotent: again, and for a role never held.
    expect((await roles("DELETE", admin.userId, "admin")).status).toBe(204);
    expect((await roles("DELETE", admin.userId, "never-held")).status).toBe(204);
    expect((await me(next.accessToken)).status).toBe(200);
    expect(await roleEvents(admin.userId)).toEqual([
      { type: "role_granted", detail: "admin", actor_id: "admin-api-token", ip: "192.0.2.44", user_agent: "roles-test/1.0" },
      { type: "role_revoked", detail: "admin", actor_id: "admin-api-token", ip: "192.0.2.44", user_agent: "roles-test/1.0" },
    ]);
  });

  it("the largest token allowed (16 roles of 32 characters, a full scope) stays under 2 KB", async () => {
    const user = await register();
    const longRoles = Array.from({ length: 16 }, (_, i) => `r${String(i).padStart(2, "0")}-`.padEnd(32, "x"));
    // Every permission the map may name: 256 characters in all, joined by spaces.
    const permissions = Array.from({ length: 16 }, (_, i) => `permission:${String(i).padStart(4, "0")}`);
    expect(permissions.join(" ").length).toBe(255);
    const full: Overrides = { ROLE_PERMISSIONS: JSON.stringify(Object.fromEntries(longRoles.map((role) => [role, permissions]))) };
    expect((await roles("DELETE", user.userId, "user")).status).toBe(204);
    for (const role of longRoles) expect((await roles("PUT", user.userId, role)).status).toBe(201);
    await expectError(await roles("PUT", user.userId, "one-too-many"), 400, "invalid_request");
    await nextSecond();
    const { accessToken } = await rotate(user.refreshToken, full);
    expect(claimsOf(accessToken)).toMatchObject({ roles: longRoles, scope: permissions.join(" "), role: longRoles[0] });
    expect(accessToken.length).toBeLessThan(2048);
    expect((await callWith(full, "/auth/me", { headers: bearer(accessToken) })).status).toBe(200);

    // Longer settings than the test's: a 40-character issuer and audience, a 64-character client id.
    const long: Overrides = { ...full, ISSUER: "https://auth.an-example-company-name.com", AUDIENCE: "https://api.an-example-company-name.com", OAUTH_CLIENTS: JSON.stringify({ ["c".repeat(64)]: {} }) };
    const res = await callWith(long, "/auth/login", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ email: user.email, password: "correct horse battery staple", client_id: "c".repeat(64) }) });
    const longest = ((await res.json()) as TokenBody).access_token;
    expect(claimsOf(longest)).toMatchObject({ roles: longRoles, client_id: "c".repeat(64) });
    expect(longest.length).toBeLessThan(2560);
  });
});

describe("admin role endpoints", () => {
  it("list a user's roles, oldest first, with who granted them; PUT is idempotent (201, then 200 with the first grant)", async () => {
    const user = await register();
    const first = await roles("PUT", user.userId, "billing:admin");
    expect(first.status).toBe(201);
    const again = await roles("PUT", user.userId, "billing:admin");
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(await first.json());
    const list = await roles("GET", user.userId);
    expect(list.status).toBe(200);
    expect(list.headers.get("Cache-Control")).toBe("no-store");
    expect(await list.json()).toEqual({
      user_id: user.userId,
      roles: [
        { role: "user", granted_at: expect.any(String), granted_by: null },
        { role: "billing:admin", granted_at: expect.any(String), granted_by: "admin-api-token" },
      ],
    });
    expect((await roleEvents(user.userId)).map((e) => e.type)).toEqual(["role_granted"]);
  });

  it("refuses a malformed role (400 naming role), a malformed user id (400) and an unknown user (404)", async () => {
    const user = await register();
    for (const role of ["Admin", "a b", "r".repeat(33), "1st"]) {
      const { error_description } = await expectError(await roles("PUT", user.userId, role), 400, "invalid_request");
      expect(error_description).toMatch(/^role:/);
    }
    await expectError(await roles("PUT", "not-a-uuid", "admin"), 400, "invalid_request");
    for (const [method, role] of [["GET", undefined], ["PUT", "admin"], ["DELETE", "admin"]] as const) {
      await expectError(await roles(method, crypto.randomUUID(), role), 404, "invalid_request");
    }
    expect(await roleRows(user.userId)).toEqual([{ role: "user", granted_by: null }]);
  });

  it("accept an access token granting roles:manage, recording the admin as the actor", async () => {
    const admin = await userWithRole("admin");
    const user = await register();
    const res = await roles("PUT", user.userId, "support", admin.accessToken, { ADMIN_API_TOKEN: undefined });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ role: "support", granted_by: admin.userId });
    expect((await roles("DELETE", user.userId, "support", admin.accessToken)).status).toBe(204);
    expect((await roleEvents(user.userId)).map((e) => [e.type, e.actor_id])).toEqual([
      ["role_granted", admin.userId],
      ["role_revoked", admin.userId],
    ]);
  });

  it("answer 403 insufficient_scope (RFC 6750 challenge naming the permission) to a valid token without it", async () => {
    const user = await register();
    for (const [method, role] of [["GET", undefined], ["PUT", "admin"], ["DELETE", "user"]] as const) {
      const res = await roles(method, user.userId, role, user.accessToken);
      const body = await expectError(res, 403, "insufficient_scope");
      expect(body.error_description).toBe("insufficient permissions");
      expect(res.headers.get("WWW-Authenticate")).toBe('Bearer realm="auth", error="insufficient_scope", scope="roles:manage"');
    }
    // A role that grants users:manage only does not manage roles, and the other way round.
    expect(await roleRows(user.userId)).toEqual([{ role: "user", granted_by: null }]);
    const rolesOnly: Overrides = { ROLE_PERMISSIONS: JSON.stringify({ user: ["profile:read"], "role-admin": ["roles:manage"] }) };
    const roleAdmin = await register();
    expect((await roles("PUT", roleAdmin.userId, "role-admin")).status).toBe(201);
    const { accessToken } = await rotate(roleAdmin.refreshToken, rolesOnly);
    expect((await roles("GET", user.userId, undefined, accessToken, rolesOnly)).status).toBe(200);
    const disable = await callWith(rolesOnly, `/admin/users/${user.userId}/disable`, { method: "POST", headers: bearer(accessToken) });
    await expectError(disable, 403, "insufficient_scope");
    expect(disable.headers.get("WWW-Authenticate")).toMatch(/scope="users:manage"$/);
  });

  it("an admin demoted in D1 loses the power at once, even where KV has not heard of it yet", async () => {
    const admin = await userWithRole("admin");
    const user = await register();
    await databaseOf(admin.userId).prepare("delete from user_roles where user_id = ? and role = 'admin'").bind(admin.userId).run();
    expect((await me(admin.accessToken)).status).toBe(200); // no cutoff in KV: the token itself is still valid
    await expectError(await roles("PUT", user.userId, "admin", admin.accessToken), 403, "insufficient_scope");
    await expectError(await callWith(withAdminToken, `/admin/users/${user.userId}/disable`, { method: "POST", headers: bearer(admin.accessToken) }), 403, "insufficient_scope");
  });

  it("an admin whose session has ended in D1 is refused (401), whatever the token's scope", async () => {
    const admin = await userWithRole("admin");
    const user = await register();
    await updateFamily(admin.sid, "revoked_at = ?, revoked_reason = 'logout'", Date.now());
    await expectError(await roles("GET", user.userId, undefined, admin.accessToken), 401, "invalid_token");
  });

  it("disable and enable by an access token granting users:manage record the admin's id", async () => {
    const admin = await userWithRole("admin");
    const user = await register();
    for (const action of ["disable", "enable"]) {
      expect((await call(`/admin/users/${user.userId}/${action}`, { method: "POST", headers: { ...bearer(admin.accessToken), ...CALLER } })).status).toBe(204);
    }
    const events = await databaseOf(user.userId).prepare("select type, actor_id from auth_events where user_id = ? and type like 'user_%' order by id").bind(user.userId).all();
    expect(events.results).toEqual([
      { type: "user_disabled", actor_id: admin.userId },
      { type: "user_enabled", actor_id: admin.userId },
    ]);
  });

  it("without ADMIN_API_TOKEN configured, only access tokens count", async () => {
    const user = await register();
    await expectError(await roles("GET", user.userId, undefined, ADMIN_TOKEN, { ADMIN_API_TOKEN: undefined }), 401, "invalid_token");
    await expectError(await callWith({}, `/admin/users/${user.userId}/roles`), 401, "invalid_token");
    expect(env.ADMIN_API_TOKEN).toBeUndefined();
  });
});

describe("introspection", () => {
  it("a token claiming a role its user no longer holds is inactive at once, even where KV has not heard of it", async () => {
    const admin = await userWithRole("admin");
    const introspect = async () => {
      const res = await call("/oauth/introspect", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Authorization: `Basic ${btoa(`billing-api:${env.TEST_RESOURCE_SERVER_SECRET}`)}` },
        body: new URLSearchParams({ token: admin.accessToken }),
      });
      return (await res.json()) as Record<string, unknown>;
    };
    expect(await introspect()).toMatchObject({ active: true, roles: ["admin", "user"], scope: "profile:read roles:manage users:manage" });
    await databaseOf(admin.userId).prepare("delete from user_roles where user_id = ? and role = 'admin'").bind(admin.userId).run();
    expect(await introspect()).toEqual({ active: false });
  });
});
