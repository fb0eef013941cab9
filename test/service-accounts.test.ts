/**
 * Service accounts: API keys that belong to no person, created and revoked by an admin
 * (/admin/service-accounts/:name/api-keys), for service-to-service calls. Their tokens say
 * `sub: "svc:<name>"`. Runs with one and with two databases.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createDownstream } from "./downstream";
import { admin, exchange, keyRow, keyToken, KEY_SHAPE, type CreatedKey } from "./api-keys";
import { allRows } from "./databases";
import { expectError } from "./hardening";
import { bearer, call, callWith, decodePayload, me, register, rotate } from "./helpers";

const CALLER = { "CF-Connecting-IP": "192.0.2.77", "User-Agent": "ops-cli/2.0" };
let downstream: ReturnType<typeof createDownstream>;
beforeAll(() => {
  downstream = createDownstream();
});

let counter = 0;
const accountName = () => `svc-${Date.now().toString(36)}-${counter++}`;
const keysOf = (name: string) => `/admin/service-accounts/${name}/api-keys`;

async function serviceKey(name: string, body: Record<string, unknown> = { name: "nightly sync", scopes: ["profile:read"] }): Promise<CreatedKey & { service_account: string }> {
  const res = await admin("POST", keysOf(name), body, CALLER);
  if (res.status !== 201) throw new Error(`create: ${res.status} ${await res.text()}`);
  return (await res.json()) as CreatedKey & { service_account: string };
}

describe("service accounts", () => {
  it("an admin creates a key; its token says sub svc:<name>, no roles, and works downstream within its scopes", async () => {
    const name = accountName();
    const key = await serviceKey(name);
    expect(key).toMatchObject({ service_account: name, name: "nightly sync", scopes: ["profile:read"], expires_at: null });
    expect(key.key).toMatch(KEY_SHAPE);
    expect(await keyRow(key.id)).toMatchObject({ user_id: null, service_account: name });
    const token = await keyToken(key);
    expect(decodePayload(token)).toMatchObject({ sub: `svc:${name}`, client_id: key.id, sid: key.id, roles: [], scope: "profile:read", email_verified: false });
    expect((await downstream.request("/api/profile", { headers: bearer(token) })).status).toBe(200);
    expect((await downstream.request("/api/admin/report", { headers: bearer(token) })).status).toBe(403);
    expect((await downstream.request("/api/account", { headers: bearer(token) })).status).toBe(200);
    // No person behind it: the service's own account endpoints have nothing to show.
    await expectError(await me(token), 401, "invalid_token");
    const events = await allRows("select type, detail, actor_id, ip, user_agent from auth_events where user_id = ?", `svc:${name}`);
    expect(events).toEqual([{ type: "api_key_created", detail: key.id, actor_id: "admin-api-token", ip: "192.0.2.77", user_agent: "ops-cli/2.0" }]);
  });

  it("lists, revokes one (exchange refused, introspection inactive at once) and revokes all", async () => {
    const name = accountName();
    const [a, b, c] = [await serviceKey(name), await serviceKey(name, { name: "second", scopes: [] }), await serviceKey(name, { name: "third", scopes: [] })];
    const list = await admin("GET", keysOf(name));
    const body = (await list.json()) as { service_account: string; api_keys: { id: string }[] };
    expect(body.service_account).toBe(name);
    expect(body.api_keys.map((k) => k.id)).toEqual([c.id, b.id, a.id]);
    expect(JSON.stringify(body)).not.toContain(a.key.slice(5));
    const token = await keyToken(a);
    const staleKv = { ADMIN_API_TOKEN: "test-admin-token", REVOCATIONS: { ...env.REVOCATIONS, put: async () => undefined, get: env.REVOCATIONS.get.bind(env.REVOCATIONS) } };
    expect((await callWith(staleKv, `${keysOf(name)}/${a.id}`, { method: "DELETE", headers: bearer("test-admin-token") })).status).toBe(204);
    await expectError(await exchange(a), 401, "invalid_client");
    expect((await downstream.request("/api/account", { headers: bearer(token) })).status).toBe(401);
    await expectError(await admin("DELETE", `${keysOf(accountName())}/${b.id}`), 404, "invalid_request");
    expect((await admin("DELETE", keysOf(name))).status).toBe(204);
    for (const key of [b, c]) await expectError(await exchange(key), 401, "invalid_client");
    expect(((await (await admin("GET", keysOf(name))).json()) as { api_keys: unknown[] }).api_keys).toEqual([]);
  });

  it("needs scopes from ROLE_PERMISSIONS and a valid name: 400 naming the field", async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      [accountName(), { name: "x" }, "scopes"],
      [accountName(), { name: "x", scopes: ["billing:write"] }, "scopes"],
      ["Not A Name", { name: "x", scopes: [] }, "service_account"],
      ["a".repeat(33), { name: "x", scopes: [] }, "service_account"],
    ];
    for (const [name, body, field] of cases) {
      const answer = await expectError(await admin("POST", keysOf(encodeURIComponent(name)), body), 400, "invalid_request");
      expect(answer.error_description).toMatch(new RegExp(`^${field}`));
    }
  });

  it("needs users:manage: a user's token is 403, an admin's session works and is the event's actor, a key's token is 401", async () => {
    const user = await register();
    const path = keysOf(accountName());
    const forbidden = await call(path, { method: "POST", headers: { ...bearer(user.accessToken), "Content-Type": "application/json" }, body: JSON.stringify({ name: "x", scopes: [] }) });
    await expectError(forbidden, 403, "insufficient_scope");
    expect((await admin("PUT", `/admin/users/${user.userId}/roles/admin`)).status).toBe(201);
    const { accessToken } = await rotate(user.refreshToken);
    const created = await call(path, { method: "POST", headers: { ...bearer(accessToken), "Content-Type": "application/json" }, body: JSON.stringify({ name: "x", scopes: ["users:manage"] }) });
    expect(created.status).toBe(201);
    const key = (await created.json()) as CreatedKey;
    expect(await allRows("select actor_id from auth_events where type = 'api_key_created' and detail = ?", key.id)).toEqual([{ actor_id: user.userId }]);
    await expectError(await call(path, { headers: bearer(await keyToken(key)) }), 401, "invalid_token");
  });
});
