/**
 * Fault injection: D1 and KV fail (down, writes only, or a batch that commits and then loses its
 * response). The service must fail closed: 503 `temporarily_unavailable` with Retry-After, never a
 * token issued on partial state, never an access token accepted without its revocation check, and
 * every family left in a state that the client's retry recovers from.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { hashRefreshToken } from "../src/sessions/refresh-token";
import { decodePayload, PASSWORD, refreshCookieOf, uniqueEmail, type Login } from "./helpers";
import {
  bearer,
  callWorker,
  expectError,
  expectUnavailable,
  faultyD1,
  faultyKv,
  getMe as me,
  json,
  loginUser as login,
  refreshByCookie as refreshWithCookie,
  registerUser as register,
  storageDigest,
  withCookie,
  type Bindings,
} from "./hardening";
const sidOf = (u: Login) => decodePayload(u.accessToken).sid as string;

interface Endpoint {
  name: string;
  path: (u: Login) => string;
  init: (u: Login) => RequestInit;
  usesKv?: boolean;
}

const endpoints: Endpoint[] = [
  { name: "register", path: () => "/auth/register", init: () => ({ method: "POST", headers: json, body: JSON.stringify({ email: uniqueEmail("fault"), password: PASSWORD }) }) },
  { name: "login", path: () => "/auth/login", init: (u) => ({ method: "POST", headers: json, body: JSON.stringify({ email: u.email, password: PASSWORD }) }) },
  { name: "refresh (cookie)", path: () => "/auth/refresh", init: (u) => ({ method: "POST", headers: withCookie(u.refreshToken), body: "{}" }) },
  { name: "refresh (body)", path: () => "/auth/refresh", init: (u) => ({ method: "POST", headers: json, body: JSON.stringify({ refresh_token: u.refreshToken }) }) },
  { name: "logout (cookie)", path: () => "/auth/logout", init: (u) => ({ method: "POST", headers: withCookie(u.refreshToken), body: "{}" }) },
  { name: "logout (bearer)", path: () => "/auth/logout", init: (u) => ({ method: "POST", headers: bearer(u.accessToken) }), usesKv: true },
  { name: "logout-all", path: () => "/auth/logout-all", init: (u) => ({ method: "POST", headers: bearer(u.accessToken) }), usesKv: true },
  {
    name: "password change",
    path: () => "/auth/password",
    init: (u) => ({ method: "POST", headers: { ...json, ...bearer(u.accessToken) }, body: JSON.stringify({ current_password: PASSWORD, new_password: "a brand new passphrase" }) }),
    usesKv: true,
  },
  { name: "me", path: () => "/auth/me", init: (u) => ({ headers: bearer(u.accessToken) }), usesKv: true },
  { name: "sessions list", path: () => "/auth/sessions", init: (u) => ({ headers: bearer(u.accessToken) }), usesKv: true },
  { name: "session delete", path: (u) => `/auth/sessions/${sidOf(u)}`, init: (u) => ({ method: "DELETE", headers: bearer(u.accessToken) }), usesKv: true },
];

const send = (e: Endpoint, u: Login, overrides: Partial<Bindings>) => callWorker(e.path(u), e.init(u), overrides);

/** The user's session is untouched: the access token works and the refresh token still rotates. */
async function expectSessionIntact(u: Login) {
  expect((await me(u.accessToken)).status).toBe(200);
  const list = await callWorker("/auth/sessions", { headers: bearer(u.accessToken) });
  expect(((await list.json()) as { sessions: { id: string }[] }).sessions.map((s) => s.id)).toContain(sidOf(u));
}

describe("D1 down", () => {
  let user: Login;
  beforeAll(async () => {
    user = await register();
  });

  it.each(endpoints)("$name answers 503 temporarily_unavailable, no token, no change", async (endpoint) => {
    const { db, calls } = faultyD1(env.DB, "down");
    const before = await storageDigest();
    await expectUnavailable(await send(endpoint, user, { DB: db }));
    expect(calls()).toBeGreaterThan(0);
    expect(await storageDigest()).toEqual(before);
  });

  it("leaves every session usable once D1 is back", async () => {
    await expectSessionIntact(user);
    expect((await refreshWithCookie(user.refreshToken)).status).toBe(200);
  });
});

