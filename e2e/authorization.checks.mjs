// Authorization downstream: roles and permissions in the tokens, read by every verifier; an admin
// grants a role that shows after a refresh; the downstream worker's 403 answer; the introspecting
// route sees a logout and a revoked role at once.
import assert from "node:assert/strict";
import { test } from "./lib/runner.mjs";
import { adminApi, refreshViaApi, registerViaApi } from "./lib/tokens.mjs";
import { AUTH_URL, DOWNSTREAM_URL } from "./lib/workers.mjs";

const downstream = (path, token) => fetch(`${DOWNSTREAM_URL}${path}`, { headers: { Authorization: `Bearer ${token}` } });

/** @param {import("./run.mjs").Context} ctx */
export function authorizationChecks(ctx) {
  /** @type {Awaited<ReturnType<typeof registerViaApi>>} */ let user;
  let adminToken = "";

  test("authorization: a new user's token carries roles [user] and scope profile:read, read alike by every verifier", async () => {
    user = await registerViaApi("authz");
    for (const verifier of ctx.verifiers) {
      const verdict = await verifier.verify(user.accessToken);
      assert.ok(verdict.ok, `${verifier.name} rejected: ${verdict.ok ? "" : verdict.error}`);
      assert.deepEqual([verdict.roles, verdict.scopes], [["user"], ["profile:read"]], verifier.name);
      assert.equal(await verifier.authorize(user.accessToken, "profile:read"), "allowed", verifier.name);
      assert.equal(await verifier.authorize(user.accessToken, "users:manage"), "insufficient_scope", verifier.name);
    }
  });

  test("authorization: the downstream worker answers 403 insufficient_scope naming the permission", async () => {
    const res = await downstream("/api/admin/report", user.accessToken);
    assert.equal(res.status, 403);
    assert.equal(res.headers.get("WWW-Authenticate"), 'Bearer realm="downstream-example", error="insufficient_scope", scope="users:manage"');
    assert.deepEqual(await res.json(), { error: "insufficient_scope", error_description: "insufficient permissions" });
  });

  test("authorization: an admin grants the role admin; after a refresh every verifier sees it and the route answers 200", async () => {
    const granted = await adminApi("PUT", `/users/${user.userId}/roles/admin`);
    assert.equal(granted.status, 201, await granted.clone().text());
    assert.equal((await downstream("/api/admin/report", user.accessToken)).status, 403, "the live token says what it said");
    ({ accessToken: adminToken, refreshToken: user.refreshToken } = await refreshViaApi(user.refreshToken));
    for (const verifier of ctx.verifiers) {
      const verdict = await verifier.verify(adminToken);
      assert.ok(verdict.ok && verdict.roles.includes("admin"), `${verifier.name}: ${JSON.stringify(verdict)}`);
      assert.equal(await verifier.authorize(adminToken, "users:manage"), "allowed", verifier.name);
    }
    const report = await downstream("/api/admin/report", adminToken);
    assert.equal(report.status, 200);
    assert.deepEqual(await report.json(), { report: { generated_for: user.userId } });
  });

  test("authorization: the admin's access token manages roles at the service itself", async () => {
    const other = await registerViaApi("authz-other");
    const res = await adminApi("GET", `/users/${other.userId}/roles`, adminToken);
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual((await res.json()).roles.map((r) => r.role), ["user"]);
    assert.equal((await adminApi("GET", `/users/${other.userId}/roles`, other.accessToken)).status, 403);
  });

  test("authorization: revoking the role cuts the token off at the introspecting route at once (offline routes until exp)", async () => {
    assert.equal((await downstream("/api/account", adminToken)).status, 200);
    assert.equal((await adminApi("DELETE", `/users/${user.userId}/roles/admin`)).status, 204);
    const refused = await downstream("/api/account", adminToken);
    assert.equal(refused.status, 401);
    assert.match(refused.headers.get("WWW-Authenticate") ?? "", /error="invalid_token", error_description="The access token is no longer active."/);
    assert.equal((await downstream("/api/admin/report", adminToken)).status, 200, "offline verification cannot know before exp");
    assert.equal((await fetch(`${AUTH_URL}/auth/me`, { headers: { Authorization: `Bearer ${adminToken}` } })).status, 401);
  });

  test("authorization: the introspecting route refuses a logged-out token at once", async () => {
    const fresh = await registerViaApi("authz-logout");
    assert.equal((await downstream("/api/account", fresh.accessToken)).status, 200);
    const logout = await fetch(`${AUTH_URL}/auth/logout`, { method: "POST", headers: { Authorization: `Bearer ${fresh.accessToken}` } });
    assert.equal(logout.status, 204);
    assert.equal((await downstream("/api/account", fresh.accessToken)).status, 401);
    assert.equal((await downstream("/api/profile", fresh.accessToken)).status, 200, "offline verification cannot know before exp");
  });
}
