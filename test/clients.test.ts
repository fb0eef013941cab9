/** OAuth clients: the default "web" client, the configured ones (OAUTH_CLIENTS), and their origins. */
import { describe, expect, it } from "vitest";
import { allRows } from "./databases";
import { call, COOKIE, decodePayload, postJson, refreshCookieOf, register, SPA_ORIGIN, uniqueEmail } from "./helpers";

const PASSWORD = "correct horse battery staple";
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe("client_id on register, login and refresh", () => {
  it("a session started by a configured client remembers it: token claim, session list, refresh", async () => {
    const email = uniqueEmail("ios");
    const res = await postJson("/auth/register", { email, password: PASSWORD, client_id: "ios-app" });
    expect(res.status).toBe(201);
    const { access_token } = (await res.json()) as { access_token: string };
    expect(decodePayload(access_token)).toMatchObject({ client_id: "ios-app" });
    const sessions = (await (await call("/auth/sessions", { headers: bearer(access_token) })).json()) as { sessions: { client_id: string }[] };
    expect(sessions.sessions).toMatchObject([{ client_id: "ios-app", current: true }]);
    const refreshed = await postJson("/auth/refresh", { refresh_token: refreshCookieOf(res), client_id: "ios-app" });
    expect(refreshed.status).toBe(200);
    expect(decodePayload(((await refreshed.json()) as { access_token: string }).access_token)).toMatchObject({ client_id: "ios-app" });
  });

  it("naming no client is the default client, exactly as before", async () => {
    const user = await register();
    expect(decodePayload(user.accessToken)).toMatchObject({ client_id: "web" });
    const login = await postJson("/auth/login", { email: user.email, password: PASSWORD });
    expect(decodePayload(((await login.json()) as { access_token: string }).access_token)).toMatchObject({ client_id: "web" });
  });

  it("an unknown client_id is 401 invalid_client and changes nothing", async () => {
    const email = uniqueEmail("unknown-client");
    const registered = await postJson("/auth/register", { email, password: PASSWORD, client_id: "evil" });
    expect([registered.status, ((await registered.json()) as { error: string }).error]).toEqual([401, "invalid_client"]);
    expect(await allRows("select id from users where email = ?", email)).toEqual([]);
    const user = await register();
    const login = await postJson("/auth/login", { email: user.email, password: PASSWORD, client_id: "evil" });
    expect(login.status).toBe(401);
    const refresh = await postJson("/auth/refresh", { refresh_token: user.refreshToken, client_id: "evil" });
    expect([refresh.status, ((await refresh.json()) as { error: string }).error]).toEqual([401, "invalid_client"]);
    expect((await postJson("/auth/refresh", { refresh_token: user.refreshToken })).status).toBe(200);
  });

  it("a family refreshed under another client's id is invalid_grant and is not revoked", async () => {
    const user = await register();
    const refresh = await postJson("/auth/refresh", { refresh_token: user.refreshToken, client_id: "ios-app" });
    expect([refresh.status, ((await refresh.json()) as { error: string }).error]).toEqual([401, "invalid_grant"]);
    expect((await postJson("/auth/refresh", { refresh_token: user.refreshToken, client_id: "web" })).status).toBe(200);
  });
});

describe("client origins", () => {
  const cookieRefresh = (token: string, origin: string) =>
    call("/auth/refresh", { method: "POST", headers: { Cookie: `${COOKIE}=${token}`, Origin: origin, "Content-Type": "application/json" }, body: "{}" });

  it("a configured browser client's origin may use the cookie and gets CORS; ALLOWED_ORIGINS keeps working", async () => {
    const user = await register();
    const fromAdminSpa = await cookieRefresh(user.refreshToken, "http://localhost:5174");
    expect(fromAdminSpa.status).toBe(200);
    expect(fromAdminSpa.headers.get("Access-Control-Allow-Origin")).toBe("http://localhost:5174");
    expect((await cookieRefresh(refreshCookieOf(fromAdminSpa)!, SPA_ORIGIN)).status).toBe(200);
    expect((await cookieRefresh(user.refreshToken, "http://localhost:5175")).status).toBe(403);
  });

  it("the token endpoint answers CORS to an allowed origin, and refuses a cookie from a foreign one", async () => {
    const user = await register();
    const form = (origin: string, cookie?: string) =>
      call("/oauth/token", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: origin, ...(cookie ? { Cookie: `${COOKIE}=${cookie}` } : {}) },
        body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: user.refreshToken, client_id: "web" }),
      });
    const foreign = await form("https://evil.example", user.refreshToken);
    expect([foreign.status, ((await foreign.json()) as { error: string }).error]).toEqual([403, "invalid_origin"]);
    const allowed = await form(SPA_ORIGIN);
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe(SPA_ORIGIN);
  });
});