describe("KV down", () => {
  it.each(endpoints.filter((e) => e.usesKv))("$name answers 503: no access token is accepted unchecked", async (endpoint) => {
    const u = await register();
    const { kv, calls } = faultyKv(env.REVOCATIONS, "down");
    const before = await storageDigest();
    const res = await send(endpoint, u, { REVOCATIONS: kv });
    expect(calls()).toBeGreaterThan(0);
    await expectUnavailable(res);
    // logout revokes the family in D1 first (fail closed) and then fails on the deny-list write.
    if (endpoint.name !== "logout (bearer)") {
      expect(await storageDigest()).toEqual(before);
      await expectSessionIntact(u);
    }
  });

  it("never accepts a revoked access token because the revocation check failed", async () => {
    const victim = await register();
    const logout = await callWorker("/auth/logout", { method: "POST", headers: bearer(victim.accessToken) });
    expect(logout.status).toBe(204);
    const { kv } = faultyKv(env.REVOCATIONS, "down");
    await expectUnavailable(await callWorker("/auth/me", { headers: bearer(victim.accessToken) }, { REVOCATIONS: kv }));
    await expectError(await me(victim.accessToken), 401, "invalid_token");
  });

  it("a logout whose deny-list write failed is completed by the retry", async () => {
    const u = await register();
    const { kv } = faultyKv(env.REVOCATIONS, "writes");
    const init = () => ({ method: "POST", headers: { ...withCookie(u.refreshToken), ...bearer(u.accessToken) }, body: "{}" });
    await expectUnavailable(await callWorker("/auth/logout", init(), { REVOCATIONS: kv }));
    expect((await callWorker("/auth/logout", init())).status).toBe(204);
    await expectError(await me(u.accessToken), 401, "invalid_token");
    await expectError(await refreshWithCookie(u.refreshToken), 401, "invalid_grant");
  });

  it("reuse detected while KV cannot be written revokes the family in D1, and a retry completes the deny-list", async () => {
    const u = await register();
    const child = refreshCookieOf(await refreshWithCookie(u.refreshToken))!;
    const grandchildRes = await refreshWithCookie(child);
    const grandchild = refreshCookieOf(grandchildRes)!;
    const liveAccess = ((await grandchildRes.json()) as { access_token: string }).access_token;
    const { kv, calls } = faultyKv(env.REVOCATIONS, "writes");
    await expectUnavailable(await callWorker("/auth/refresh", { method: "POST", headers: withCookie(u.refreshToken), body: "{}" }, { REVOCATIONS: kv }));
    expect(calls()).toBeGreaterThan(0);
    // The deny-list write failed: the family's access token is still unrevoked in KV...
    expect((await me(liveAccess)).status).toBe(200);
    // ...until any token of the revoked family is presented again with KV healthy.
    await expectError(await refreshWithCookie(grandchild), 401, "invalid_grant");
    await expectError(await me(liveAccess), 401, "invalid_token");
  });

  it("a session delete whose deny-list write failed is completed by the retry (204 again, not 404)", async () => {
    const u = await register();
    const other = await login(u.email);
    const del = (overrides: Partial<Bindings> = {}) =>
      callWorker(`/auth/sessions/${sidOf(u)}`, { method: "DELETE", headers: bearer(other.accessToken) }, overrides);
    const { kv } = faultyKv(env.REVOCATIONS, "writes");
    await expectUnavailable(await del({ REVOCATIONS: kv }));
    expect((await del()).status).toBe(204);
    await expectError(await me(u.accessToken), 401, "invalid_token");
  });
});

describe("D1 writes fail (reads work)", () => {
  it.each(["register", "login", "refresh (cookie)", "refresh (body)", "logout-all", "session delete", "password change"])(
    "%s answers 503, issues no token and changes nothing",
    async (name) => {
      const u = await register();
      const endpoint = endpoints.find((e) => e.name === name)!;
      const { db, calls } = faultyD1(env.DB, "writes");
      const before = await storageDigest();
      await expectUnavailable(await send(endpoint, u, { DB: db }));
      expect(calls()).toBeGreaterThan(0);
      expect(await storageDigest()).toEqual(before);
      await expectSessionIntact(u);
    },
  );

  it("a rotation that failed leaves the family with a usable token: the same token refreshes afterwards", async () => {
    const u = await register();
    const { db } = faultyD1(env.DB, "writes");
    for (let i = 0; i < 2; i++) {
      await expectUnavailable(await callWorker("/auth/refresh", { method: "POST", headers: withCookie(u.refreshToken), body: "{}" }, { DB: db }));
    }
    const res = await refreshWithCookie(u.refreshToken);
    expect(res.status).toBe(200);
    expect((await refreshWithCookie(refreshCookieOf(res)!)).status).toBe(200);
  });
});

