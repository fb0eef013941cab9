/**
 * Exchanging an API key at the token endpoint (client_credentials, RFC 6749 section 4.4) with the
 * standard libraries, what its access token says, what a downstream service (the example worker,
 * on @edge-token-service/verifier) lets it do, and how revocation, expiry, the owner's account and
 * the owner's roles reach it. Runs with one and with two databases.
 */
import { env, exports } from "cloudflare:workers";
import * as oauth from "oauth4webapi";
import * as openid from "openid-client";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../examples/downstream/src/app";
import { buildServices } from "../src/services";
import { admin, createKey, exchange, keyRow, keyToken, updateKey, type CreatedKey } from "./api-keys";
import { userDatabases } from "./databases";
import { expectError, metered, wrapDatabases, wrapKv } from "./hardening";
import { bearer, call, callWith, decodePayload, me, register, rotate } from "./helpers";

const ISSUER = new URL(env.ISSUER ?? "http://localhost:8787");
const workerFetch = (url: string, init?: RequestInit) => exports.default.fetch(new Request(url, init));
const options = { [oauth.customFetch]: workerFetch, [oauth.allowInsecureRequests]: true };

let as: oauth.AuthorizationServer;
let downstream: ReturnType<typeof createApp>;
beforeAll(async () => {
  as = await oauth.processDiscoveryResponse(ISSUER, await oauth.discoveryRequest(ISSUER, { ...options, algorithm: "oauth2" }));
  downstream = createApp({
    issuer: ISSUER.origin,
    audience: env.AUDIENCE ?? ISSUER.origin,
    allowedOrigin: "http://localhost:5173",
    introspection: { clientId: "billing-api", clientSecret: env.TEST_RESOURCE_SERVER_SECRET },
    fetch: (url, init) => exports.default.fetch(new Request(url, init)),
  });
});

const get = (path: string, token: string) => downstream.request(path, { headers: bearer(token) });
const introspect = async (token: string) => {
  const client = { client_id: "billing-api" };
  const auth = oauth.ClientSecretBasic(env.TEST_RESOURCE_SERVER_SECRET);
  return oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, token, options));
};
/** KV as a location sees it before a revocation reaches it: writes vanish, so only D1 can tell. */
const staleKv = { REVOCATIONS: { ...env.REVOCATIONS, put: async () => undefined, get: env.REVOCATIONS.get.bind(env.REVOCATIONS) } as unknown as KVNamespace };

