/** createVerifier().verify: accepted tokens, the shared forgery list, the JWKS cache. Runs in Node and workerd. */
import { base64url } from "jose";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { forgeTokens, type Forgeries } from "../../../test/fixtures/forged-tokens.js";
import { createVerifier, VerificationError, VerifierUnavailableError, type VerifierOptions } from "../../src/index.js";
import { AUDIENCE, createTestIssuer, ISSUER, JWKS_URI, type TestIssuer } from "../support/issuer.js";

/** Settles a promise into what a test asserts on: the claims or the error. */
async function outcome<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

async function expectInvalid(promise: Promise<unknown>, description = /./): Promise<VerificationError> {
  const result = await outcome(promise);
  expect(result.ok).toBe(false);
  const error = (result as { error: unknown }).error;
  expect(error).toBeInstanceOf(VerificationError);
  expect((error as VerificationError).code).toBe("invalid_token");
  expect((error as VerificationError).description).toMatch(description);
  return error as VerificationError;
}

export function verifySuite(): void {
  let issuer: TestIssuer;
  const verifierFor = (options: Partial<VerifierOptions> = {}) => createVerifier({ issuer: ISSUER, audience: AUDIENCE, fetch: issuer.fetch, ...options });

  beforeEach(async () => {
    issuer = await createTestIssuer();
  });

  describe("verify: tokens per the contract", () => {
    it("accepts a valid token and returns its typed claims", async () => {
      const token = await issuer.issue({ roles: ["user", "admin"], scope: "profile:read  billing:write" });
      const claims = await verifierFor().verify(token);
      expect(claims).toMatchObject({
        iss: ISSUER,
        aud: AUDIENCE,
        sub: "3f1e7a2c-5b2d-4c7e-9a61-0d2f4b8c9e10",
        client_id: "web",
        sid: "fam_0123456789",
        roles: ["user", "admin"],
        scopes: ["profile:read", "billing:write"],
        email_verified: true,
      });
      expect(claims.payload.role).toBe("user");
      expect(claims.exp - claims.iat).toBe(900);
    });

    it("reads the deprecated role claim when roles is absent, and defaults roles and scopes to []", async () => {
      const legacy = await verifierFor().verify(await issuer.issue({ roles: undefined, role: "admin" }));
      expect(legacy.roles).toEqual(["admin"]);
      const bare = await verifierFor().verify(await issuer.issue({ roles: undefined, role: undefined, scope: undefined, sid: undefined, email_verified: undefined }));
      expect(bare).toMatchObject({ roles: [], scopes: [] });
      expect(bare.sid).toBeUndefined();
      expect(bare.email_verified).toBeUndefined();
    });

    it("accepts an issuer given with a trailing slash and an audience array that contains ours", async () => {
      const token = await issuer.issue({ aud: ["https://other.example", AUDIENCE] });
      expect((await verifierFor({ issuer: `${ISSUER}/` }).verify(token)).aud).toEqual(["https://other.example", AUDIENCE]);
    });

    it("tolerates clock skew up to the leeway, and no more", async () => {
      const now = Math.floor(Date.now() / 1000);
      const verifier = verifierFor();
      await expect(verifier.verify(await issuer.issue({ iat: now - 930, exp: now - 30 }))).resolves.toBeDefined();
      await expect(verifier.verify(await issuer.issue({ iat: now + 50, exp: now + 950 }))).resolves.toBeDefined();
      await expectInvalid(verifier.verify(await issuer.issue({ iat: now - 961, exp: now - 61 })), /expired/);
      await expectInvalid(verifier.verify(await issuer.issue({ iat: now + 70, exp: now + 970 })), /lifetime/);
      const strict = verifierFor({ clockToleranceSeconds: 0 });
      await expectInvalid(strict.verify(await issuer.issue({ iat: now - 930, exp: now - 30 })), /expired/);
    });

    it("refuses a lifetime longer than maxTokenLifetimeSeconds and an exp before iat", async () => {
      const now = Math.floor(Date.now() / 1000);
      const twoHours = await issuer.issue({ iat: now, exp: now + 7200 });
      await expectInvalid(verifierFor().verify(twoHours), /lifetime/);
      await expect(verifierFor({ maxTokenLifetimeSeconds: 7200 }).verify(twoHours)).resolves.toBeDefined();
      await expectInvalid(verifierFor().verify(await issuer.issue({ iat: now, exp: now - 1 })), /lifetime/);
    });

    it("requires the extra claims named in requiredClaims (e.g. sid for user-only APIs)", async () => {
      const noSession = await issuer.issue({ sid: undefined });
      await expect(verifierFor().verify(noSession)).resolves.toBeDefined();
      await expectInvalid(verifierFor({ requiredClaims: ["sid"] }).verify(noSession));
    });

    it("with duplicate claim names, the last one counts", async () => {
      // The first sub is the token's own, the last one another user's; both signed by the issuer.
      const [header, payload] = (await issuer.issue()).split(".");
      const json = new TextDecoder().decode(base64url.decode(payload!));
      const input = `${header}.${base64url.encode(`${json.slice(0, -1)},"sub":"someone-else"}`)}`;
      const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", issuer.current.privateKey, new TextEncoder().encode(input));
      const token = `${input}.${base64url.encode(new Uint8Array(signature))}`;
      expect((await verifierFor().verify(token)).sub).toBe("someone-else");
    });

    it("refuses bad options at creation", () => {
      expect(() => verifierFor({ clockToleranceSeconds: 61 })).toThrow(RangeError);
      expect(() => verifierFor({ clockToleranceSeconds: -1 })).toThrow(RangeError);
      expect(() => verifierFor({ audience: "" })).toThrow(TypeError);
      expect(() => verifierFor({ introspection: { clientId: "", clientSecret: "x" } })).toThrow(TypeError);
    });
  });

  describe("verify: the shared forgery list (test/fixtures/forged-tokens.ts)", () => {
    let forged: Forgeries;
    beforeEach(async () => {
      forged = await forgeTokens(await issuer.issue(), { signingKey: issuer.current.privateKey, publicJwk: issuer.current.publicJwk });
    });

    it("accepts the fixture's re-signed control token", async () => {
      await expect(verifierFor().verify(forged.control)).resolves.toBeDefined();
      expect(forged.forgeries.length).toBeGreaterThan(60);
    });

    it("refuses every forgery with invalid_token, and fetches nothing but the JWKS", async () => {
      const verifier = verifierFor();
      const accepted: string[] = [];
      for (const { name, token } of forged.forgeries) {
        const result = await outcome(verifier.verify(token));
        if (result.ok || !(result.error instanceof VerificationError)) accepted.push(`${name}: ${result.ok ? "accepted" : String(result.error)}`);
      }
      expect(accepted).toEqual([]);
      // jku / x5u / jwk headers never make the verifier go anywhere else.
      expect(new Set(issuer.requests)).toEqual(new Set([JWKS_URI]));
    });

    it("also refuses a token without sid when configured as the service is (requiredClaims: sid)", async () => {
      const strict = await forgeTokens(await issuer.issue(), { signingKey: issuer.current.privateKey, publicJwk: issuer.current.publicJwk }, {
        requiredClaims: ["sid"],
      });
      await expectInvalid(verifierFor({ requiredClaims: ["sid"] }).verify(strict.forgeries.find((f) => f.name === "sid missing")!.token));
    });
  });

  describe("verify: the JWKS cache", () => {
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it("fetches the JWKS once and serves later tokens from the cache", async () => {
      const verifier = verifierFor();
      for (let i = 0; i < 5; i++) await verifier.verify(await issuer.issue());
      expect(issuer.jwksFetches).toBe(1);
    });

    it("refetches when a token names an unknown kid (a rotation), at most once per cooldown", async () => {
      const verifier = verifierFor({ cooldownMs: 30_000 });
      await verifier.verify(await issuer.issue());
      const next = await issuer.newKey(true);
      const rotated = await issuer.issue({}, {}, next);

      // Within the cooldown: the new kid is not looked up, the token is refused.
      vi.advanceTimersByTime(29_000);
      await expectInvalid(verifier.verify(rotated));
      expect(issuer.jwksFetches).toBe(1);

      // After it: one refetch finds the key.
      vi.advanceTimersByTime(2_000);
      await expect(verifier.verify(await issuer.issue({}, {}, next))).resolves.toBeDefined();
      expect(issuer.jwksFetches).toBe(2);

      // Made-up kids right after cost no further fetches.
      for (let i = 0; i < 5; i++) await expectInvalid(verifier.verify(await issuer.issue({}, { kid: `made-up-${i}` })));
      expect(issuer.jwksFetches).toBe(2);
      // An unpublished key stays refused after the cooldown too, at the cost of one fetch.
      vi.advanceTimersByTime(31_000);
      await expectInvalid(verifier.verify(await issuer.issue({}, {}, await issuer.newKey(false))));
      expect(issuer.jwksFetches).toBe(3);
    });

    it("fetches again when the cache is older than cacheMaxAgeMs, and drops keys no longer published", async () => {
      const verifier = verifierFor({ cacheMaxAgeMs: 60_000 });
      const old = issuer.current;
      await verifier.verify(await issuer.issue());
      issuer.current = await issuer.newKey(true);
      issuer.published = [issuer.current];
      vi.advanceTimersByTime(61_000);
      await expect(verifier.verify(await issuer.issue())).resolves.toBeDefined();
      expect(issuer.jwksFetches).toBe(2);
      await expectInvalid(verifier.verify(await issuer.issue({}, {}, old)));
    });

    it("when the JWKS cannot be fetched, keeps verifying with the last one fetched (staleIfErrorMs after that fetch), trying again once per cooldown", async () => {
      const verifier = verifierFor({ cacheMaxAgeMs: 60_000, cooldownMs: 30_000, staleIfErrorMs: 600_000 });
      await verifier.verify(await issuer.issue()); // fetched at t = 0
      vi.advanceTimersByTime(59_000);
      await verifier.verify(await issuer.issue()); // from the cache
      expect(issuer.jwksFetches).toBe(1);
      issuer.jwksStatus = 500;
      vi.advanceTimersByTime(2_000); // t = 61 s: the cache has expired, the fetch fails
      await expect(verifier.verify(await issuer.issue())).resolves.toBeDefined();
      expect(issuer.jwksFetches).toBe(2);
      for (let i = 0; i < 5; i++) await verifier.verify(await issuer.issue());
      // A kid the old set lacks may be a key the outage hides: unavailable, not invalid.
      await expect(verifier.verify(await issuer.issue({}, { kid: "made-up" }))).rejects.toBeInstanceOf(VerifierUnavailableError);
      expect(issuer.jwksFetches).toBe(2);
      vi.advanceTimersByTime(31_000);
      await expect(verifier.verify(await issuer.issue())).resolves.toBeDefined();
      expect(issuer.jwksFetches).toBe(3);
      // 600 s after the fetch at t = 0 (not after the last use of the cache), the outage shows.
      vi.advanceTimersByTime(509_000);
      await expect(verifier.verify(await issuer.issue())).rejects.toBeInstanceOf(VerifierUnavailableError);
      // Back up: the next try fetches, and all is as before.
      issuer.jwksStatus = 200;
      vi.advanceTimersByTime(31_000);
      await expect(verifier.verify(await issuer.issue())).resolves.toBeDefined();
      await expectInvalid(verifier.verify(await issuer.issue({}, { kid: "made-up-too" })));
    });

    it("staleIfErrorMs: 0 fails closed as soon as the cache has expired and the JWKS cannot be fetched", async () => {
      const verifier = verifierFor({ cacheMaxAgeMs: 60_000, staleIfErrorMs: 0 });
      await verifier.verify(await issuer.issue());
      issuer.jwksStatus = 500;
      vi.advanceTimersByTime(61_000);
      await expect(verifier.verify(await issuer.issue())).rejects.toBeInstanceOf(VerifierUnavailableError);
    });

    it("refuses options that would turn a check off: clock leeway outside 0-60 s, a token lifetime that is not a positive number", () => {
      for (const clockToleranceSeconds of [-1, 61, Number.NaN]) expect(() => verifierFor({ clockToleranceSeconds })).toThrow(RangeError);
      for (const maxTokenLifetimeSeconds of [0, -5, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => verifierFor({ maxTokenLifetimeSeconds })).toThrow(RangeError);
    });

    it("uses jwksUri when given", async () => {
      const other = "https://keys.example.test/jwks";
      const seen: string[] = [];
      const verifier = verifierFor({ jwksUri: other, fetch: (url, init) => (seen.push(url), issuer.fetch(JWKS_URI, init)) });
      await verifier.verify(await issuer.issue());
      expect(seen).toEqual([other]);
    });

    it("fails closed with VerifierUnavailableError, not invalid_token, when the JWKS cannot be fetched", async () => {
      issuer.jwksStatus = 500;
      const result = await outcome(verifierFor().verify(await issuer.issue()));
      expect(result.ok).toBe(false);
      expect((result as { error: unknown }).error).toBeInstanceOf(VerifierUnavailableError);
      const down = verifierFor({ fetch: () => Promise.reject(new TypeError("network down")) });
      await expect(down.verify(await issuer.issue())).rejects.toBeInstanceOf(VerifierUnavailableError);
      const notJwks = verifierFor({ fetch: async () => Response.json({ hello: "world" }) });
      await expect(notJwks.verify(await issuer.issue())).rejects.toBeInstanceOf(VerifierUnavailableError);
    });
  });
}
