import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { hashPassword } from "../src/passwords";
import { call, decodePayload, login, PASSWORD, postJson, refreshCookieOf, register, uniqueEmail } from "./helpers";

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
    expect(body).toMatchObject({ user: { email, role: "user" }, token_type: "Bearer", expires_in: 900 });
    expect(body.user.password_hash).toBeUndefined();
    expect(decodePayload(body.access_token)).toMatchObject({ sub: body.user.id });
    const cookie = res.headers.getSetCookie()[0]!;
    expect(cookie).toMatch(/^__Host-refresh_token=[A-Za-z0-9_-]{43};/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Secure/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\//);
    const maxAge = Number(/Max-Age=(\d+)/.exec(cookie)![1]);
    expect(maxAge).toBeGreaterThan(604_000);
    expect(maxAge).toBeLessThanOrEqual(604_800);
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
    const before = await env.DB.prepare("select count(*) as n from users").first<{ n: number }>();
    const res = await postJson("/auth/register", { email: uniqueEmail(), password: "x".repeat(20_000) });
    expect(res.status).toBe(413);
    expect((await errorOf(res)).error).toBe("invalid_request");
    const after = await env.DB.prepare("select count(*) as n from users").first<{ n: number }>();
    expect(after!.n).toBe(before!.n);
  });
});

describe("POST /auth/login", () => {
  it("logs in and starts a new session (family) per login", async () => {
    const user = await register();
    const res = await postJson("/auth/login", { email: user.email, password: PASSWORD });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; user: { id: string } };
    expect(body.user.id).toBe(user.userId);
    expect(refreshCookieOf(res)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(decodePayload(body.access_token).sid).not.toBe(decodePayload(user.accessToken).sid);
    const { n } = (await env.DB.prepare("select count(*) as n from sessions where user_id = ?").bind(user.userId).first<{ n: number }>())!;
    expect(n).toBe(2);
  });

  it("answers wrong password and unknown email identically", async () => {
    const user = await register();
    const wrong = await postJson("/auth/login", { email: user.email, password: "wrong password!" });
    const unknown = await postJson("/auth/login", { email: uniqueEmail("nobody"), password: "wrong password!" });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.headers.get("Set-Cookie")).toBeNull();
    expect(await wrong.json()).toEqual(await unknown.json());
    const events = await env.DB.prepare("select type, detail from auth_events where type = 'login_failed'").all();
    expect(events.results.length).toBeGreaterThanOrEqual(2);
  });

  it("400 naming the field for an invalid body", async () => {
    const res = await postJson("/auth/login", { email: "a@example.com" });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).error_description).toMatch(/^password:/);
  });

  it("upgrades a hash with old parameters on the next successful login", async () => {
    const user = await register();
    const weak = await hashPassword(PASSWORD, { iterations: 1000, rounds: 1 });
    await env.DB.prepare("update users set password_hash = ? where id = ?").bind(weak, user.userId).run();
    await login(user.email);
    const row = await env.DB.prepare("select password_hash from users where id = ?").bind(user.userId).first<{ password_hash: string }>();
    expect(row!.password_hash).toMatch(/^\$pbkdf2c-sha256\$v=1\$i=100000,r=6\$/);
    await login(user.email);
  });

  it("refuses a disabled account like a wrong password", async () => {
    const user = await register();
    await env.DB.prepare("update users set disabled_at = ? where id = ?").bind(Date.now(), user.userId).run();
    const res = await postJson("/auth/login", { email: user.email, password: PASSWORD });
    expect(res.status).toBe(401);
    expect((await errorOf(res)).error).toBe("invalid_credentials");
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