describe("client_credentials with the standard libraries", () => {
  it("oauth4webapi (client_secret_basic) and openid-client (client_secret_post): a Bearer token, no refresh token", async () => {
    const user = await register();
    const key = await createKey(user);
    const client: oauth.Client = { client_id: key.id };
    const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(key.key), {}, options);
    const first = await oauth.processClientCredentialsResponse(as, client, response);
    expect(first).toMatchObject({ token_type: "bearer", scope: "profile:read", expires_in: expect.toSatisfy((s: number) => s === 899 || s === 900) });
    expect(first.refresh_token).toBeUndefined();
    const config = await openid.discovery(ISSUER, key.id, key.key, openid.ClientSecretPost(key.key), { [openid.customFetch]: workerFetch, execute: [openid.allowInsecureRequests] });
    const second = await openid.clientCredentialsGrant(config);
    expect(second.refresh_token).toBeUndefined();
    for (const token of [first.access_token, second.access_token]) expect((await me(token)).status).toBe(200);
    // A strict RFC 9068 validator accepts the token too.
    const request = new Request("https://api.example.test/", { headers: bearer(first.access_token) });
    expect(await oauth.validateJwtAccessToken(as, request, env.AUDIENCE ?? ISSUER.origin, options)).toMatchObject({ client_id: key.id, sub: user.userId });
  });

  it("the token: sub = the owner, client_id = sid = the key id, scope = the key's, roles [] and no role, the normal TTL", async () => {
    const user = await register();
    const key = await createKey(user);
    const res = await exchange(key);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const body = (await res.json()) as { access_token: string; expires_in: number };
    const claims = decodePayload(body.access_token);
    expect(claims).toMatchObject({ sub: user.userId, client_id: key.id, sid: key.id, scope: "profile:read", roles: [], email_verified: false });
    expect(claims).not.toHaveProperty("role");
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
    expect(decodePayload((await keyToken(key)) as string).jti).not.toBe(claims.jti);
  });

  it("answers RFC 6749 5.2 errors: invalid_client (with a Basic challenge) for any bad credential, invalid_request for two methods", async () => {
    const user = await register();
    const key = await createKey(user);
    const wrongSecret = { id: key.id, key: `etsk_${"A".repeat(43)}` };
    const cases: [RequestInit, number, string][] = [
      [exchangeInitOf(wrongSecret), 401, "invalid_client"],
      [exchangeInitOf({ id: crypto.randomUUID(), key: key.key }), 401, "invalid_client"],
      [exchangeInitOf({ id: "not-a-key-id", key: key.key }), 401, "invalid_client"],
      [exchangeInitOf({ id: key.id, key: key.key.slice(0, -1) }), 401, "invalid_client"],
      [exchangeInitOf({ id: key.id, key: key.key }, { Authorization: "Basic !!!" }), 401, "invalid_client"],
      [{ method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ grant_type: "client_credentials" }) }, 401, "invalid_client"],
      [exchangeInitOf(key, {}, { client_secret: key.key }), 400, "invalid_request"],
    ];
    for (const [init, status, error] of cases) {
      const res = await call("/oauth/token", init);
      await expectError(res, status, error);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      if (status === 401) expect(res.headers.get("WWW-Authenticate")).toBe('Basic realm="token"');
    }
    expect((await exchange(key)).status).toBe(200);
  });

  it("scope asks for a subset of the key's permissions; one beyond them is 400 invalid_scope", async () => {
    const owner = await adminUser();
    const key = await createKey(owner, { name: "reports", scopes: ["profile:read", "users:manage"] });
    const narrowed = (await (await exchange(key, { scope: "users:manage" })).json()) as { access_token: string; scope: string };
    expect(narrowed.scope).toBe("users:manage");
    expect(decodePayload(narrowed.access_token).scope).toBe("users:manage");
    const beyond = await expectError(await exchange(key, { scope: "users:manage roles:manage" }), 400, "invalid_scope");
    expect(beyond.error_description).toContain("roles:manage");
  });
});

describe("downstream (the example worker on the verifier package)", () => {
  it("accepts a key's token where the key has the scope, refuses it (403) where not; revoked: exchange 401 and token refused", async () => {
    const user = await register();
    const key = await createKey(user);
    const token = await keyToken(key);
    expect((await get("/api/profile", token)).status).toBe(200);
    expect(await (await get("/api/me", token)).json()).toMatchObject({ sub: user.userId, roles: [], scopes: ["profile:read"] });
    const forbidden = await get("/api/admin/report", token);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get("WWW-Authenticate")).toBe('Bearer realm="downstream-example", error="insufficient_scope", scope="users:manage"');
    expect((await get("/api/account", token)).status).toBe(200);
    const identityOnly = await keyToken(await createKey(user, { name: "identity", scopes: [] }));
    expect((await get("/api/profile", identityOnly)).status).toBe(403);

    expect((await call(`/auth/api-keys/${key.id}`, { method: "DELETE", headers: bearer(user.accessToken) })).status).toBe(204);
    await expectError(await exchange(key), 401, "invalid_client");
    await expectError(await me(token), 401, "invalid_token");
    expect((await get("/api/account", token)).status).toBe(401);
  });
});

