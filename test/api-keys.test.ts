/**
 * A user's API keys (README.md, "API keys"): create one with a subset of the user's permissions,
 * see it once, list and revoke it; its secret is stored as a hash only and never shows again, in an
 * answer, an event or a log line. Runs with one and with two databases.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { base64url } from "jose";
import { admin, createKey, exchange, KEY_SHAPE, keyRow, keyToken, postKey, type CreatedKey } from "./api-keys";
import { allRows } from "./databases";
import { expectError } from "./hardening";
import { bearer, call, json, login, me, nextSecond, register, rotate, type Login } from "./helpers";

afterEach(() => vi.restoreAllMocks());

const CALLER = { "CF-Connecting-IP": "192.0.2.61", "User-Agent": "keys-test/1.0" };
const keys = (user: Login) => call("/auth/api-keys", { headers: bearer(user.accessToken) });
const revoke = (user: Login, id?: string) => call(`/auth/api-keys${id ? `/${id}` : ""}`, { method: "DELETE", headers: { ...bearer(user.accessToken), ...CALLER } });
const sha256 = async (text: string) => base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))));

/** A user who holds the role admin (permissions profile:read, roles:manage, users:manage) and a token that says so. */
async function adminUser(): Promise<Login> {
  const user = await register();
  expect((await admin("PUT", `/admin/users/${user.userId}/roles/admin`)).status).toBe(201);
  return { ...user, ...(await rotate(user.refreshToken)) };
}

describe("creating a key", () => {
  it("answers the key once (etsk_ and 256 bits), its id, name, prefix, scopes and times; D1 holds its SHA-256 only", async () => {
    const user = await register();
    const res = await postKey(user, { name: "  deploy bot  ", expires_in_days: 30 }, CALLER);
    expect(res.status).toBe(201);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const created = (await res.json()) as CreatedKey;
    expect(Object.keys(created).sort()).toEqual(["created_at", "expires_at", "id", "key", "name", "prefix", "scopes"]);
    expect(created).toMatchObject({ name: "deploy bot", scopes: ["profile:read"], prefix: created.key.slice(0, 11) });
    expect(created.key).toMatch(KEY_SHAPE);
    expect(base64url.decode(created.key.slice(5))).toHaveLength(32);
    expect(Date.parse(created.expires_at!) - Date.parse(created.created_at)).toBe(30 * 24 * 3600 * 1000);
    const row = await keyRow(created.id);
    expect(row).toMatchObject({ user_id: user.userId, service_account: null, scopes: "profile:read", secret_hash: await sha256(created.key), revoked_at: null, last_used_at: null });
    expect(Object.values(row).some((value) => typeof value === "string" && value.includes(created.key.slice(11)))).toBe(false);
    const [event] = await allRows<Record<string, unknown>>("select type, user_id, session_id, detail, ip, user_agent from auth_events where type = 'api_key_created' and user_id = ?", user.userId);
    expect(event).toEqual({ type: "api_key_created", user_id: user.userId, session_id: user.sid, detail: created.id, ip: "192.0.2.61", user_agent: "keys-test/1.0" });
  });

  it("two keys never share a secret or an id; no expiry unless asked for", async () => {
    const user = await register();
    const [a, b] = [await createKey(user), await createKey(user)];
    expect(a.key).not.toBe(b.key);
    expect(a.id).not.toBe(b.id);
    expect(a.expires_at).toBeNull();
  });

  it("scopes are a subset of the owner's permissions now: one the owner lacks is 400 naming scopes, nothing stored", async () => {
    const user = await register();
    for (const scopes of [["users:manage"], ["profile:read", "billing:write"]]) {
      const body = await expectError(await postKey(user, { name: "too much", scopes }), 400, "invalid_request");
      expect(body.error_description).toMatch(/^scopes: /);
    }
    expect(((await (await keys(user)).json()) as { api_keys: unknown[] }).api_keys).toEqual([]);
    const admin = await adminUser();
    expect((await createKey(admin, { name: "admin bot", scopes: ["users:manage"] })).scopes).toEqual(["users:manage"]);
    expect((await createKey(admin, { name: "all", scopes: undefined })).scopes).toEqual(["profile:read", "roles:manage", "users:manage"]);
    expect((await createKey(user, { name: "identity only", scopes: [] })).scopes).toEqual([]);
  });

  it("refuses bad input with 400 naming the field", async () => {
    const user = await register();
    const cases: [Record<string, unknown>, string][] = [
      [{}, "name"],
      [{ name: "   " }, "name"],
      [{ name: "x".repeat(65) }, "name"],
      [{ name: "a\u0000b" }, "name"],
      [{ name: "ci", scopes: "profile:read" }, "scopes"],
      [{ name: "ci", expires_in_days: 0 }, "expires_in_days"],
      [{ name: "ci", expires_in_days: 1.5 }, "expires_in_days"],
      [{ name: "ci", expires_in_days: 3651 }, "expires_in_days"],
    ];
    for (const [body, field] of cases) {
      const answer = await expectError(await postKey(user, body), 400, "invalid_request");
      expect(answer.error_description, JSON.stringify(body)).toMatch(new RegExp(`^${field}`));
    }
  });

  it("at most 20 usable keys per user; revoking one makes room", async () => {
    const user = await register();
    const made: CreatedKey[] = [];
    for (let i = 0; i < 20; i++) made.push(await createKey(user, { name: `key ${i}` }));
    const refused = await expectError(await postKey(user, { name: "one more" }), 400, "invalid_request");
    expect(refused.error_description).toMatch(/most API keys allowed \(20\)/);
    expect((await revoke(user, made[0]!.id)).status).toBe(204);
    expect((await postKey(user, { name: "one more" })).status).toBe(201);
  });
});

