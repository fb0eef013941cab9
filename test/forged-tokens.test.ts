import { env } from "cloudflare:workers";
import { importPKCS8, SignJWT, type JWK, type JWTPayload } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { forgeTokens, type Forgeries } from "./fixtures/forged-tokens";
import { call, me, register, type Login } from "./helpers";
import { INVALID_TOKEN_CHALLENGE } from "./hardening";

const ISSUER = "http://localhost:8787";
/**
 * Claim checks of the shared forgery list that the service does not make yet: it issues no
 * email_verified so far. Remove each as the service starts checking it.
 */
const NOT_CHECKED_YET = new Set(["email_verified"]);
let user: Login;
let signingKey: CryptoKey;
let kid: string;
let forged: Forgeries;

beforeAll(async () => {
  user = await register();
  signingKey = (await importPKCS8(env.SIGNING_KEY!, "RS256")) as CryptoKey;
  const jwks = (await (await call("/.well-known/jwks.json")).json()) as { keys: (JWK & { kid: string })[] };
  kid = jwks.keys[0]!.kid;
  // The service also refuses a token without sid (it names the session to check for revocation).
  forged = await forgeTokens(user.accessToken, { signingKey, publicJwk: jwks.keys[0]! }, {
    requiredClaims: ["iss", "aud", "exp", "iat", "sub", "jti", "sid", "client_id"],
  });
});

const claims = (over: JWTPayload = {}): JWTPayload => ({
  iss: ISSUER,
  aud: ISSUER,
  sub: user.userId,
  sid: user.sid,
  client_id: "web",
  role: "user",
  jti: crypto.randomUUID(),
  iat: Math.floor(Date.now() / 1000),
  exp: Math.floor(Date.now() / 1000) + 300,
  ...over,
});

function sign(payload: JWTPayload) {
  return new SignJWT(payload).setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid }).sign(signingKey);
}

async function expectRejected(token: string) {
  const res = await me(token);
  expect(res.status).toBe(401);
  expect(res.headers.get("WWW-Authenticate")).toMatch(INVALID_TOKEN_CHALLENGE);
  expect(await res.json()).toMatchObject({ error: "invalid_token", error_description: expect.any(String) });
}

describe("the Bearer verifier", () => {
  it("accepts the forgery list's control token, re-signed by the fixture", async () => {
    expect((await me(forged.control)).status).toBe(200);
    expect(forged.forgeries.length).toBeGreaterThan(60);
  });

  it("refuses every forged token of the shared list (test/fixtures/forged-tokens.ts)", async () => {
    const accepted: string[] = [];
    for (const { name, token, claim } of forged.forgeries) {
      if (claim && NOT_CHECKED_YET.has(claim)) continue;
      const res = await me(token);
      const body = (await res.json()) as { error?: string };
      const challenge = res.headers.get("WWW-Authenticate") ?? "";
      if (res.status !== 401 || body.error !== "invalid_token" || !INVALID_TOKEN_CHALLENGE.test(challenge)) {
        accepted.push(`${name}: ${res.status} ${body.error} ${challenge}`);
      }
    }
    expect(accepted).toEqual([]);
  });

  it("tolerates small clock skew: expired less than the 60 s leeway ago", async () => {
    const now = Math.floor(Date.now() / 1000);
    expect((await me(await sign(claims({ iat: now - 1000, exp: now - 30 })))).status).toBe(200);
  });

  it("a revoked token stays refused through the clock leeway after its exp", async () => {
    const fresh = await register();
    const now = Math.floor(Date.now() / 1000);
    const nearlyExpired = await sign({ ...claims({ iat: now - 900, exp: now - 30 }), sub: fresh.userId, sid: fresh.sid });
    expect((await me(nearlyExpired)).status).toBe(200);
    expect((await call("/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${nearlyExpired}` } })).status).toBe(204);
    await expectRejected(nearlyExpired);
  });

  it("rejects a real refresh token presented as an access token", async () => {
    await expectRejected(user.refreshToken);
  });

  it("answers 401 with a challenge without an error code when no token is sent (RFC 6750 3.1)", async () => {
    const res = await call("/auth/me");
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toBe('Bearer realm="auth"');
    expect(await res.json()).toMatchObject({ error: "invalid_token" });
  });
});
