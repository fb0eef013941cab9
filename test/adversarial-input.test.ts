/**
 * Adversarial request input: SQL and oversized strings in credentials, non-UTF-8 bodies, duplicate
 * refresh cookies (refused, never guessed), login answers that do not reveal whether an email
 * has an account (same status, same body, same cost), and Origin headers that only look like an
 * allowed origin (security review, finding 8).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { BASE, call, callWith, COOKIE, familyRow, json, me, PASSWORD, postJson as post, REFRESH_TOKEN_SHAPE, refreshCookieOf, refreshWithCookie, register, SPA_ORIGIN, uniqueEmail, type Login } from "./helpers";
import { expectError, storageDigest } from "./hardening";

let user: Login;
beforeAll(async () => {
  user = await register();
});

describe("SQL and oversized strings in credentials", () => {
  const sql = ["' OR '1'='1' --", "x'; DROP TABLE users; --", "%", "_", "\" OR \"\"=\"", "') UNION SELECT password_hash FROM users --"];

  it.each(sql)("login with %j as email or password is a plain 401 invalid_credentials", async (attack) => {
    const before = await storageDigest();
    await expectError(await post("/auth/login", { email: attack, password: attack }), 401, "invalid_credentials");
    await expectError(await post("/auth/login", { email: user.email, password: attack }), 401, "invalid_credentials");
    await expectError(await post("/auth/login", { email: `${user.email}${attack}`, password: PASSWORD }), 401, "invalid_credentials");
    expect(await storageDigest()).toEqual(before);
  });

  it.each(sql.filter((attack) => attack.includes(" ")))("register with %j in the email is 400 invalid_request naming the field", async (attack) => {
    const before = await storageDigest();
    const { error_description } = await expectError(await post("/auth/register", { email: `a${attack}@example.com`, password: PASSWORD }), 400, "invalid_request");
    expect(error_description).toMatch(/^email/);
    expect(await storageDigest()).toEqual(before);
  });

  it("stores an SQL-looking password verbatim: it logs in with exactly that password", async () => {
    const email = uniqueEmail("sqlpw");
    const password = "'); DELETE FROM sessions; --";
    expect((await post("/auth/register", { email, password })).status).toBe(201);
    expect((await post("/auth/login", { email, password })).status).toBe(200);
    await expectError(await post("/auth/login", { email, password: "'); DELETE FROM sessions; -" }), 401, "invalid_credentials");
  });

  it.each([
    ["/auth/register", "email"],
    ["/auth/register", "password"],
    ["/auth/login", "email"],
    ["/auth/login", "password"],
    ["/auth/refresh", "refresh_token"],
  ])("an 8 KB %s %s is refused with 413 before anything is stored", async (path, field) => {
    const before = await storageDigest();
    const body = { email: uniqueEmail(), password: PASSWORD, [field]: "x".repeat(8 * 1024) };
    await expectError(await post(path, body), 413, "invalid_request");
    expect(await storageDigest()).toEqual(before);
  });

  it.each([
    ["/auth/register", "email", 400, "invalid_request"],
    ["/auth/register", "password", 400, "invalid_request"],
    ["/auth/login", "email", 400, "invalid_request"],
    ["/auth/login", "password", 400, "invalid_request"],
  ])("a 2 KB %s %s (under the body limit) is %i %s naming the field", async (path, field, status, code) => {
    const body = { email: `${"a".repeat(field === "email" ? 2048 : 1)}@example.com`, password: field === "password" ? "p".repeat(2048) : PASSWORD };
    const { error_description } = await expectError(await post(path, body), status, code);
    expect(error_description).toMatch(new RegExp(`^${field}`));
  });

  it("non-UTF-8 and NUL bytes in a JSON body are a client error, never a 500", async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('{"email":"a'), 0xff, 0xfe, 0xc3, 0x28, ...new TextEncoder().encode('@example.com","password":"x\\u0000y"}')]);
    for (const path of ["/auth/login", "/auth/register", "/auth/refresh"]) {
      const res = await call(path, { method: "POST", headers: json, body: bytes });
      expect([400, 401]).toContain(res.status);
      await expectError(res, res.status, res.status === 400 ? "invalid_request" : path === "/auth/refresh" ? "invalid_grant" : "invalid_credentials");
    }
  });
});

describe("two refresh cookies in one Cookie header are refused, not guessed", () => {
  async function twoSessions() {
    const a = await register();
    const b = await register();
    return { a: a.refreshToken, b: b.refreshToken };
  }
  const cookieHeaders = (cookie: string) => ({ Cookie: cookie, Origin: SPA_ORIGIN, "Content-Type": "application/json" });

  it.each([
    ["two different live tokens", (t: { a: string; b: string }) => `${COOKIE}=${t.a}; ${COOKIE}=${t.b}`],
    ["the same token twice", (t: { a: string; b: string }) => `${COOKIE}=${t.a}; ${COOKIE}=${t.a}`],
    ["a live token after a bogus one", (t: { a: string; b: string }) => `${COOKIE}=bogus; other=1; ${COOKIE}=${t.a}`],
    ["a live token before an empty one, no space", (t: { a: string; b: string }) => `${COOKIE}=${t.a};${COOKIE}=`],
  ])("%s: refresh and logout answer 400 and change nothing", async (_name, cookie) => {
    const tokens = await twoSessions();
    const before = await storageDigest();
    for (const path of ["/auth/refresh", "/auth/logout"]) {
      const res = await call(path, { method: "POST", headers: cookieHeaders(cookie(tokens)), body: "{}" });
      await expectError(res, 400, "invalid_request");
      expect(res.headers.getSetCookie().filter((c) => c.startsWith(`${COOKIE}=`) && !c.startsWith(`${COOKIE}=;`))).toEqual([]);
    }
    expect(await storageDigest()).toEqual(before);
    // Neither token was consumed or revoked by the refused requests.
    for (const token of [tokens.a, tokens.b]) expect(refreshCookieOf(await refreshWithCookie(token))).toMatch(REFRESH_TOKEN_SHAPE);
  });
});

describe("login does not reveal whether an email has an account", () => {
  const unknown = () => post("/auth/login", { email: uniqueEmail("nobody"), password: "wrong password 1" });
  const wrong = () => post("/auth/login", { email: user.email, password: "wrong password 1" });

  it("same status, same body, same headers", async () => {
    const [a, b] = [await unknown(), await wrong()];
    expect(a.status).toBe(401);
    expect(b.status).toBe(a.status);
    expect(await b.json()).toEqual(await a.json());
    const names = (res: Response) => [...res.headers.keys()].filter((h) => h !== "date").sort();
    expect(names(b)).toEqual(names(a));
  });

  it("same cost: both pay one full password hash (median timings within 2x)", async () => {
    const time = async (attempt: () => Promise<Response>, status = 401) => {
      const start = performance.now();
      const res = await attempt();
      await res.arrayBuffer();
      expect(res.status).toBe(status);
      return performance.now() - start;
    };
    await time(unknown); // warm-up: the dummy hash is computed once per isolate
    await time(wrong);
    const samples: { unknown: number[]; wrong: number[] } = { unknown: [], wrong: [] };
    for (let i = 0; i < 7; i++) {
      samples.unknown.push(await time(unknown));
      samples.wrong.push(await time(wrong));
    }
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
    const ratio = median(samples.unknown) / median(samples.wrong);
    expect(ratio, JSON.stringify(samples)).toBeGreaterThan(0.5);
    expect(ratio, JSON.stringify(samples)).toBeLessThan(2);
    // The hash really ran in both cases: a login refused before hashing costs a few ms.
    const cheap = median(await Promise.all([1, 2, 3].map(() => time(() => post("/auth/login", { email: "", password: "x" }), 400))));
    expect(median(samples.unknown), JSON.stringify({ cheap, samples })).toBeGreaterThan(cheap * 2);
    expect(median(samples.wrong), JSON.stringify({ cheap, samples })).toBeGreaterThan(cheap * 2);
  });

  it("the access token of the account is unaffected by all those failures", async () => {
    expect((await me(user.accessToken)).status).toBe(200);
  });
});

describe("Origin look-alikes of the service's own origin and of an allowed one (exact origins only)", () => {
  // BASE is the origin of the test requests' URL: the service's own origin here.
  const lookAlikes = [
    "https:",
    "https://",
    "https://auth.example.tes",
    `${BASE}/`,
    `${BASE}/auth`,
    `${BASE}/auth/refresh`,
    `${BASE}.evil.example`,
    BASE.replace("https:", "http:"),
    "null",
    `${SPA_ORIGIN}/`,
    `${SPA_ORIGIN}/auth`,
    SPA_ORIGIN.slice(0, -1),
    "http://localhost",
  ];
  let session: Login;
  beforeAll(async () => {
    session = await register();
  });
  const withOrigin = (origin: string): RequestInit => ({
    method: "POST",
    headers: { Cookie: `${COOKIE}=${session.refreshToken}`, Origin: origin, ...json },
    body: "{}",
  });

  it.each(lookAlikes)("Origin %j is not the service's own origin nor an allowed one: 403 without CORS, nothing changes", async (origin) => {
    const row = await familyRow(session.sid);
    for (const path of ["/auth/refresh", "/auth/logout"]) {
      const res = await call(path, withOrigin(origin));
      await expectError(res, 403, "invalid_origin");
      // No echo: without Access-Control-Allow-Origin a browser shows the answer to no script.
      expect(res.headers.get("Access-Control-Allow-Origin"), path).toBeNull();
    }
    const preflight = await call("/auth/refresh", { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" } });
    expect(preflight.headers.get("Access-Control-Allow-Origin")).toBeNull();
    expect(await familyRow(session.sid)).toEqual(row);
  });

  it("the admin API too: a request that carries the cookie from a look-alike origin is 403 and disables nobody", async () => {
    const target = await register();
    const disable = (origin: string) =>
      callWith({ ADMIN_API_TOKEN: "test-admin-token" }, `/admin/users/${target.userId}/disable`, {
        method: "POST",
        headers: { Cookie: `${COOKIE}=${session.refreshToken}`, Origin: origin, Authorization: "Bearer test-admin-token" },
      });
    for (const origin of lookAlikes.slice(0, 4)) await expectError(await disable(origin), 403, "invalid_origin");
    expect((await me(target.accessToken)).status).toBe(200);
    expect((await disable(BASE)).status).toBe(204);
    await expectError(await me(target.accessToken), 401, "invalid_token");
  });

  it("the exact origins are allowed, with CORS echoed (control)", async () => {
    for (const origin of [BASE, SPA_ORIGIN]) {
      const res = await call("/auth/refresh", withOrigin(origin));
      expect(res.status, origin).toBe(200);
      expect(res.headers.get("Access-Control-Allow-Origin")).toBe(origin);
      session = { ...session, refreshToken: refreshCookieOf(res)! };
    }
    expect((await me(session.accessToken)).status).toBe(200);
  });
});
