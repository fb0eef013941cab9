import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, callWith, decodePayload, login, me, PASSWORD, postJson, refreshCookieOf, refreshWithCookie, register, uniqueEmail } from "./helpers";

const bearer = (token: string) => ({ Authorization: `Bearer ${token}`, "Content-Type": "application/json" });
const uniqueIp = () => `203.0.113.${Math.floor(Math.random() * 250) + 1}-${crypto.randomUUID().slice(0, 8)}`;

describe("rate limits (Workers Rate Limiting binding)", () => {
  const strict = (name: string) => ({ [name]: env.TEST_STRICT_LIMITER });
  const json = (body: unknown, ip: string): RequestInit => ({
    method: "POST",
    headers: { "Content-Type": "application/json", "CF-Connecting-IP": ip },
    body: JSON.stringify(body),
  });

  it("registrations per IP: 429 rate_limited with Retry-After, other IPs unaffected", async () => {
    const ip = uniqueIp();
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await callWith(strict("REGISTER_RATE_LIMITER"), "/auth/register", json({ email: uniqueEmail(), password: "x" }, ip))).status);
    }
    expect(statuses).toEqual([400, 400, 400, 429]);
    const limited = await callWith(strict("REGISTER_RATE_LIMITER"), "/auth/register", json({ email: uniqueEmail(), password: "x" }, ip));
    expect(limited.headers.get("Retry-After")).toBe("60");
    expect(await limited.json()).toMatchObject({ error: "rate_limited" });
    expect((await callWith(strict("REGISTER_RATE_LIMITER"), "/auth/register", json({}, uniqueIp()))).status).toBe(400);
  });

  it("refreshes per IP", async () => {
    const ip = uniqueIp();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await callWith(strict("REFRESH_RATE_LIMITER"), "/auth/refresh", json({ refresh_token: "x" }, ip))).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it("every other auth request per IP (each request counts against exactly one per-IP limiter)", async () => {
    const ip = uniqueIp();
    const get = (path: string) => callWith(strict("AUTH_RATE_LIMITER"), path, { headers: { "CF-Connecting-IP": ip } });
    const statuses = [(await get("/auth/me")).status, (await get("/auth/sessions")).status, (await get("/auth/me")).status];
    expect(statuses).toEqual([401, 401, 401]);
    expect((await get("/auth/me")).status).toBe(429);
    // login, register and refresh have their own per-IP limiters and are not counted twice.
    expect((await callWith(strict("AUTH_RATE_LIMITER"), "/auth/refresh", json({ refresh_token: "x" }, ip))).status).toBe(401);
  });

  it("failed logins per email+IP lock that pair, even with the right password, but not the user elsewhere", async () => {
    const user = await register();
    const ip = uniqueIp();
    const attempt = (password: string, from = ip) => callWith(strict("FAILED_LOGIN_RATE_LIMITER"), "/auth/login", json({ email: user.email, password }, from));
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await attempt("wrong password")).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const locked = await attempt(PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.headers.get("Retry-After")).toBe("60");
    expect((await attempt(PASSWORD, uniqueIp())).status).toBe(200);
  });

  it("successful logins alone never lock a user out", async () => {
    const user = await register();
    const ip = uniqueIp();
    for (let i = 0; i < 5; i++) {
      expect((await callWith(strict("FAILED_LOGIN_RATE_LIMITER"), "/auth/login", json({ email: user.email, password: PASSWORD }, ip))).status).toBe(200);
    }
  });

  it("login attempts per IP", async () => {
    const ip = uniqueIp();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await callWith(strict("LOGIN_RATE_LIMITER"), "/auth/login", json({ email: "a@b.co" }, ip))).status);
    expect(statuses).toEqual([400, 400, 400, 429]);
  });
});

describe("POST /auth/password", () => {
  const changePassword = (accessToken: string, current_password: string, new_password: string) =>
    call("/auth/password", { method: "POST", headers: bearer(accessToken), body: JSON.stringify({ current_password, new_password }) });

  it("changes the password, revokes every other family and cuts off older access tokens", async () => {
    const user = await register();
    const other = await login(user.email);
    const res = await changePassword(user.accessToken, PASSWORD, "a brand new passphrase");
    expect(res.status).toBe(204);
    expect((await refreshWithCookie(other.refreshToken)).status).toBe(401);
    expect((await me(other.accessToken)).status).toBe(401);
    // The caller's own session survives: its refresh token gives a fresh access token.
    const refreshed = await refreshWithCookie(user.refreshToken);
    expect(refreshed.status).toBe(200);
    expect((await me(((await refreshed.json()) as { access_token: string }).access_token)).status).toBe(200);
    expect((await postJson("/auth/login", { email: user.email, password: PASSWORD })).status).toBe(401);
    expect((await postJson("/auth/login", { email: user.email, password: "a brand new passphrase" })).status).toBe(200);
  });

  it("refuses a wrong current password (401) and a weak new one (400) without changing anything", async () => {
    const user = await register();
    const other = await login(user.email);
    const wrong = await changePassword(user.accessToken, "nope nope", "a brand new passphrase");
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: "invalid_credentials" });
    const weak = await changePassword(user.accessToken, PASSWORD, "short");
    expect(weak.status).toBe(400);
    expect((await refreshWithCookie(other.refreshToken)).status).toBe(200);
    await login(user.email);
  });
});

describe("disabled users", () => {
  const admin = (path: string, token = "test-admin-token") =>
    callWith({ ADMIN_API_TOKEN: "test-admin-token" }, path, { method: "POST", headers: { Authorization: `Bearer ${token}` } });

  it("cannot log in or refresh, and their live access tokens are refused", async () => {
    const user = await register();
    const child = refreshCookieOf(await refreshWithCookie(user.refreshToken))!;
    expect((await me(user.accessToken)).status).toBe(200); // now in /auth/me's per-isolate cache
    expect((await admin(`/admin/users/${user.userId}/disable`)).status).toBe(204);
    expect((await me(user.accessToken)).status).toBe(401);
    expect((await call("/auth/sessions", { headers: bearer(user.accessToken) })).status).toBe(401);
    expect((await refreshWithCookie(child)).status).toBe(401);
    expect((await postJson("/auth/login", { email: user.email, password: PASSWORD })).status).toBe(401);
    expect((await admin(`/admin/users/${user.userId}/enable`)).status).toBe(204);
    const again = await login(user.email);
    expect((await me(again.accessToken)).status).toBe(200);
    expect(decodePayload(again.accessToken).sub).toBe(user.userId);
  });

  it("a user disabled directly in D1 is refused by /auth/me and refresh", async () => {
    const user = await register();
    await env.DB.prepare("update users set disabled_at = ? where id = ?").bind(Date.now(), user.userId).run();
    expect((await me(user.accessToken)).status).toBe(401);
    expect((await refreshWithCookie(user.refreshToken)).status).toBe(401);
  });

  it("admin endpoints need the admin token and do not exist without one", async () => {
    const user = await register();
    expect((await admin(`/admin/users/${user.userId}/disable`, "wrong")).status).toBe(401);
    expect((await call(`/admin/users/${user.userId}/disable`, { method: "POST", headers: { Authorization: "Bearer x" } })).status).toBe(404);
    expect((await me(user.accessToken)).status).toBe(200);
  });
});
