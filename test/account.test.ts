/** Rate limits, password change and disabled users. */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { databaseOf } from "./databases";
import { bearer, callWith, eventsOf, familyRow, json, login, me, nextSecond, PASSWORD, postJson, refreshWithCookie, register, rotate, uniqueEmail } from "./helpers";
import { expectError, expectInvalidGrant, storageDigest } from "./hardening";

const uniqueIp = () => `203.0.113.${Math.floor(Math.random() * 250) + 1}-${crypto.randomUUID().slice(0, 8)}`;
const strict = (name: string) => ({ [name]: env.TEST_STRICT_LIMITER });
const post = (body: unknown, ip: string, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { ...json, "CF-Connecting-IP": ip, ...headers },
  body: JSON.stringify(body),
});

describe("rate limits (Workers Rate Limiting binding)", () => {
  it("registrations per IP: 429 rate_limited with Retry-After, other IPs unaffected", async () => {
    const ip = uniqueIp();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await callWith(strict("REGISTER_RATE_LIMITER"), "/auth/register", post({ email: uniqueEmail(), password: "x" }, ip))).status);
    expect(statuses).toEqual([400, 400, 400, 429]);
    const limited = await callWith(strict("REGISTER_RATE_LIMITER"), "/auth/register", post({ email: uniqueEmail(), password: "x" }, ip));
    await expectError(limited.clone(), 429, "rate_limited");
    expect(limited.headers.get("Retry-After")).toBe("60");
    expect((await callWith(strict("REGISTER_RATE_LIMITER"), "/auth/register", post({}, uniqueIp()))).status).toBe(400);
  });

  it("refreshes per IP", async () => {
    const ip = uniqueIp();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await callWith(strict("REFRESH_RATE_LIMITER"), "/auth/refresh", post({ refresh_token: "x" }, ip))).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it("every other auth request per IP (each request counts against exactly one per-IP limiter)", async () => {
    const ip = uniqueIp();
    const get = (path: string) => callWith(strict("AUTH_RATE_LIMITER"), path, { headers: { "CF-Connecting-IP": ip } });
    expect([(await get("/auth/me")).status, (await get("/auth/sessions")).status, (await get("/auth/me")).status]).toEqual([401, 401, 401]);
    expect((await get("/auth/me")).status).toBe(429);
    // login, register and refresh have their own per-IP limiters and are not counted twice.
    expect((await callWith(strict("AUTH_RATE_LIMITER"), "/auth/refresh", post({ refresh_token: "x" }, ip))).status).toBe(401);
  });

  it("IPv6 clients are counted by their /64", async () => {
    const prefix = `2001:db8:${Math.floor(Math.random() * 0xffff).toString(16)}:1`;
    const statuses = [];
    for (let i = 1; i <= 4; i++) statuses.push((await callWith(strict("REFRESH_RATE_LIMITER"), "/auth/refresh", post({ refresh_token: "x" }, `${prefix}::${i}`))).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect((await callWith(strict("REFRESH_RATE_LIMITER"), "/auth/refresh", post({ refresh_token: "x" }, `${prefix.slice(0, -1)}2::1`))).status).toBe(401);
  });

  it("failed logins per email+IP lock that pair, even with the right password, but not the user elsewhere", async () => {
    const user = await register();
    const ip = uniqueIp();
    const attempt = (password: string, from = ip) => callWith(strict("FAILED_LOGIN_RATE_LIMITER"), "/auth/login", post({ email: user.email, password }, from));
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await attempt("wrong password")).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const locked = await attempt(PASSWORD);
    expect(locked.status).toBe(429);
    expect(locked.headers.get("Retry-After")).toBe("60");
    expect((await attempt(PASSWORD, uniqueIp())).status).toBe(200);
  });

  it("login attempts per email, from any network, right password or not", async () => {
    const user = await register();
    const other = await register();
    const attempt = (email: string, password: string) => callWith(strict("LOGIN_EMAIL_RATE_LIMITER"), "/auth/login", post({ email, password }, uniqueIp()));
    const statuses = [(await attempt(user.email, "wrong 1")).status, (await attempt(user.email, "wrong 2")).status, (await attempt(user.email.toUpperCase(), PASSWORD)).status];
    expect(statuses).toEqual([401, 401, 200]);
    await expectError(await attempt(user.email, PASSWORD), 429, "rate_limited");
    expect((await attempt(other.email, PASSWORD)).status).toBe(200);
  });

  it("successful logins alone never lock a user out", async () => {
    const user = await register();
    const ip = uniqueIp();
    for (let i = 0; i < 5; i++) expect((await callWith(strict("FAILED_LOGIN_RATE_LIMITER"), "/auth/login", post({ email: user.email, password: PASSWORD }, ip))).status).toBe(200);
  });

  it("login attempts per IP", async () => {
    const ip = uniqueIp();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await callWith(strict("LOGIN_RATE_LIMITER"), "/auth/login", post({ email: "a@b.co" }, ip))).status);
    expect(statuses).toEqual([400, 400, 400, 429]);
  });
});