describe("listing and revoking", () => {
  it("lists the caller's keys newest first without the key or its hash; never another user's", async () => {
    const user = await register();
    const other = await register();
    const first = await createKey(user, { name: "first" });
    const second = await createKey(user, { name: "second", expires_in_days: 7 });
    await createKey(other, { name: "not yours" });
    const res = await keys(user);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const { api_keys } = (await res.json()) as { api_keys: Record<string, unknown>[] };
    expect(api_keys.map((k) => k.name)).toEqual(["second", "first"]);
    expect(Object.keys(api_keys[0]!).sort()).toEqual(["created_at", "expires_at", "id", "last_used_at", "name", "prefix", "scopes"]);
    expect(api_keys[1]).toEqual({ id: first.id, name: "first", prefix: first.prefix, scopes: ["profile:read"], created_at: first.created_at, last_used_at: null, expires_at: null });
    expect(api_keys[0]!.expires_at).toBe(second.expires_at);
  });

  it("DELETE /auth/api-keys/:id revokes that key at once: exchange refused, its tokens refused; idempotent; 404 for another user's", async () => {
    const user = await register();
    const other = await register();
    const kept = await createKey(user, { name: "kept" });
    const key = await createKey(user);
    const token = await keyToken(key);
    expect((await me(token)).status).toBe(200);
    await expectError(await revoke(other, key.id), 404, "invalid_request");
    expect((await revoke(user, key.id)).status).toBe(204);
    expect((await revoke(user, key.id)).status).toBe(204);
    await expectError(await exchange(key), 401, "invalid_client");
    await expectError(await me(token), 401, "invalid_token");
    expect((await exchange(kept)).status).toBe(200);
    expect(((await (await keys(user)).json()) as { api_keys: { id: string }[] }).api_keys.map((k) => k.id)).toEqual([kept.id]);
    const events = await allRows("select detail, session_id from auth_events where type = 'api_key_revoked' and user_id = ?", user.userId);
    expect(events).toEqual([{ detail: key.id, session_id: user.sid }]);
    await expectError(await call("/auth/api-keys/not-a-uuid", { method: "DELETE", headers: bearer(user.accessToken) }), 400, "invalid_request");
  });

  it("DELETE /auth/api-keys revokes every key of the caller at once, one event each, and leaves other users' alone", async () => {
    const user = await register();
    const other = await register();
    const mine = [await createKey(user, { name: "a" }), await createKey(user, { name: "b" })];
    const tokens = await Promise.all(mine.map(keyToken));
    const theirs = await createKey(other);
    expect((await revoke(user)).status).toBe(204);
    for (const key of mine) await expectError(await exchange(key), 401, "invalid_client");
    for (const token of tokens) await expectError(await me(token), 401, "invalid_token");
    expect((await exchange(theirs)).status).toBe(200);
    const details = await allRows<{ detail: string }>("select detail from auth_events where type = 'api_key_revoked' and user_id = ? order by detail", user.userId);
    expect(details.map((e) => e.detail)).toEqual(mine.map((k) => k.id).sort());
    expect((await revoke(user)).status).toBe(204);
  });

  it("an admin revokes every key of a user (DELETE /admin/users/:id/api-keys), recorded with the admin as actor", async () => {
    const user = await register();
    const key = await createKey(user);
    const res = await admin("DELETE", `/admin/users/${user.userId}/api-keys`, undefined, CALLER);
    expect(res.status).toBe(204);
    await expectError(await exchange(key), 401, "invalid_client");
    const events = await allRows("select detail, actor_id, ip from auth_events where type = 'api_key_revoked' and user_id = ?", user.userId);
    expect(events).toEqual([{ detail: key.id, actor_id: "admin-api-token", ip: "192.0.2.61" }]);
  });
});

