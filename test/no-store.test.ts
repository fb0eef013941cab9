/**
 * No cache may keep an answer of the API (security review, finding 9; RFC 6749 sections 5.1 and
 * 5.2): every answer of /auth/*, /oauth/* and /admin/*, success or error, whatever produced it
 * (a route, a validator, a limiter, the Origin guard, a storage failure, a bad setting), carries
 * `Cache-Control: no-store`.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { bearer, call, callWith, json, login, PASSWORD, postJson, register, SPA_ORIGIN, uniqueEmail, withCookie, type Login } from "./helpers";
import { wrapKv } from "./hardening";

let user: Login;
beforeAll(async () => {
  user = await register();
});

const form = (fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams(fields),
});
const resourceServer = () => ({ Authorization: `Basic ${btoa(`billing-api:${env.TEST_RESOURCE_SERVER_SECRET}`)}` });
const admin = (path: string, token = "test-admin-token") => callWith({ ADMIN_API_TOKEN: "test-admin-token" }, path, { method: "POST", headers: bearer(token) });
const strictly = (limiter: string, path: string, init: RequestInit) => callWith({ [limiter]: env.TEST_STRICT_LIMITER }, path, init);
/** The limiter's fourth request from one network in a minute is refused. */
async function fourthFrom(limiter: string, path: string, init: () => RequestInit): Promise<Response> {
  const ip = `192.0.2.${Math.floor(Math.random() * 250) + 1}-${crypto.randomUUID().slice(0, 8)}`;
  const withIp = () => ({ ...init(), headers: { ...(init().headers as Record<string, string>), "CF-Connecting-IP": ip } });
  for (let i = 0; i < 3; i++) await strictly(limiter, path, withIp());
  return strictly(limiter, path, withIp());
}

