/**
 * Introspection (RFC 7662) for resource servers that must see a logout at once, and OIDC UserInfo,
 * through oauth4webapi and openid-client.
 */
import { env, exports } from "cloudflare:workers";
import * as oauth from "oauth4webapi";
import * as openid from "openid-client";
import { beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair, importPKCS8, SignJWT } from "jose";
import { call, callWith, decodePayload, login, register, SPA_ORIGIN } from "./helpers";

const ISSUER = new URL(env.ISSUER ?? "http://localhost:8787");
const workerFetch = (url: string, init?: RequestInit) => exports.default.fetch(new Request(url, init));
const options = { [oauth.customFetch]: workerFetch, [oauth.allowInsecureRequests]: true };
const billing: oauth.Client = { client_id: "billing-api" };
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

let as: oauth.AuthorizationServer;
beforeAll(async () => {
  as = await oauth.processDiscoveryResponse(ISSUER, await oauth.discoveryRequest(ISSUER, { ...options, algorithm: "oauth2" }));
});

const introspect = async (token: string, auth = oauth.ClientSecretBasic(env.TEST_RESOURCE_SERVER_SECRET)) =>
  oauth.processIntrospectionResponse(as, billing, await oauth.introspectionRequest(as, billing, auth, token, options));

describe("introspection endpoint (RFC 7662)", () => {
  it("answers active with the token's claims for a live access token (client_secret_basic and client_secret_post)", async () => {
    const user = await register();
    for (const auth of [oauth.ClientSecretBasic(env.TEST_RESOURCE_SERVER_SECRET), oauth.ClientSecretPost(env.TEST_RESOURCE_SERVER_SECRET)]) {
      expect(await introspect(user.accessToken, auth)).toMatchObject({ active: true, sub: user.userId, client_id: "web", token_type: "Bearer", iss: as.issuer });
    }
  });

  it("sees a logout at once: the family is checked in D1, not only in KV", async () => {
    const user = await register();
    // KV that never hears of the revocation stands for a location KV has not reached yet.
    const staleKv = { ...env.REVOCATIONS, put: async () => undefined, get: env.REVOCATIONS.get.bind(env.REVOCATIONS) } as unknown as KVNamespace;
    const logout = await callWith({ REVOCATIONS: staleKv }, "/auth/logout", { method: "POST", headers: bearer(user.accessToken) });
    expect(logout.status).toBe(204);
    expect((await callWith({ REVOCATIONS: staleKv }, "/auth/me", { headers: bearer(user.accessToken) })).status).toBe(200);
    expect(await introspect(user.accessToken)).toEqual({ active: false });
  });

  it("answers only {active: false} for revoked, cut-off, disabled-user, expired, foreign and malformed tokens", async () => {
    const revoked = await register();
    await call("/auth/logout-all", { method: "POST", headers: bearer(revoked.accessToken) });
    const disabled = await register();
    await callWith({ ADMIN_API_TOKEN: "test-admin-token" }, `/admin/users/${disabled.userId}/disable`, { method: "POST", headers: bearer("test-admin-token") });
    const revokedAlone = await register();
    await oauth.revocationRequest(as, { client_id: "web" }, oauth.None(), revokedAlone.accessToken, options);
    const [header, payload, signature] = revokedAlone.accessToken.split(".");
    const live = await register();
    const claims = decodePayload(live.accessToken);
    const { kid } = JSON.parse(atob(header!.replace(/-/g, "+").replace(/_/g, "/")));
    const signWith = async (key: CryptoKey, overrides: Record<string, unknown>) =>
      new SignJWT({ ...claims, ...overrides }).setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid }).sign(key);
    const ourKey = await importPKCS8(env.SIGNING_KEY!, "RS256");
    const expired = await signWith(ourKey, { iat: (claims.iat as number) - 2000, exp: (claims.exp as number) - 2000 });
    const foreign = await signWith((await generateKeyPair("RS256")).privateKey, {});
    expect(await introspect(await signWith(ourKey, {}))).toMatchObject({ active: true });
    const refused = [revoked.accessToken, disabled.accessToken, revokedAlone.accessToken, expired, foreign, `${header}.${payload}x.${signature}`, "garbage", revokedAlone.refreshToken];
    for (const token of refused) {
      expect(await introspect(token)).toEqual({ active: false });
    }
  });

  it("refuses callers without valid resource-server credentials (401 invalid_client, Basic challenge) and answers no CORS", async () => {
    const user = await register();
    const attempts = [
      {},
      { Authorization: `Basic ${btoa(`billing-api:${"x".repeat(40)}`)}` },
      { Authorization: `Basic ${btoa(`nobody:${env.TEST_RESOURCE_SERVER_SECRET}`)}` },
      { Authorization: "Basic !!!" },
      bearer(user.accessToken),
    ];
    for (const headers of attempts) {
      const res = await workerFetch(`${ISSUER.origin}/oauth/introspect`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: SPA_ORIGIN, ...headers },
        body: new URLSearchParams({ token: user.accessToken }),
      });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(await res.json()).toMatchObject({ error: "invalid_client" });
      expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
    }
  });

  it("is rate limited per resource server", async () => {
    const user = await register();
    const statuses = [];
    for (let i = 0; i < 4; i++) {
      const res = await callWith({ INTROSPECTION_RATE_LIMITER: env.TEST_STRICT_LIMITER }, "/oauth/introspect", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded", Authorization: `Basic ${btoa(`billing-api:${env.TEST_RESOURCE_SERVER_SECRET}`)}` },
        body: new URLSearchParams({ token: user.accessToken }),
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe("UserInfo (OIDC Core 5.3)", () => {
  it("answers sub at the top level with email and email_verified; openid-client's fetchUserInfo succeeds", async () => {
    const user = await register();
    const config = await openid.discovery(ISSUER, "web", undefined, openid.None(), { [openid.customFetch]: workerFetch, execute: [openid.allowInsecureRequests] });
    const info = await openid.fetchUserInfo(config, user.accessToken, user.userId);
    expect(info).toMatchObject({ sub: user.userId, email: user.email, email_verified: false });
    const post = await call("/oauth/userinfo", { method: "POST", headers: bearer(user.accessToken) });
    expect(await post.json()).toMatchObject({ sub: user.userId });
  });

  it("refuses a missing or revoked token with RFC 6750 WWW-Authenticate", async () => {
    const none = await call("/oauth/userinfo");
    expect(none.status).toBe(401);
    expect(none.headers.get("WWW-Authenticate")).toBe('Bearer realm="auth"');
    const user = await login((await register()).email);
    await call("/auth/logout", { method: "POST", headers: bearer(user.accessToken) });
    const revoked = await call("/oauth/userinfo", { headers: bearer(user.accessToken) });
    expect(revoked.status).toBe(401);
    expect(revoked.headers.get("WWW-Authenticate")).toMatch(/^Bearer realm="auth", error="invalid_token"/);
  });
});