describe("POST /auth/password", () => {
  const changePassword = (accessToken: string, current_password: string, new_password: string, overrides = {}, ip = uniqueIp()) =>
    callWith(overrides, "/auth/password", post({ current_password, new_password }, ip, bearer(accessToken)));

  it("changes the password, revokes every other family and cuts off its access tokens; the caller's session goes on", async () => {
    const user = await register();
    const other = await login(user.email);
    expect((await changePassword(user.accessToken, PASSWORD, "a brand new passphrase")).status).toBe(204);
    await expectInvalidGrant(await refreshWithCookie(other.refreshToken));
    await expectError(await me(other.accessToken), 401, "invalid_token");
    expect((await familyRow(other.sid)).revoked_reason).toBe("password_changed");
    // The caller's family and its current access token stay valid.
    expect((await me(user.accessToken)).status).toBe(200);
    expect((await me((await rotate(user.refreshToken)).accessToken)).status).toBe(200);
    expect((await eventsOf(user.sid)).map((e) => e.type)).toEqual(["register", "password_changed"]);
    await expectError(await postJson("/auth/login", { email: user.email, password: PASSWORD }), 401, "invalid_credentials");
    expect((await postJson("/auth/login", { email: user.email, password: "a brand new passphrase" })).status).toBe(200);
  });

  it("refuses a wrong current password (401), a short or common new one (400 naming new_password), changing nothing", async () => {
    const user = await register();
    const other = await login(user.email);
    const before = await storageDigest();
    await expectError(await changePassword(user.accessToken, "nope nope", "a brand new passphrase"), 401, "invalid_credentials");
    for (const weak of ["short", "Password", "iloveyou"]) {
      const { error_description } = await expectError(await changePassword(user.accessToken, PASSWORD, weak), 400, "invalid_request");
      expect(error_description).toMatch(/^new_password:/);
    }
    expect(await storageDigest()).toEqual(before);
    expect((await me(other.accessToken)).status).toBe(200);
    expect((await refreshWithCookie(other.refreshToken)).status).toBe(200);
    await login(user.email);
  });

  it("wrong current passwords count against the login lockout of that email and network", async () => {
    const user = await register();
    const ip = uniqueIp();
    const limiter = strict("FAILED_LOGIN_RATE_LIMITER");
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await changePassword(user.accessToken, "wrong password", "a brand new passphrase", limiter, ip)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    await expectError(await changePassword(user.accessToken, PASSWORD, "a brand new passphrase", limiter, ip), 429, "rate_limited");
    await expectError(await callWith(limiter, "/auth/login", post({ email: user.email, password: PASSWORD }, ip)), 429, "rate_limited");
  });

  it("a pair locked by failed logins cannot change the password, even with the right current one; another network can", async () => {
    const user = await register();
    const ip = uniqueIp();
    const limiter = strict("FAILED_LOGIN_RATE_LIMITER");
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await callWith(limiter, "/auth/login", post({ email: user.email, password: "wrong password" }, ip))).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const before = await storageDigest();
    await expectError(await changePassword(user.accessToken, PASSWORD, "a brand new passphrase", limiter, ip), 429, "rate_limited");
    expect(await storageDigest()).toEqual(before);
    expect((await changePassword(user.accessToken, PASSWORD, "a brand new passphrase", limiter)).status).toBe(204);
  });
});