describe("introspection of a key's token", () => {
  it("active while the key is usable; inactive at once (D1, whatever KV says) when it is revoked, expired or its owner disabled", async () => {
    const ended: string[] = [];
    const user = await register();
    const revoked = await createKey(user, { name: "revoked" });
    const expired = await createKey(user, { name: "expired" });
    const tokens = { revoked: await keyToken(revoked), expired: await keyToken(expired) };
    expect(await introspect(tokens.revoked)).toMatchObject({ active: true, sub: user.userId, client_id: revoked.id, scope: "profile:read" });
    expect((await callWith(staleKv, `/auth/api-keys/${revoked.id}`, { method: "DELETE", headers: bearer(user.accessToken) })).status).toBe(204);
    expect((await callWith(staleKv, "/auth/me", { headers: bearer(tokens.revoked) })).status).toBe(200);
    ended.push(tokens.revoked);
    await updateKey(expired.id, "expires_at = ?", Date.now() - 1);
    ended.push(tokens.expired);
    const disabledOwner = await register();
    const disabledToken = await keyToken(await createKey(disabledOwner));
    const disable = await callWith({ ...staleKv, ADMIN_API_TOKEN: "test-admin-token" }, `/admin/users/${disabledOwner.userId}/disable`, { method: "POST", headers: bearer("test-admin-token") });
    expect(disable.status).toBe(204);
    ended.push(disabledToken);
    for (const token of ended) expect(await introspect(token)).toEqual({ active: false });
  });

  it("a key can never use more than its owner has now: after a role is revoked, its token is inactive and the next one narrower", async () => {
    const owner = await adminUser();
    const key = await createKey(owner, { name: "admin bot", scopes: ["profile:read", "users:manage"] });
    const token = await keyToken(key);
    expect(await introspect(token)).toMatchObject({ active: true, scope: "profile:read users:manage" });
    const demote = await callWith({ ...staleKv, ADMIN_API_TOKEN: "test-admin-token" }, `/admin/users/${owner.userId}/roles/admin`, { method: "DELETE", headers: bearer("test-admin-token") });
    expect(demote.status).toBe(204);
    expect(await introspect(token)).toEqual({ active: false });
    const next = (await (await exchange(key)).json()) as { access_token: string; scope: string };
    expect(next.scope).toBe("profile:read");
    expect(decodePayload(next.access_token)).toMatchObject({ scope: "profile:read", roles: [] });
    await expectError(await exchange(key, { scope: "users:manage" }), 400, "invalid_scope");
  });
});

describe("keys that ended, and the token's own logout", () => {
  it("an expired key is invalid_client at once and still listed (with its expiry) until housekeeping removes it", async () => {
    const user = await register();
    const key = await createKey(user, { name: "short", expires_in_days: 1 });
    await updateKey(key.id, "expires_at = ?", Date.now() - 1000);
    await expectError(await exchange(key), 401, "invalid_client");
    const listed = (await (await call("/auth/api-keys", { headers: bearer(user.accessToken) })).json()) as { api_keys: { id: string }[] };
    expect(listed.api_keys.map((k) => k.id)).toEqual([key.id]);
  });

  it("POST /auth/logout with a key's token ends that token only: the key and its next token work", async () => {
    const user = await register();
    const key = await createKey(user);
    const token = await keyToken(key);
    expect((await call("/auth/logout", { method: "POST", headers: bearer(token) })).status).toBe(204);
    await expectError(await me(token), 401, "invalid_token");
    expect((await me(await keyToken(key))).status).toBe(200);
    expect((await me(user.accessToken)).status).toBe(200);
  });
});