/** [what, the request, the status it must have]: the status proves the case is the one named. */
const cases: [string, () => Promise<Response>, number][] = [
  ["register 201", () => postJson("/auth/register", { email: uniqueEmail(), password: PASSWORD }), 201],
  ["register 409 email_taken", () => postJson("/auth/register", { email: user.email, password: PASSWORD }), 409],
  ["register 400 invalid_request (common password)", () => postJson("/auth/register", { email: uniqueEmail(), password: "password123" }), 400],
  ["register 413 (oversized body)", () => postJson("/auth/register", { email: uniqueEmail(), password: "x".repeat(10_000) }), 413],
  ["register 429 rate_limited", () => fourthFrom("REGISTER_RATE_LIMITER", "/auth/register", () => ({ method: "POST", headers: json, body: "{}" })), 429],
  ["login 200", () => postJson("/auth/login", { email: user.email, password: PASSWORD }), 200],
  ["login 401 invalid_credentials", () => postJson("/auth/login", { email: user.email, password: "wrong password" }), 401],
  ["login 400 invalid_request", () => postJson("/auth/login", { email: user.email }), 400],
  ["login 405 (GET)", () => call("/auth/login"), 405],
  ["refresh 200 (body token)", async () => postJson("/auth/refresh", { refresh_token: (await login(user.email)).refreshToken }), 200],
  ["refresh 401 invalid_grant", () => postJson("/auth/refresh", { refresh_token: "not-a-token" }), 401],
  ["refresh 403 invalid_origin", async () => call("/auth/refresh", { method: "POST", headers: { ...withCookie((await login(user.email)).refreshToken), Origin: "https://evil.example" }, body: "{}" }), 403],
  ["refresh 400 (two refresh cookies)", () => call("/auth/refresh", { method: "POST", headers: { ...withCookie("a"), Cookie: "__Host-refresh_token=a; __Host-refresh_token=b" }, body: "{}" }), 400],
  ["CORS preflight 204", () => call("/auth/refresh", { method: "OPTIONS", headers: { Origin: SPA_ORIGIN, "Access-Control-Request-Method": "POST" } }), 204],
  ["me 200", () => call("/auth/me", { headers: bearer(user.accessToken) }), 200],
  ["me 401 without a token", () => call("/auth/me"), 401],
  ["me 401 invalid_token", () => call("/auth/me", { headers: bearer("a.b.c") }), 401],
  ["me 503 (KV down)", () => callWith({ REVOCATIONS: wrapKv("down").kv }, "/auth/me", { headers: bearer(user.accessToken) }), 503],
  ["login 500 (an unusable signing key)", () => callWith({ SIGNING_KEY: "not a key" }, "/auth/login", { method: "POST", headers: json, body: JSON.stringify({ email: user.email, password: PASSWORD }) }), 500],
  ["me 500 (an invalid setting)", () => callWith({ ACCESS_TOKEN_TTL_SECONDS: "soon" }, "/auth/me", { headers: bearer(user.accessToken) }), 500],
  ["sessions 200", () => call("/auth/sessions", { headers: bearer(user.accessToken) }), 200],
  ["session delete 404", () => call(`/auth/sessions/${crypto.randomUUID()}`, { method: "DELETE", headers: bearer(user.accessToken) }), 404],
  ["session delete 204", async () => call(`/auth/sessions/${(await login(user.email)).sid}`, { method: "DELETE", headers: bearer(user.accessToken) }), 204],
  ["password 400 invalid_request", () => call("/auth/password", { method: "POST", headers: { ...json, ...bearer(user.accessToken) }, body: JSON.stringify({ current_password: PASSWORD, new_password: "short" }) }), 400],
  ["password 401 invalid_credentials", () => call("/auth/password", { method: "POST", headers: { ...json, ...bearer(user.accessToken) }, body: JSON.stringify({ current_password: "wrong password", new_password: "a brand new passphrase" }) }), 401],
  ["password 204", async () => {
    const other = await register();
    return call("/auth/password", { method: "POST", headers: { ...json, ...bearer(other.accessToken) }, body: JSON.stringify({ current_password: PASSWORD, new_password: "a brand new passphrase" }) });
  }, 204],
  ["logout 204", async () => call("/auth/logout", { method: "POST", headers: bearer((await login(user.email)).accessToken) }), 204],
  ["logout-all 204", async () => call("/auth/logout-all", { method: "POST", headers: bearer((await register()).accessToken) }), 204],
  ["unknown /auth path 404", () => call("/auth/nope"), 404],
  ["token 200 (refresh grant)", async () => call("/oauth/token", form({ grant_type: "refresh_token", refresh_token: (await login(user.email)).refreshToken, client_id: "web" })), 200],
  ["token 400 invalid_grant", () => call("/oauth/token", form({ grant_type: "refresh_token", refresh_token: "nope", client_id: "web" })), 400],
  ["token 401 invalid_client", () => call("/oauth/token", form({ grant_type: "refresh_token", refresh_token: "nope", client_id: "nobody" })), 401],
  ["token 400 unsupported_grant_type", () => call("/oauth/token", form({ grant_type: "password", client_id: "web" })), 400],
  ["token 405 (GET)", () => call("/oauth/token"), 405],
  ["revoke 200", () => call("/oauth/revoke", form({ token: "whatever", client_id: "web" })), 200],
  ["introspect 200", () => call("/oauth/introspect", form({ token: user.accessToken }, resourceServer())), 200],
  ["introspect 401 invalid_client", () => call("/oauth/introspect", form({ token: user.accessToken }, { Authorization: "Basic Zm9vOmJhcg==" })), 401],
  ["userinfo 200", () => call("/oauth/userinfo", { headers: bearer(user.accessToken) }), 200],
  ["userinfo 401", () => call("/oauth/userinfo"), 401],
  ["admin disable 204", async () => admin(`/admin/users/${(await register()).userId}/disable`), 204],
  ["admin 401 (wrong admin token)", () => admin(`/admin/users/${crypto.randomUUID()}/disable`, "wrong"), 401],
  ["admin 401 (no admin token configured, no access token)", () => call(`/admin/users/${crypto.randomUUID()}/disable`, { method: "POST" }), 401],
];

describe("Cache-Control: no-store on every answer of the API", () => {
  it.each(cases)("%s: no-store", async (_name, send, status) => {
    const res = await send();
    expect(res.status, await res.clone().text()).toBe(status);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
  });
});
