/**
 * The standard endpoints, driven by the standard libraries downstream teams use: oauth4webapi and
 * openid-client, with their requests routed to this worker (their `customFetch`).
 */
import { env, exports } from "cloudflare:workers";
import * as oauth from "oauth4webapi";
import * as openid from "openid-client";
import { beforeAll, describe, expect, it } from "vitest";
import { decodePayload, me, register } from "./helpers";

const ISSUER = new URL(env.ISSUER ?? "http://localhost:8787");
const workerFetch = (url: string, init?: RequestInit) => exports.default.fetch(new Request(url, init));
const options = { [oauth.customFetch]: workerFetch, [oauth.allowInsecureRequests]: true };
const web: oauth.Client = { client_id: "web" };

let as: oauth.AuthorizationServer;
beforeAll(async () => {
  as = await oauth.processDiscoveryResponse(ISSUER, await oauth.discoveryRequest(ISSUER, { ...options, algorithm: "oauth2" }));
});

const refreshGrant = async (refreshToken: string, client = web) =>
  oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshToken, options));

describe("discovery", () => {
  it("both documents list exactly the endpoints that exist and are accepted by oauth4webapi and openid-client", async () => {
    for (const algorithm of ["oauth2", "oidc"] as const) {
      const metadata = await oauth.processDiscoveryResponse(ISSUER, await oauth.discoveryRequest(ISSUER, { ...options, algorithm }));
      expect(metadata).toMatchObject({
        issuer: ISSUER.href.replace(/\/$/, ""),
        token_endpoint: `${ISSUER.origin}/oauth/token`,
        revocation_endpoint: `${ISSUER.origin}/oauth/revoke`,
        introspection_endpoint: `${ISSUER.origin}/oauth/introspect`,
        userinfo_endpoint: `${ISSUER.origin}/oauth/userinfo`,
        jwks_uri: `${ISSUER.origin}/.well-known/jwks.json`,
        grant_types_supported: ["refresh_token", "client_credentials"],
        token_endpoint_auth_methods_supported: ["none", "client_secret_basic", "client_secret_post"],
        introspection_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
      });
      expect(metadata.authorization_endpoint).toBeUndefined();
      for (const endpoint of ["token_endpoint", "revocation_endpoint", "introspection_endpoint", "userinfo_endpoint", "jwks_uri"] as const) {
        const res = await workerFetch(metadata[endpoint] as string, { method: endpoint === "jwks_uri" || endpoint === "userinfo_endpoint" ? "GET" : "POST" });
        expect(res.status, endpoint).not.toBe(404);
      }
    }
    const config = await openid.discovery(ISSUER, "web", undefined, openid.None(), { [openid.customFetch]: workerFetch, execute: [openid.allowInsecureRequests] });
    expect(config.serverMetadata().userinfo_endpoint).toBe(`${ISSUER.origin}/oauth/userinfo`);
  });
});

describe("RFC 9068 access tokens", () => {
  it("a strict validator (oauth4webapi validateJwtAccessToken) accepts them, client_id included", async () => {
    const user = await register();
    const request = new Request("https://api.example.test/orders", { headers: { Authorization: `Bearer ${user.accessToken}` } });
    const claims = await oauth.validateJwtAccessToken(as, request, env.AUDIENCE ?? ISSUER.origin, options);
    expect(claims).toMatchObject({ sub: user.userId, client_id: "web", iss: as.issuer });
  });
});

