import { describe, expect, it } from "vitest";
import { hashPassword } from "../src/passwords";
import { allRows, databaseOf } from "./databases";
import { call, decodePayload, eventsOf, familyRow, login, PASSWORD, postJson, REFRESH_TOKEN_SHAPE, refreshCookieOf, register, sidOf, uniqueEmail } from "./helpers";
import { storageDigest } from "./hardening";
import { storedHash } from "./stored-hash";

async function errorOf(res: Response) {
  return (await res.json()) as { error: string; error_description: string };
}

describe("POST /auth/register", () => {
  it("creates the account, returns the token response and sets the refresh cookie", async () => {
    const email = uniqueEmail();
    const res = await postJson("/auth/register", { email: `  ${email.toUpperCase()} `, password: PASSWORD });
    expect(res.status).toBe(201);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const body = (await res.json()) as Record<string, any>;
    expect(body).toMatchObject({ user: { email, role: "user", roles: ["user"], email_verified: false }, token_type: "Bearer" });
    // Seconds left from now: 899 when a second boundary falls between issuing and answering.
    expect(body.expires_in).toBeGreaterThanOrEqual(899);
    expect(body.expires_in).toBeLessThanOrEqual(900);
    expect(Object.keys(body.user).sort()).toEqual(["created_at", "email", "email_verified", "id", "role", "roles"]);
    const claims = decodePayload(body.access_token);
    expect(claims).toMatchObject({ sub: body.user.id, client_id: "web", roles: ["user"], scope: "profile:read", role: "user", email_verified: false, exp: (claims.iat as number) + 900 });
    const sid = claims.sid as string;
    const refreshToken = refreshCookieOf(res)!;
    expect(refreshToken).toMatch(REFRESH_TOKEN_SHAPE);
    expect(refreshToken.startsWith(`${sid}.0.`)).toBe(true);
    // The family starts at generation 0 and D1 holds only the token's hash.
    expect(await familyRow(sid)).toMatchObject({ user_id: body.user.id, client_id: "web", generation: 0, token_hash: await storedHash(refreshToken), revoked_at: null });
    expect((await eventsOf(sid)).map((e) => e.type)).toEqual(["register"]);
    const cookie = res.headers.getSetCookie()[0]!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\//);
    const maxAge = Number(/Max-Age=(\d+)/.exec(cookie)![1]);
    expect(maxAge).toBeGreaterThan(604_000);
    expect(maxAge).toBeLessThanOrEqual(604_800);
  });

  it("refuses a common password with 400 naming the field, and stores nothing", async () => {
    const before = await storageDigest();
    for (const password of ["Password", "iloveyou", " qwertyuiop "]) {
      const res = await postJson("/auth/register", { email: uniqueEmail(), password });
      expect(res.status).toBe(400);
      const error = await errorOf(res);
      expect(error.error).toBe("invalid_request");
      expect(error.error_description).toMatch(/^password:.*common/);
    }
    expect(await storageDigest()).toEqual(before);
  });

  it("refuses a duplicate email (any case) with 409 email_taken", async () => {
    const user = await register();
    const res = await postJson("/auth/register", { email: user.email.toUpperCase(), password: PASSWORD });
    expect(res.status).toBe(409);
    expect(await errorOf(res)).toMatchObject({ error: "email_taken" });
  });

  it.each([
    [{ password: PASSWORD }, "email"],
    [{ email: "not-an-email", password: PASSWORD }, "email"],
    [{ email: "a@example.com" }, "password"],
    [{ email: "a@example.com", password: "short" }, "password"],
    [{ email: "a@example.com", password: 12345678 }, "password"],
    [{ email: "a@example.com", password: "x".repeat(257) }, "password"],
  ])("400 invalid_request naming the field for %j", async (body, field) => {
    const res = await postJson("/auth/register", body);
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.error).toBe("invalid_request");
    expect(error.error_description.startsWith(`${field}:`)).toBe(true);
  });

  it("400 on malformed JSON and on a non-JSON content type", async () => {
    const bad = await call("/auth/register", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{" });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).error).toBe("invalid_request");
    const text = await call("/auth/register", { method: "POST", headers: { "Content-Type": "text/plain" }, body: "{}" });
    expect(text.status).toBe(400);
  });

  it("413 for an oversized body, before any hashing or write", async () => {
    const before = await storageDigest();
    const res = await postJson("/auth/register", { email: uniqueEmail(), password: "x".repeat(20_000) });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).error).toBe("invalid_request");
    expect(await storageDigest()).toEqual(before);
  });
});

