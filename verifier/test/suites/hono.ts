/** The Hono middleware: 401 / 403 / 503 answers with exact RFC 6750 challenges. Runs in Node and workerd. */
import { Hono } from "hono";
import { beforeEach, describe, expect, it } from "vitest";
import { forgeTokens } from "../../../test/fixtures/forged-tokens.js";
import { createVerifier, type Verifier } from "../../src/index.js";
import { requireAuth, requireRole, requireScope, type AuthEnv } from "../../src/hono.js";
import { AUDIENCE, createTestIssuer, ISSUER, type TestIssuer } from "../support/issuer.js";

const INVALID = 'Bearer realm="api", error="invalid_token", error_description="The access token is invalid."';

export function honoSuite(): void {
  let issuer: TestIssuer;
  let verifier: Verifier;
  let app: Hono<AuthEnv>;

  beforeEach(async () => {
    issuer = await createTestIssuer();
    verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: issuer.fetch });
    app = new Hono<AuthEnv>();
    const auth = requireAuth(verifier, { realm: "api" });
    app.get("/me", auth, (c) => c.json({ sub: c.var.auth.sub, roles: c.var.auth.roles, scopes: c.var.auth.scopes }));
    app.get("/billing", auth, requireScope("billing:read", "billing:write"), (c) => c.json({ ok: true }));
    app.get("/admin", auth, requireRole("admin", "owner"), (c) => c.json({ ok: true }));
    app.get("/no-realm", requireAuth(verifier), requireScope("billing:write"), (c) => c.json({ ok: true }));
    app.get("/miswired", requireScope("billing:read"), (c) => c.json({ ok: true }));
  });

  const get = (path: string, authorization?: string) =>
    app.request(path, authorization === undefined ? {} : { headers: { Authorization: authorization } });

  async function expectAnswer(res: Response, status: number, challenge: string | null, body: Record<string, string>) {
    expect(res.status).toBe(status);
    expect(res.headers.get("WWW-Authenticate")).toBe(challenge);
    expect(await res.json()).toEqual(body);
  }

  describe("requireAuth", () => {
    it("passes a valid token through and sets c.var.auth", async () => {
      const res = await get("/me", `Bearer ${await issuer.issue({ roles: ["user"], scope: "profile:read" })}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ sub: "3f1e7a2c-5b2d-4c7e-9a61-0d2f4b8c9e10", roles: ["user"], scopes: ["profile:read"] });
      // The scheme name is case-insensitive (RFC 7235 section 2.1).
      expect((await get("/me", `bearer ${await issuer.issue()}`)).status).toBe(200);
    });

    it("no token: 401 with a bare challenge, no error attribute (RFC 6750 section 3.1)", async () => {
      await expectAnswer(await get("/me"), 401, 'Bearer realm="api"', { error: "invalid_token", error_description: "A Bearer access token is required." });
      await expectAnswer(await get("/no-realm"), 401, "Bearer", { error: "invalid_token", error_description: "A Bearer access token is required." });
    });

    it("a malformed Authorization header: 401 invalid_token", async () => {
      const challenge = 'Bearer realm="api", error="invalid_token", error_description="The Authorization header is not a valid Bearer token."';
      const body = { error: "invalid_token", error_description: "The Authorization header is not a valid Bearer token." };
      for (const header of ["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", `Bearer ${"a".repeat(5000)}`, "Bearer eyJ\u00e9.e30.x", "Bearer\u00a0eyJ.e30.x"]) {
        await expectAnswer(await get("/me", header), 401, challenge, body);
      }
    });

    it("an expired token: 401 invalid_token saying so", async () => {
      const now = Math.floor(Date.now() / 1000);
      const res = await get("/me", `Bearer ${await issuer.issue({ iat: now - 1000, exp: now - 100 })}`);
      await expectAnswer(res, 401, 'Bearer realm="api", error="invalid_token", error_description="The access token has expired."', {
        error: "invalid_token",
        error_description: "The access token has expired.",
      });
    });

    it("every forgery of the shared list: 401 invalid_token, never a 2xx or a 500", async () => {
      const { control, forgeries } = await forgeTokens(await issuer.issue(), { signingKey: issuer.current.privateKey, publicJwk: issuer.current.publicJwk });
      expect((await get("/me", `Bearer ${control}`)).status).toBe(200);
      const wrong: string[] = [];
      for (const { name, token } of forgeries) {
        const res = await get("/me", `Bearer ${token}`);
        const challenge = res.headers.get("WWW-Authenticate") ?? "";
        const body = (await res.json()) as { error?: string };
        if (res.status !== 401 || body.error !== "invalid_token" || !challenge.startsWith('Bearer realm="api"')) wrong.push(`${name}: ${res.status} ${challenge}`);
      }
      expect(wrong).toEqual([]);
    });

    it("the JWKS cannot be fetched: 503 temporarily_unavailable with Retry-After, no challenge", async () => {
      issuer.jwksStatus = 502;
      const res = await get("/me", `Bearer ${await issuer.issue()}`);
      expect(res.headers.get("Retry-After")).toBe("5");
      await expectAnswer(res, 503, null, { error: "temporarily_unavailable", error_description: "The access token cannot be checked right now." });
    });

    it("refuses bad setup: a realm that cannot be quoted, introspect without the option", () => {
      expect(() => requireAuth(verifier, { realm: 'a"b' })).toThrow(TypeError);
      expect(() => requireAuth(verifier, { realm: "a\\b" })).toThrow(TypeError);
      expect(() => requireAuth(verifier, { introspect: true })).toThrow(TypeError);
    });
  });

  describe("requireScope and requireRole", () => {
    it("requireScope needs every scope: 403 insufficient_scope naming them", async () => {
      const forbidden = { error: "insufficient_scope", error_description: "insufficient permissions" };
      const challenge = 'Bearer realm="api", error="insufficient_scope", scope="billing:read billing:write"';
      await expectAnswer(await get("/billing", `Bearer ${await issuer.issue({ scope: "billing:read" })}`), 403, challenge, forbidden);
      await expectAnswer(await get("/billing", `Bearer ${await issuer.issue({ scope: undefined })}`), 403, challenge, forbidden);
      expect((await get("/billing", `Bearer ${await issuer.issue({ scope: "profile:read billing:write billing:read" })}`)).status).toBe(200);
      await expectAnswer(await get("/no-realm", `Bearer ${await issuer.issue({ scope: "billing:read" })}`), 403, 'Bearer error="insufficient_scope", scope="billing:write"', forbidden);
    });

    it("requireRole needs any one role: 403 insufficient_scope without a scope attribute", async () => {
      const res = await get("/admin", `Bearer ${await issuer.issue({ roles: ["user"], role: "user" })}`);
      await expectAnswer(res, 403, 'Bearer realm="api", error="insufficient_scope"', { error: "insufficient_scope", error_description: "insufficient permissions" });
      expect((await get("/admin", `Bearer ${await issuer.issue({ roles: ["user", "owner"] })}`)).status).toBe(200);
      // A token from before the roles claim: the deprecated role still counts.
      expect((await get("/admin", `Bearer ${await issuer.issue({ roles: undefined, role: "admin" })}`)).status).toBe(200);
    });

    it("an invalid token is a 401 before any permission check", async () => {
      const res = await get("/billing", `Bearer ${(await issuer.issue({ scope: "billing:read billing:write" })).slice(0, -4)}AAAA`);
      expect(res.status).toBe(401);
      expect(res.headers.get("WWW-Authenticate")).toBe(INVALID);
    });

    it("a guard without requireAuth in front fails closed (500), never lets the request through", async () => {
      expect((await get("/miswired", `Bearer ${await issuer.issue({ scope: "billing:read" })}`)).status).toBe(500);
    });

    it("refuses scope names a challenge cannot carry and empty guards", () => {
      expect(() => requireScope()).toThrow(TypeError);
      expect(() => requireScope("a b")).toThrow(TypeError);
      expect(() => requireScope('a"b')).toThrow(TypeError);
      expect(() => requireRole()).toThrow(TypeError);
      expect(() => requireRole("")).toThrow(TypeError);
    });
  });
}
