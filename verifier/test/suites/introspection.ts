/** introspect() and requireAuth({ introspect: true }): RFC 7662 on top of the offline checks. Runs in Node and workerd. */
import { Hono } from "hono";
import { beforeEach, describe, expect, it } from "vitest";
import { createVerifier, VerificationError, VerifierUnavailableError, type Verifier } from "../../src/index.js";
import { requireAuth, type AuthEnv } from "../../src/hono.js";
import { AUDIENCE, createTestIssuer, INTROSPECTION_URI, ISSUER, RESOURCE_SERVER, type TestIssuer } from "../support/issuer.js";

export function introspectionSuite(): void {
  let issuer: TestIssuer;
  let verifier: Verifier;

  beforeEach(async () => {
    issuer = await createTestIssuer();
    verifier = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: issuer.fetch, introspection: RESOURCE_SERVER });
  });

  describe("introspect", () => {
    it("returns the claims of an active token after one RFC 7662 request with form-encoded Basic credentials", async () => {
      const token = await issuer.issue();
      const claims = await verifier.introspect(token);
      expect(claims.sub).toBe("3f1e7a2c-5b2d-4c7e-9a61-0d2f4b8c9e10");
      expect(issuer.introspectionCalls).toHaveLength(1);
      const call = issuer.introspectionCalls[0]!;
      expect(call.contentType).toBe("application/x-www-form-urlencoded");
      expect(Object.fromEntries(call.body)).toEqual({ token, token_type_hint: "access_token" });
      // RFC 6749 2.3.1: "billing api:v2" and "s3cr3t+/=&é" are form-encoded, then base64.
      expect(atob(call.authorization!.replace(/^Basic /, ""))).toBe("billing+api%3Av2:s3cr3t%2B%2F%3D%26%C3%A9");
      expect(verifier.canIntrospect).toBe(true);
    });

    it("refuses a token the service says is no longer active (logout), though it verifies offline", async () => {
      const token = await issuer.issue();
      await expect(verifier.verify(token)).resolves.toBeDefined();
      issuer.revoked.add((await verifier.verify(token)).jti);
      const error = await verifier.introspect(token).catch((err: unknown) => err);
      expect(error).toBeInstanceOf(VerificationError);
      expect((error as VerificationError).description).toBe("The access token is no longer active.");
    });

    it("never sends a forged or expired token to the endpoint", async () => {
      const now = Math.floor(Date.now() / 1000);
      const foreign = await issuer.newKey(false);
      await expect(verifier.introspect(await issuer.issue({}, {}, foreign))).rejects.toBeInstanceOf(VerificationError);
      await expect(verifier.introspect(await issuer.issue({ iat: now - 1000, exp: now - 100 }))).rejects.toBeInstanceOf(VerificationError);
      expect(issuer.introspectionCalls).toHaveLength(0);
    });

    it("fails closed with VerifierUnavailableError when the endpoint refuses our credentials, errs or is unreachable", async () => {
      const wrongSecret = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: issuer.fetch, introspection: { ...RESOURCE_SERVER, clientSecret: "wrong" } });
      await expect(wrongSecret.introspect(await issuer.issue())).rejects.toBeInstanceOf(VerifierUnavailableError);
      issuer.introspectionStatus = 500;
      await expect(verifier.introspect(await issuer.issue())).rejects.toBeInstanceOf(VerifierUnavailableError);
      const unreachable = createVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        introspection: RESOURCE_SERVER,
        fetch: (url, init) => (url === INTROSPECTION_URI ? Promise.reject(new TypeError("network down")) : issuer.fetch(url, init)),
      });
      await expect(unreachable.introspect(await issuer.issue())).rejects.toBeInstanceOf(VerifierUnavailableError);
      const noActive = createVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        introspection: RESOURCE_SERVER,
        fetch: (url, init) => (url === INTROSPECTION_URI ? Promise.resolve(Response.json({ active: "true" })) : issuer.fetch(url, init)),
      });
      await expect(noActive.introspect(await issuer.issue())).rejects.toBeInstanceOf(VerifierUnavailableError);
    });

    it("uses the configured endpoint, and throws when introspection is not configured", async () => {
      const endpoint = "https://auth.example.test/custom/introspect";
      const seen: string[] = [];
      const custom = createVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        introspection: { ...RESOURCE_SERVER, endpoint },
        fetch: (url, init) => (seen.push(url), issuer.fetch(url === endpoint ? INTROSPECTION_URI : url, init)),
      });
      await custom.introspect(await issuer.issue());
      expect(seen).toContain(endpoint);
      const offline = createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: issuer.fetch });
      expect(offline.canIntrospect).toBe(false);
      await expect(offline.introspect(await issuer.issue())).rejects.toBeInstanceOf(TypeError);
    });
  });

  describe("requireAuth({ introspect: true })", () => {
    const appWith = (v: Verifier) => {
      const app = new Hono<AuthEnv>();
      app.get("/live", requireAuth(v, { introspect: true, realm: "api" }), (c) => c.json({ sub: c.var.auth.sub }));
      app.get("/offline", requireAuth(v, { realm: "api" }), (c) => c.json({ sub: c.var.auth.sub }));
      return app;
    };

    it("sees a logout at once: 401 invalid_token on the introspecting route, while the offline route still accepts", async () => {
      const app = appWith(verifier);
      const token = await issuer.issue();
      const headers = { Authorization: `Bearer ${token}` };
      expect((await app.request("/live", { headers })).status).toBe(200);
      issuer.revoked.add((await verifier.verify(token)).jti);
      const res = await app.request("/live", { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("WWW-Authenticate")).toBe('Bearer realm="api", error="invalid_token", error_description="The access token is no longer active."');
      expect(await res.json()).toEqual({ error: "invalid_token", error_description: "The access token is no longer active." });
      expect((await app.request("/offline", { headers })).status).toBe(200);
    });

    it("answers 503 when the endpoint cannot answer (e.g. our credentials are refused)", async () => {
      const app = appWith(createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: issuer.fetch, introspection: { ...RESOURCE_SERVER, clientId: "someone-else" } }));
      const res = await app.request("/live", { headers: { Authorization: `Bearer ${await issuer.issue()}` } });
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: "temporarily_unavailable", error_description: "The access token cannot be checked right now." });
    });
  });
}