describe("POST /auth/login", () => {
  it("logs in and starts a new session (family) per login", async () => {
    const user = await register();
    const res = await postJson("/auth/login", { email: user.email, password: PASSWORD });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; user: { id: string } };
    expect(body.user.id).toBe(user.userId);
    const sid = sidOf(body.access_token);
    expect(sid).not.toBe(user.sid);
    expect(refreshCookieOf(res)!.startsWith(`${sid}.0.`)).toBe(true);
    const families = await databaseOf(user.userId).prepare("select id from sessions where user_id = ? order by created_at").bind(user.userId).all<{ id: string }>();
    expect(families.results.map((f) => f.id).sort()).toEqual([user.sid, sid].sort());
    expect((await eventsOf(sid)).map((e) => e.type)).toEqual(["login"]);
  });

  it("answers wrong password and unknown email identically", async () => {
    const user = await register();
    // This test's attempts only: other tests in the file record failed logins too.
    const from = { "CF-Connecting-IP": `198.51.100.${Math.floor(Math.random() * 250) + 1}-${crypto.randomUUID()}` };
    const wrong = await postJson("/auth/login", { email: user.email, password: "wrong password!" }, from);
    const unknown = await postJson("/auth/login", { email: uniqueEmail("nobody"), password: "wrong password!" }, from);
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.headers.get("Set-Cookie")).toBeNull();
    expect(await wrong.json()).toEqual(await unknown.json());
    const events = await allRows<{ detail: string; user_id: string | null }>("select detail, user_id from auth_events where type = 'login_failed' and ip = ?", from["CF-Connecting-IP"]);
    expect(events.sort((a, b) => a.detail.localeCompare(b.detail))).toEqual([{ detail: "bad_password", user_id: user.userId }, { detail: "unknown_email", user_id: null }]);
  });

  it("400 naming the field for an invalid body", async () => {
    const res = await postJson("/auth/login", { email: "a@example.com" });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).error_description).toMatch(/^password:/);
  });

  it("upgrades a hash with old parameters on the next successful login", async () => {
    const user = await register();
    const weak = await hashPassword(PASSWORD, { iterations: 1000, rounds: 1 });
    await databaseOf(user.userId).prepare("update users set password_hash = ? where id = ?").bind(weak, user.userId).run();
    await login(user.email);
    const row = await databaseOf(user.userId).prepare("select password_hash from users where id = ?").bind(user.userId).first<{ password_hash: string }>();
    expect(row!.password_hash).toMatch(/^\$pbkdf2c-sha256\$v=1\$i=100000,r=6\$/);
    await login(user.email);
  });

  it("refuses a disabled account like a wrong password", async () => {
    const user = await register();
    await databaseOf(user.userId).prepare("update users set disabled_at = ? where id = ?").bind(Date.now(), user.userId).run();
    const before = await storageDigest();
    const res = await postJson("/auth/login", { email: user.email, password: PASSWORD });
    expect(res.status).toBe(401);
    expect(res.headers.get("Set-Cookie")).toBeNull();
    expect((await errorOf(res)).error).toBe("invalid_credentials");
    expect(await storageDigest()).toEqual(before);
  });
});

describe("caching", () => {
  it("every /auth/* and /admin/* answer, success or error, is Cache-Control: no-store", async () => {
    const user = await register();
    const answers = [
      await call("/auth/me", { headers: { Authorization: `Bearer ${user.accessToken}` } }),
      await call("/auth/me"),
      await call("/auth/sessions", { headers: { Authorization: "Bearer nope" } }),
      await postJson("/auth/login", { email: user.email, password: "wrong password" }),
      await postJson("/auth/logout", {}),
      await call("/auth/nope"),
      await call("/admin/users/x/disable", { method: "POST" }),
    ];
    expect(answers.map((res) => res.status)).toEqual([200, 401, 401, 401, 204, 404, 401]);
    for (const res of answers) expect(res.headers.get("Cache-Control")).toBe("no-store");
  });
});

describe("routing", () => {
  it("405 with Allow for a wrong method on a known path, 404 for unknown paths", async () => {
    const wrong = await call("/auth/login");
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get("Allow")).toContain("POST");
    expect((await errorOf(wrong)).error).toBe("invalid_request");
    const refresh = await call("/auth/refresh");
    expect(refresh.status).toBe(405);
    const missing = await call("/nope");
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).error).toBe("invalid_request");
  });
});
