/**
 * What standard OAuth client libraries and resource servers rely on beyond the happy path: the Bearer
 * scheme in any case, public clients that send their client_id with HTTP Basic, empty parameters
 * treated as omitted, introspection that never calls an expired token active, and the headers a
 * browser client may read of an error.
 */
import { env, exports } from "cloudflare:workers";
import * as oauth from "oauth4webapi";
import * as openid from "openid-client";
import { importPKCS8, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { createKey, exchange } from "./api-keys";
import { expectError } from "./hardening";
import { call, decodePayload, familyRow, me, register, SPA_ORIGIN } from "./helpers";

const form = { "Content-Type": "application/x-www-form-urlencoded" };
const basic = (id: string, secret = "") => `Basic ${btoa(`${id}:${secret}`)}`;

describe("OAuth interoperability", () => {
  it("the Bearer scheme name is case-insensitive (RFC 9110 section 11.1)", async () => {
    const user = await register();
    for (const scheme of ["Bearer", "bearer", "BEARER"]) {
      expect((await call("/oauth/userinfo", { headers: { Authorization: `${scheme} ${user.accessToken}` } })).status, scheme).toBe(200);
    }
  });

  it("a public client may send its client_id as the Basic user name with no password, at the token and revocation endpoints", async () => {
    const user = await register();
    const refreshed = await call("/oauth/token", {
      method: "POST",
      headers: { ...form, Authorization: basic("web") },
      body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: user.refreshToken }),
    });
    expect(refreshed.status).toBe(200);
    const { refresh_token } = (await refreshed.json()) as { refresh_token: string };
    const revoked = await call("/oauth/revoke", { method: "POST", headers: { ...form, Authorization: basic("web") }, body: new URLSearchParams({ token: refresh_token }) });
    expect(revoked.status).toBe(200);
    expect((await familyRow(user.sid)).revoked_reason).toBe("session_revoked");
  });

  it("a Basic client that is unknown, or sends a secret as a public client, is 401 invalid_client with a Basic challenge (RFC 6749 section 5.2)", async () => {
    const user = await register();
    for (const authorization of [basic("no-such-client"), basic("web", "a secret")]) {
      for (const [path, body] of [
        ["/oauth/token", { grant_type: "refresh_token", refresh_token: user.refreshToken }],
        ["/oauth/revoke", { token: user.refreshToken }],
      ] as const) {
        const res = await call(path, { method: "POST", headers: { ...form, Authorization: authorization }, body: new URLSearchParams(body) });
        await expectError(res, 401, "invalid_client");
        expect(res.headers.get("WWW-Authenticate"), path).toMatch(/^Basic realm=/);
      }
    }
    expect((await familyRow(user.sid)).revoked_at).toBeNull();
  });

  it("another Authorization scheme (a Bearer token a shared HTTP client adds to every request) is not client authentication: ignored", async () => {
    const user = await register();
    const bearerToo = { ...form, Authorization: `Bearer ${user.accessToken}` };
    const refreshed = await call("/oauth/token", { method: "POST", headers: bearerToo, body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: user.refreshToken, client_id: "web" }) });
    expect(refreshed.status).toBe(200);
    const { refresh_token } = (await refreshed.json()) as { refresh_token: string };
    expect((await call("/oauth/revoke", { method: "POST", headers: bearerToo, body: new URLSearchParams({ token: refresh_token, client_id: "web" }) })).status).toBe(200);
    expect((await familyRow(user.sid)).revoked_reason).toBe("session_revoked");
  });

  it("a parameter sent without a value is treated as omitted (RFC 6749 section 3.1)", async () => {
    const user = await register();
    const key = await createKey(user);
    const all = (await (await exchange(key)).json()) as { scope: string };
    const withEmptyScope = await exchange(key, { scope: "" });
    expect(withEmptyScope.status).toBe(200);
    const body = (await withEmptyScope.json()) as { access_token: string; scope: string };
    expect(body.scope).toBe(all.scope);
    expect(decodePayload(body.access_token).scope).toBe(all.scope);
    const params = { grant_type: "refresh_token", refresh_token: user.refreshToken, client_id: "web", client_secret: "" };
    const refreshed = await call("/oauth/token", { method: "POST", headers: form, body: new URLSearchParams(params) });
    expect(refreshed.status).toBe(200);
    const { refresh_token } = (await refreshed.json()) as { refresh_token: string };
    const revoked = await call("/oauth/revoke", { method: "POST", headers: form, body: new URLSearchParams({ token: refresh_token, client_id: "web", token_type_hint: "" }) });
    expect(revoked.status).toBe(200);
  });

  it("introspection calls a token whose exp has passed inactive, even within the clock leeway (RFC 7662)", async () => {
    const user = await register();
    const claims = decodePayload(user.accessToken);
    const { kid } = JSON.parse(atob(user.accessToken.split(".")[0]!.replace(/-/g, "+").replace(/_/g, "/"))) as { kid: string };
    const now = Math.floor(Date.now() / 1000);
    const sign = (exp: number) =>
      importPKCS8(env.SIGNING_KEY!, "RS256").then((key) =>
        new SignJWT({ ...claims, iat: exp - 900, exp, jti: crypto.randomUUID() }).setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid }).sign(key),
      );
    const issuer = new URL(env.ISSUER ?? "http://localhost:8787");
    const options = { [oauth.customFetch]: (url: string, init?: RequestInit) => exports.default.fetch(new Request(url, init)), [oauth.allowInsecureRequests]: true };
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...options, algorithm: "oauth2" }));
    const client = { client_id: "billing-api" };
    const introspect = async (token: string) =>
      (await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, oauth.ClientSecretBasic(env.TEST_RESOURCE_SERVER_SECRET), token, options))).active;
    expect(await introspect(await sign(now + 60))).toBe(true);
    expect(await introspect(await sign(now - 30))).toBe(false);
  });

  it("a browser client can read an error's WWW-Authenticate and Retry-After (CORS exposes them)", async () => {
    const res = await call("/oauth/userinfo", { headers: { Origin: SPA_ORIGIN, Authorization: "Bearer not.a.token" } });
    expect(res.status).toBe(401);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(SPA_ORIGIN);
    expect(res.headers.get("Access-Control-Expose-Headers")?.split(/\s*,\s*/)).toEqual(expect.arrayContaining(["WWW-Authenticate", "Retry-After"]));
  });

  it("an unsupported grant_type is named in no answer (its text is the caller's)", async () => {
    const res = await call("/oauth/token", { method: "POST", headers: form, body: new URLSearchParams({ grant_type: 'password" <script>', client_id: "web" }) });
    await expectError(res.clone(), 400, "unsupported_grant_type");
    expect(((await res.json()) as { error_description: string }).error_description).not.toContain("script");
  });

  it("an API key revokes the access tokens it was issued at the revocation endpoint (RFC 7009, client_secret_post or Basic), and no one else's", async () => {
    const user = await register();
    const [key, other] = [await createKey(user, { name: "ci" }), await createKey(user, { name: "other" })];
    const issuer = new URL(env.ISSUER ?? "http://localhost:8787");
    const fetchHere = (url: string, init?: RequestInit) => exports.default.fetch(new Request(url, init));
    const configFor = (k: { id: string; key: string }, auth: "post" | "basic") =>
      openid.discovery(issuer, k.id, k.key, auth === "post" ? openid.ClientSecretPost(k.key) : openid.ClientSecretBasic(k.key), { [openid.customFetch]: fetchHere, execute: [openid.allowInsecureRequests] });
    for (const auth of ["post", "basic"] as const) {
      const config = await configFor(key, auth);
      const { access_token } = await openid.clientCredentialsGrant(config);
      expect((await me(access_token)).status).toBe(200);
      // Another key, the user's session token and a refresh token: 200, and nothing changes.
      const otherToken = (await openid.clientCredentialsGrant(await configFor(other, auth))).access_token;
      for (const token of [otherToken, user.accessToken, user.refreshToken]) await openid.tokenRevocation(config, token);
      expect((await me(otherToken)).status).toBe(200);
      expect((await me(user.accessToken)).status).toBe(200);
      expect((await familyRow(user.sid)).revoked_at).toBeNull();
      await openid.tokenRevocation(config, access_token);
      expect((await me(access_token)).status).toBe(401);
    }
    // A wrong key is 401 invalid_client, with the challenge.
    const wrong = await call("/oauth/revoke", { method: "POST", headers: { ...form, Authorization: basic(key.id, `${key.key.slice(0, -1)}x`) }, body: new URLSearchParams({ token: user.accessToken }) });
    await expectError(wrong, 401, "invalid_client");
    expect(wrong.headers.get("WWW-Authenticate")).toMatch(/^Basic /);
  });
});
