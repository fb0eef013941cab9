import { env } from "cloudflare:workers";
import { base64url, generateKeyPair, importPKCS8, SignJWT, type JWTPayload } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { call, decodePayload, me, register, type Login } from "./helpers";

const ISSUER = "http://localhost:8787";
let user: Login;
let signingKey: CryptoKey;
let kid: string;
let publicJwk: JsonWebKey;

beforeAll(async () => {
  user = await register();
  signingKey = (await importPKCS8(env.SIGNING_KEY!, "RS256")) as CryptoKey;
  const jwks = (await (await call("/.well-known/jwks.json")).json()) as { keys: (JsonWebKey & { kid: string })[] };
  kid = jwks.keys[0]!.kid;
  publicJwk = jwks.keys[0]!;
});

const claims = (over: JWTPayload = {}): JWTPayload => ({
  iss: ISSUER,
  aud: ISSUER,
  sub: user.userId,
  sid: decodePayload(user.accessToken).sid as string,
  role: "user",
  jti: crypto.randomUUID(),
  iat: Math.floor(Date.now() / 1000),
  exp: Math.floor(Date.now() / 1000) + 300,
  ...over,
});

function sign(payload: JWTPayload, header: Record<string, unknown> = {}, key: CryptoKey = signingKey) {
  return new SignJWT(payload).setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid, ...header } as never).sign(key);
}

const encode = (value: unknown) => base64url.encode(new TextEncoder().encode(JSON.stringify(value)));

async function expectRejected(token: string) {
  const res = await me(token);
  expect(res.status).toBe(401);
  expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer error="invalid_token"/);
  expect(await res.json()).toMatchObject({ error: "invalid_token", error_description: expect.any(String) });
}

describe("the Bearer verifier", () => {
  it("accepts a correctly signed token (control)", async () => {
    expect((await me(await sign(claims()))).status).toBe(200);
  });

  it('rejects alg "none"', async () => {
    await expectRejected(`${encode({ alg: "none", typ: "at+jwt", kid })}.${encode(claims())}.`);
  });

  it("rejects HS256 signed with the public key as the HMAC secret (algorithm confusion)", async () => {
    const secret = new TextEncoder().encode(JSON.stringify(publicJwk));
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid }).sign(secret);
    await expectRejected(token);
  });

  it("rejects a token signed by another key, with our kid or an unknown one", async () => {
    const attacker = await generateKeyPair("RS256");
    await expectRejected(await sign(claims(), {}, attacker.privateKey as CryptoKey));
    await expectRejected(await sign(claims(), { kid: "not-a-known-kid" }, attacker.privateKey as CryptoKey));
  });

  it("rejects a stripped or altered signature and an altered payload", async () => {
    const token = await sign(claims());
    const [h, p, s] = token.split(".");
    await expectRejected(`${h}.${p}.`);
    await expectRejected(`${h}.${p}`);
    const flipped = s!.slice(0, 10) + (s![10] === "A" ? "B" : "A") + s!.slice(11);
    await expectRejected(`${h}.${p}.${flipped}`);
    await expectRejected(`${h}.${encode(claims({ role: "admin" }))}.${s}`);
  });

  it("rejects expired tokens beyond the 60 s leeway but tolerates small clock skew", async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRejected(await sign(claims({ iat: now - 1000, exp: now - 61 })));
    expect((await me(await sign(claims({ iat: now - 1000, exp: now - 30 })))).status).toBe(200);
  });

  it("a revoked token stays refused through the clock leeway after its exp", async () => {
    const fresh = await register();
    const now = Math.floor(Date.now() / 1000);
    const nearlyExpired = await sign({ ...claims({ iat: now - 900, exp: now - 30 }), sub: fresh.userId, sid: decodePayload(fresh.accessToken).sid });
    expect((await me(nearlyExpired)).status).toBe(200);
    expect((await call("/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${nearlyExpired}` } })).status).toBe(204);
    await expectRejected(nearlyExpired);
  });

  it("rejects a wrong issuer or audience", async () => {
    await expectRejected(await sign(claims({ iss: "https://evil.example" })));
    await expectRejected(await sign(claims({ aud: "https://other-api.example" })));
  });

  it("rejects tokens missing exp, jti, sub, iat or sid", async () => {
    for (const missing of ["exp", "jti", "sub", "iat", "sid"]) {
      const payload = claims();
      delete payload[missing];
      await expectRejected(await sign(payload));
    }
  });

  it("rejects a wrong or missing typ (e.g. an ID token or a plain JWT)", async () => {
    await expectRejected(await sign(claims(), { typ: "JWT" }));
    await expectRejected(await new SignJWT(claims()).setProtectedHeader({ alg: "RS256", kid }).sign(signingKey));
  });

  it("rejects a refresh token presented as an access token, and garbage", async () => {
    await expectRejected(user.refreshToken);
    await expectRejected("not-a-jwt");
  });

  it("answers 401 with a challenge when no token is sent", async () => {
    const res = await call("/auth/me");
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
    expect(await res.json()).toMatchObject({ error: "invalid_token" });
  });
});