describe("token endpoint (refresh grant)", () => {
  it("rotates like /auth/refresh for oauth4webapi and openid-client, with the RFC 6749 5.1 answer", async () => {
    const user = await register();
    const first = await refreshGrant(user.refreshToken);
    // 899 when a second boundary falls between issuing and answering.
    expect(first).toMatchObject({ token_type: "bearer", expires_in: expect.toSatisfy((s: number) => s === 899 || s === 900) });
    expect(decodePayload(first.access_token)).toMatchObject({ sub: user.userId, client_id: "web" });
    const config = await openid.discovery(ISSUER, "web", undefined, openid.None(), { [openid.customFetch]: workerFetch, execute: [openid.allowInsecureRequests] });
    const second = await openid.refreshTokenGrant(config, first.refresh_token!);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect((await me(second.access_token)).status).toBe(200);
  });

  it("a retry inside the grace window gets the same child; a replay after the family moved on revokes it", async () => {
    const user = await register();
    const first = await refreshGrant(user.refreshToken);
    expect((await refreshGrant(user.refreshToken)).refresh_token).toBe(first.refresh_token);
    const second = await refreshGrant(first.refresh_token!);
    await expect(refreshGrant(user.refreshToken)).rejects.toMatchObject({ error: "invalid_grant", status: 400 });
    await expect(refreshGrant(second.refresh_token!)).rejects.toMatchObject({ error: "invalid_grant" });
  });

  it("a refresh token is bound to its client: another client_id is invalid_grant and changes nothing", async () => {
    const user = await register();
    await expect(refreshGrant(user.refreshToken, { client_id: "ios-app" })).rejects.toMatchObject({ error: "invalid_grant", status: 400 });
    expect((await refreshGrant(user.refreshToken)).refresh_token).toBeTruthy();
  });

  it("answers the RFC 6749 5.2 errors: unknown or missing client, unsupported grant type, missing token", async () => {
    const user = await register();
    const post = (body: Record<string, string>) =>
      workerFetch(`${ISSUER.origin}/oauth/token`, { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(body) });
    const cases: [Record<string, string>, number, string][] = [
      [{ grant_type: "refresh_token", refresh_token: user.refreshToken, client_id: "nope" }, 401, "invalid_client"],
      [{ grant_type: "refresh_token", refresh_token: user.refreshToken }, 401, "invalid_client"],
      [{ grant_type: "password", client_id: "web", username: user.email, password: "x" }, 400, "unsupported_grant_type"],
      [{ grant_type: "refresh_token", client_id: "web" }, 400, "invalid_request"],
      [{ client_id: "web" }, 400, "invalid_request"],
    ];
    for (const [body, status, error] of cases) {
      const res = await post(body);
      expect([res.status, ((await res.json()) as { error: string }).error], JSON.stringify(body)).toEqual([status, error]);
      expect(res.headers.get("Cache-Control")).toBe("no-store");
    }
    expect((await refreshGrant(user.refreshToken)).refresh_token).toBeTruthy();
  });
});

describe("revocation endpoint (RFC 7009)", () => {
  it("revoking a refresh token ends its family and its access tokens; revoking again, or garbage, still answers 200", async () => {
    const user = await register();
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, web, oauth.None(), user.refreshToken, options));
    expect((await me(user.accessToken)).status).toBe(401);
    await expect(refreshGrant(user.refreshToken)).rejects.toMatchObject({ error: "invalid_grant" });
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, web, oauth.None(), user.refreshToken, options));
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, web, oauth.None(), "not-a-token", options));
  });

  it("revoking an access token refuses that token only; openid-client's tokenRevocation works too", async () => {
    const user = await register();
    const config = await openid.discovery(ISSUER, "web", undefined, openid.None(), { [openid.customFetch]: workerFetch, execute: [openid.allowInsecureRequests] });
    await openid.tokenRevocation(config, user.accessToken);
    expect((await me(user.accessToken)).status).toBe(401);
    const next = await refreshGrant(user.refreshToken);
    expect((await me(next.access_token)).status).toBe(200);
  });

  it("another client's token is left alone", async () => {
    const user = await register();
    await oauth.processRevocationResponse(await oauth.revocationRequest(as, { client_id: "ios-app" }, oauth.None(), user.refreshToken, options));
    expect((await me(user.accessToken)).status).toBe(200);
  });
});