describe("cost and limits of an exchange", () => {
  it("last_used_at moves at most once an hour: one D1 read per exchange, and a 1-row write only when the value is an hour old", async () => {
    const log: D1Meta[] = [];
    const names = (env.USER_DATABASES ?? "DB").split(",");
    const meteredEnv = { ...env, ...Object.fromEntries(names.map((name, i) => [name, metered(userDatabases()[i]!, log)])) };
    const services = buildServices(meteredEnv as typeof env);
    const user = await register();
    const key = await createKey(user);
    const tasks: Promise<void>[] = [];
    /** rows_written of each D1 statement of one exchange, its background write included. */
    const written = async (presented: CreatedKey) => {
      log.length = 0;
      await services.apiKeys.exchange({ clientId: presented.id, secret: presented.key }, (task) => void tasks.push(task)).catch(() => undefined);
      await Promise.all(tasks.splice(0));
      return log.map((meta) => meta.rows_written);
    };
    expect(await written(key)).toEqual([0, 1]);
    const firstUse = (await keyRow(key.id)).last_used_at!;
    expect(firstUse).toBeGreaterThan(Date.parse(key.created_at) - 1);
    expect(await written(key)).toEqual([0]);
    await updateKey(key.id, "last_used_at = ?", firstUse - 3601 * 1000);
    // An hour old, but a wrong key is refused before anything is written.
    expect(await written({ ...key, key: `etsk_${"B".repeat(43)}` })).toEqual([0]);
    expect((await keyRow(key.id)).last_used_at).toBe(firstUse - 3601 * 1000);
    expect(await written(key)).toEqual([0, 1]);
    expect((await keyRow(key.id)).last_used_at).toBeGreaterThanOrEqual(firstUse);
  });

  it("a D1 write failure costs the last-used time, never the exchange: 200, and one log line without the key", async () => {
    const user = await register();
    const key = await createKey(user);
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    const res = await exchange(key, {}, wrapDatabases("writes").bindings);
    expect(res.status).toBe(200);
    expect((await keyRow(key.id)).last_used_at).toBeNull();
    expect(lines.map((line) => JSON.parse(line))).toEqual([{ level: "error", event: "api_key_last_used_failed", key_id: key.id, error: { name: "StorageUnavailableError" } }]);
    vi.restoreAllMocks();
  });

  it("is rate limited per key (API_KEY_RATE_LIMITER): the fourth exchange of one key in a minute is 429, another key goes on", async () => {
    const user = await register();
    const [key, other] = [await createKey(user), await createKey(user)];
    const limited = { API_KEY_RATE_LIMITER: env.TEST_STRICT_LIMITER };
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await exchange(key, {}, limited)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect((await exchange(other, {}, limited)).status).toBe(200);
  });

  it("a KV failure while revoking answers 503 and leaves the key usable, so the retry completes it", async () => {
    const user = await register();
    const key = await createKey(user);
    const failing = wrapKv("writes");
    const res = await callWith({ REVOCATIONS: failing.kv }, `/auth/api-keys/${key.id}`, { method: "DELETE", headers: bearer(user.accessToken) });
    await expectError(res, 503, "temporarily_unavailable");
    expect(failing.puts).toEqual([`revoked-sid:${key.id}`]);
    expect((await keyRow(key.id)).revoked_at).toBeNull();
    expect((await call(`/auth/api-keys/${key.id}`, { method: "DELETE", headers: bearer(user.accessToken) })).status).toBe(204);
    await expectError(await exchange(key), 401, "invalid_client");
  });
});

/** A user holding the role admin, and a token that says so. */
async function adminUser() {
  const user = await register();
  expect((await admin("PUT", `/admin/users/${user.userId}/roles/admin`)).status).toBe(201);
  return { ...user, ...(await rotate(user.refreshToken)) };
}

/** A client_credentials request with Basic credentials, extra headers and extra form fields. */
function exchangeInitOf(key: { id: string; key: string }, headers: Record<string, string> = {}, form: Record<string, string> = {}): RequestInit {
  const body = new URLSearchParams({ grant_type: "client_credentials", ...form });
  const authorization = `Basic ${btoa(`${encodeURIComponent(key.id)}:${encodeURIComponent(key.key)}`)}`;
  return { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", Authorization: authorization, ...headers }, body };
}