describe("who may manage keys", () => {
  it("only a user's live session: a key's own token is 401 on every key endpoint and every security-changing one", async () => {
    const user = await register();
    const key = await createKey(user);
    const token = await keyToken(key);
    const attempts: [string, RequestInit][] = [
      ["/auth/api-keys", { method: "POST", headers: { ...json, ...bearer(token) }, body: JSON.stringify({ name: "child" }) }],
      ["/auth/api-keys", { headers: bearer(token) }],
      [`/auth/api-keys/${key.id}`, { method: "DELETE", headers: bearer(token) }],
      ["/auth/api-keys", { method: "DELETE", headers: bearer(token) }],
      ["/auth/sessions", { headers: bearer(token) }],
      ["/auth/logout-all", { method: "POST", headers: bearer(token) }],
      ["/auth/password", { method: "POST", headers: { ...json, ...bearer(token) }, body: JSON.stringify({ current_password: "x", new_password: "a brand new passphrase" }) }],
      ["/auth/email/change", { method: "POST", headers: { ...json, ...bearer(token) }, body: JSON.stringify({ new_email: "new@example.com", current_password: "x" }) }],
    ];
    for (const [path, init] of attempts) {
      const res = await call(path, init);
      const body = await expectError(res, 401, "invalid_token");
      expect(body.error_description, path).toMatch(/API key/);
      expect(res.headers.get("WWW-Authenticate"), path).toMatch(/^Bearer realm="auth", error="invalid_token"/);
    }
    expect((await exchange(key)).status).toBe(200);
  });

  it("an admin's key with users:manage cannot use the admin API (401), though its scope names the permission", async () => {
    const admin = await adminUser();
    const token = await keyToken(await createKey(admin, { name: "admin bot", scopes: ["users:manage"] }));
    const victim = await register();
    await expectError(await call(`/admin/users/${victim.userId}/disable`, { method: "POST", headers: bearer(token) }), 401, "invalid_token");
    expect((await login(victim.email)).accessToken).toBeTruthy();
  });

  it("without a token: 401 with the bare Bearer challenge", async () => {
    const res = await call("/auth/api-keys");
    await expectError(res, 401, "invalid_token");
    expect(res.headers.get("WWW-Authenticate")).toBe('Bearer realm="auth"');
  });
});

describe("the key's secret never shows again", () => {
  it("not in any later answer, D1 row, event or console line of the whole flow", async () => {
    const lines: string[] = [];
    const capture = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
    vi.spyOn(console, "log").mockImplementation(capture);
    vi.spyOn(console, "error").mockImplementation(capture);
    vi.spyOn(console, "warn").mockImplementation(capture);
    const user = await register();
    const key = await createKey(user);
    const later: Response[] = [
      await keys(user),
      await exchange(key),
      await exchange(key, { post: true }),
      await exchange({ id: key.id, key: `${key.key.slice(0, -1)}A` }),
      await exchange(key, { scope: "users:manage" }),
      await call("/oauth/introspect", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams({ token: key.key }) }),
      await call("/auth/me", { headers: bearer(key.key) }),
      await revoke(user, key.id),
      await exchange(key),
    ];
    const texts = await Promise.all(later.map(async (res) => `${res.status} ${[...res.headers].join(" ")} ${await res.text()}`));
    const rows = await allRows("select * from auth_events where user_id = ?", user.userId);
    const keyRows = await allRows("select * from api_keys where id = ?", key.id);
    const secret = key.key.slice(5);
    for (const text of [...texts, ...lines, JSON.stringify(rows), JSON.stringify(keyRows)]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(encodeURIComponent(secret));
    }
    expect(lines.some((line) => line.includes("auth.api_key_created"))).toBe(true);
    expect(lines.some((line) => line.includes("auth.api_key_revoked"))).toBe(true);
  });
});

describe("the owner's account", () => {
  it("a disabled user's keys are refused (exchange and tokens) until the user is enabled again", async () => {
    const user = await register();
    const key = await createKey(user);
    const token = await keyToken(key);
    expect((await admin("POST", `/admin/users/${user.userId}/disable`)).status).toBe(204);
    await expectError(await exchange(key), 401, "invalid_client");
    await expectError(await me(token), 401, "invalid_token");
    expect((await admin("POST", `/admin/users/${user.userId}/enable`)).status).toBe(204);
    // The disable's cutoff covers the second it was written in (a token from that second is refused too).
    await nextSecond();
    expect((await me(await keyToken(key))).status).toBe(200);
  });

  it("a password change does not revoke keys; the tokens issued before it are cut off, the next exchange works", async () => {
    const user = await register();
    const key = await createKey(user);
    const before = await keyToken(key);
    const res = await call("/auth/password", {
      method: "POST",
      headers: { ...json, ...bearer(user.accessToken) },
      body: JSON.stringify({ current_password: "correct horse battery staple", new_password: "a brand new passphrase" }),
    });
    expect(res.status).toBe(204);
    await expectError(await me(before), 401, "invalid_token");
    await nextSecond();
    expect((await me(await keyToken(key))).status).toBe(200);
  });
});
