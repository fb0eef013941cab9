/**
 * The downstream example worker (examples/downstream/src/app.ts, on @edge-token-service/verifier)
 * against this service in-process: its JWKS and introspection requests reach the worker's real
 * entry point. What a downstream team relies on: 403 without the permission, 200 with it once an
 * admin granted the role and the user refreshed, a logout seen at once where the route introspects,
 * and every forged token the service refuses refused downstream too.
 */
import { env } from "cloudflare:workers";
import { importPKCS8, type JWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createDownstream } from "./downstream";
import { forgeTokens } from "./fixtures/forged-tokens";
import { bearer, call, callWith, me, register, rotate } from "./helpers";

const FORBIDDEN = { error: "insufficient_scope", error_description: "insufficient permissions" };
const adminApi = (method: string, path: string) =>
  callWith({ ADMIN_API_TOKEN: "test-admin-token" }, path, { method, headers: bearer("test-admin-token") });

let downstream: ReturnType<typeof createDownstream>;
beforeAll(() => {
  downstream = createDownstream();
});

const get = (path: string, token: string) => downstream.request(path, { headers: bearer(token) });

describe("the downstream example", () => {
  it("403 insufficient_scope without the permission; 200 with it after an admin grants the role and the user refreshes", async () => {
    const user = await register();
    expect((await get("/api/profile", user.accessToken)).status).toBe(200);
    const forbidden = await get("/api/admin/report", user.accessToken);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get("WWW-Authenticate")).toBe('Bearer realm="downstream-example", error="insufficient_scope", scope="users:manage"');
    expect(await forbidden.json()).toEqual(FORBIDDEN);

    expect((await adminApi("PUT", `/admin/users/${user.userId}/roles/admin`)).status).toBe(201);
    // The live token says what it said when it was issued.
    expect((await get("/api/admin/report", user.accessToken)).status).toBe(403);
    const { accessToken } = await rotate(user.refreshToken);
    const allowed = await get("/api/admin/report", accessToken);
    expect(allowed.status).toBe(200);
    expect(await allowed.json()).toEqual({ report: { generated_for: user.userId } });
    expect(await (await get("/api/me", accessToken)).json()).toMatchObject({ sub: user.userId, roles: ["admin", "user"], scopes: ["profile:read", "roles:manage", "users:manage"] });
  });

  it("the introspecting route refuses a logged-out token at once; offline routes accept it until it expires", async () => {
    const user = await register();
    expect((await get("/api/account", user.accessToken)).status).toBe(200);
    expect((await call("/auth/logout", { method: "POST", headers: bearer(user.accessToken) })).status).toBe(204);
    const refused = await get("/api/account", user.accessToken);
    expect(refused.status).toBe(401);
    expect(refused.headers.get("WWW-Authenticate")).toBe('Bearer realm="downstream-example", error="invalid_token", error_description="The access token is no longer active."');
    expect((await get("/api/profile", user.accessToken)).status).toBe(200);
  });

  it("after a role is revoked, the introspecting route refuses the token that carried it at once", async () => {
    const user = await register();
    await adminApi("PUT", `/admin/users/${user.userId}/roles/admin`);
    const { accessToken } = await rotate(user.refreshToken);
    expect((await get("/api/account", accessToken)).status).toBe(200);
    expect((await adminApi("DELETE", `/admin/users/${user.userId}/roles/admin`)).status).toBe(204);
    expect((await get("/api/account", accessToken)).status).toBe(401);
    // Offline verification cannot know: the token passes until it expires (keep the TTL short).
    expect((await get("/api/admin/report", accessToken)).status).toBe(200);
  });

  it("refuses every forged token of the shared list that the service refuses, 401 invalid_token", async () => {
    const user = await register();
    const signingKey = (await importPKCS8(env.SIGNING_KEY!, "RS256")) as CryptoKey;
    const jwks = (await (await call("/.well-known/jwks.json")).json()) as { keys: (JWK & { kid: string })[] };
    const { control, forgeries } = await forgeTokens(user.accessToken, { signingKey, publicJwk: jwks.keys[0]! }, {
      requiredClaims: ["iss", "aud", "exp", "iat", "sub", "jti", "sid", "client_id"],
    });
    expect((await me(control)).status).toBe(200);
    expect((await get("/api/me", control)).status).toBe(200);
    const acceptedDownstream: string[] = [];
    let refusedByService = 0;
    for (const { name, token } of forgeries) {
      if ((await me(token)).status !== 401) continue;
      refusedByService++;
      const res = await get("/api/me", token);
      if (res.status !== 401 || !/error="invalid_token"/.test(res.headers.get("WWW-Authenticate") ?? "")) acceptedDownstream.push(`${name}: ${res.status}`);
    }
    expect(refusedByService).toBeGreaterThan(60);
    expect(acceptedDownstream).toEqual([]);
  });
});