describe("disabled users", () => {
  const admin = (path: string, token = "test-admin-token") =>
    callWith({ ADMIN_API_TOKEN: "test-admin-token" }, path, { method: "POST", headers: { ...bearer(token), "CF-Connecting-IP": "192.0.2.9", "User-Agent": "admin-cli/1.0" } });
  const userEvents = async (userId: string) =>
    (await databaseOf(userId).prepare("select type, ip, user_agent, detail, actor_id from auth_events where user_id = ? and type like 'user_%' order by id").bind(userId).all()).results;

  it("cannot log in or refresh, and their live access tokens are refused; enabling lets them log in again", async () => {
    const user = await register();
    const child = await rotate(user.refreshToken);
    expect((await me(user.accessToken)).status).toBe(200); // now in /auth/me's per-isolate cache
    expect((await admin(`/admin/users/${user.userId}/disable`)).status).toBe(204);
    for (const token of [user.accessToken, child.accessToken]) await expectError(await me(token), 401, "invalid_token");
    await expectError(await callWith({}, "/auth/sessions", { headers: bearer(user.accessToken) }), 401, "invalid_token");
    await expectInvalidGrant(await refreshWithCookie(child.refreshToken));
    await expectError(await postJson("/auth/login", { email: user.email, password: PASSWORD }), 401, "invalid_credentials");
    expect((await familyRow(user.sid)).revoked_reason).toBe("user_disabled");

    expect((await admin(`/admin/users/${user.userId}/enable`)).status).toBe(204);
    // Old sessions stay revoked; the cutoff covers the second it was written in.
    await expectInvalidGrant(await refreshWithCookie(child.refreshToken));
    await nextSecond();
    const again = await login(user.email);
    expect((await me(again.accessToken)).status).toBe(200);
    expect(again.userId).toBe(user.userId);
    expect(await userEvents(user.userId)).toEqual([
      { type: "user_disabled", ip: "192.0.2.9", user_agent: "admin-cli/1.0", detail: "admin", actor_id: "admin-api-token" },
      { type: "user_enabled", ip: "192.0.2.9", user_agent: "admin-cli/1.0", detail: "admin", actor_id: "admin-api-token" },
    ]);
  });

  it("a user disabled directly in D1 is refused by /auth/me and refresh", async () => {
    const user = await register();
    await databaseOf(user.userId).prepare("update users set disabled_at = ? where id = ?").bind(Date.now(), user.userId).run();
    await expectError(await me(user.accessToken), 401, "invalid_token");
    await expectInvalidGrant(await refreshWithCookie(user.refreshToken));
  });

  it("admin endpoints need the admin token (or an access token granting users:manage) and answer 404 for an unknown user", async () => {
    const user = await register();
    await expectError(await admin(`/admin/users/${user.userId}/disable`, "wrong"), 401, "invalid_token");
    const forbidden = await admin(`/admin/users/${user.userId}/disable`, user.accessToken);
    await expectError(forbidden, 403, "insufficient_scope");
    expect(forbidden.headers.get("WWW-Authenticate")).toBe('Bearer realm="auth", error="insufficient_scope", scope="users:manage"');
    await expectError(await admin(`/admin/users/${crypto.randomUUID()}/disable`), 404, "invalid_request");
    // Without the ADMIN_API_TOKEN secret, that token is no credential at all.
    await expectError(await callWith({}, `/admin/users/${user.userId}/disable`, { method: "POST", headers: bearer("test-admin-token") }), 401, "invalid_token");
    expect((await me(user.accessToken)).status).toBe(200);
  });

});