describe("lost response: the batch commits, then the error reaches the worker", () => {
  async function familyRows(sessionId: string) {
    const tokens = await env.DB.prepare("select token_hash, used_at from refresh_tokens where session_id = ? order by created_at")
      .bind(sessionId)
      .all<{ token_hash: string; used_at: number | null }>();
    const session = await env.DB.prepare("select revoked_at from sessions where id = ?").bind(sessionId).first<{ revoked_at: number | null }>();
    return { tokens: tokens.results, revoked: session!.revoked_at !== null };
  }

  it("refresh: the client's retry gets the committed child through the grace path, family intact", async () => {
    const u = await register();
    const { db, calls } = faultyD1(env.DB, "lost-response");
    await expectUnavailable(await callWorker("/auth/refresh", { method: "POST", headers: withCookie(u.refreshToken), body: "{}" }, { DB: db }));
    expect(calls()).toBe(1);
    const committed = await familyRows(sidOf(u));
    expect(committed.tokens).toHaveLength(2);
    expect(committed.tokens[0]!.used_at).not.toBeNull();

    const retry = await refreshWithCookie(u.refreshToken);
    expect(retry.status).toBe(200);
    const child = refreshCookieOf(retry)!;
    // The very child the lost batch created (only its hash is stored), not a second one.
    expect(await hashRefreshToken(child)).toBe(committed.tokens[1]!.token_hash);
    const again = await refreshWithCookie(u.refreshToken);
    expect(refreshCookieOf(again)).toBe(child);
    const access = ((await again.json()) as { access_token: string }).access_token;
    expect((await me(access)).status).toBe(200);
    expect(await familyRows(sidOf(u))).toMatchObject({ tokens: { length: 2 }, revoked: false });

    expect((await refreshWithCookie(child)).status).toBe(200);
    expect(await familyRows(sidOf(u))).toMatchObject({ tokens: { length: 3 }, revoked: false });
  });

  it("non-browser refresh: the retry with the same body token gets the same child", async () => {
    const u = await register();
    const { db } = faultyD1(env.DB, "lost-response");
    const init = () => ({ method: "POST", headers: json, body: JSON.stringify({ refresh_token: u.refreshToken }) });
    await expectUnavailable(await callWorker("/auth/refresh", init(), { DB: db }));
    const first = (await (await callWorker("/auth/refresh", init())).json()) as { refresh_token: string };
    const second = (await (await callWorker("/auth/refresh", init())).json()) as { refresh_token: string };
    expect(first.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(second.refresh_token).toBe(first.refresh_token);
    expect((await familyRows(sidOf(u))).revoked).toBe(false);
  });

  it("register: no token is issued; the retry says email_taken and the password logs in", async () => {
    const email = uniqueEmail("lost");
    const { db } = faultyD1(env.DB, "lost-response");
    const init = () => ({ method: "POST", headers: json, body: JSON.stringify({ email, password: PASSWORD }) });
    await expectUnavailable(await callWorker("/auth/register", init(), { DB: db }));
    await expectError(await callWorker("/auth/register", init()), 409, "email_taken");
    expect((await me((await login(email)).accessToken)).status).toBe(200);
  });

  it("login: no token is issued for the session that was stored", async () => {
    const u = await register();
    const { db } = faultyD1(env.DB, "lost-response");
    const before = (await storageDigest()).sessions as number;
    const res = await callWorker("/auth/login", { method: "POST", headers: json, body: JSON.stringify({ email: u.email, password: PASSWORD }) }, { DB: db });
    await expectUnavailable(res);
    expect((await storageDigest()).sessions).toBe(before + 1);
  });

  it("logout: the retry completes and the refresh token is dead", async () => {
    const u = await register();
    const { db } = faultyD1(env.DB, "lost-response");
    const init = () => ({ method: "POST", headers: { ...withCookie(u.refreshToken), ...bearer(u.accessToken) }, body: "{}" });
    await expectUnavailable(await callWorker("/auth/logout", init(), { DB: db }));
    expect((await callWorker("/auth/logout", init())).status).toBe(204);
    await expectError(await refreshWithCookie(u.refreshToken), 401, "invalid_grant");
    await expectError(await me(u.accessToken), 401, "invalid_token");
  });
});
