import { env } from "cloudflare:workers";
import { createLocalJWKSet, decodeProtectedHeader, importPKCS8, jwtVerify, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { call, callWith, me, register } from "./helpers";

const ISSUER = "http://localhost:8787";

async function jwks() {
  const res = await call("/.well-known/jwks.json");
  expect(res.status).toBe(200);
  return { res, body: (await res.json()) as { keys: Record<string, unknown>[] } };
}

describe("GET /.well-known/jwks.json", () => {
  it("publishes only public members of the current and previous keys", async () => {
    const { body } = await jwks();
    expect(body.keys.length).toBe(2);
    for (const key of body.keys) {
      expect(Object.keys(key).sort()).toEqual(["alg", "e", "kid", "kty", "n", "use"]);
      expect(key).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig" });
    }
  });

  it("is cacheable, has an ETag honoured with 304, and is open to any origin", async () => {
    const { res } = await jwks();
    expect(res.headers.get("Cache-Control")).toMatch(/public, max-age=\d+, stale-while-revalidate=\d+/);
    const etag = res.headers.get("ETag");
    expect(etag).toMatch(/^".+"$/);
    const again = await call("/.well-known/jwks.json", { headers: { "If-None-Match": etag!, Origin: "https://anywhere.example" } });
    expect(again.status).toBe(304);
    expect(again.headers.get("Access-Control-Allow-Origin")).toBe("*");
    const changed = await call("/.well-known/jwks.json", { headers: { "If-None-Match": '"other"' } });
    expect(changed.status).toBe(200);
  });

  it("verifies a fresh access token with jose's createLocalJWKSet; kid is the header's", async () => {
    const user = await register();
    const { body } = await jwks();
    const header = decodeProtectedHeader(user.accessToken);
    expect(header).toEqual({ alg: "RS256", typ: "at+jwt", kid: body.keys[0]!.kid });
    const { payload } = await jwtVerify(user.accessToken, createLocalJWKSet(body as never), {
      algorithms: ["RS256"],
      issuer: ISSUER,
      audience: ISSUER,
      typ: "at+jwt",
    });
    expect(payload).toMatchObject({ sub: user.userId, sid: user.sid, client_id: "web", role: "user" });
    expect(typeof payload.jti).toBe("string");
    expect(payload.exp! - payload.iat!).toBe(900);
  });

  it("keeps accepting tokens signed by a rotated-out (previous) key", async () => {
    const user = await register();
    const previousKey = await importPKCS8(env.TEST_PREVIOUS_PRIVATE_KEY, "RS256");
    const { body } = await jwks();
    const previousKid = body.keys[1]!.kid as string;
    const payload = { sid: user.sid, client_id: "web", role: "user" };
    const old = await new SignJWT(payload)
      .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: previousKid })
      .setIssuer(ISSUER)
      .setAudience(ISSUER)
      .setSubject(user.userId)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(previousKey);
    await expect(jwtVerify(old, createLocalJWKSet(body as never), { algorithms: ["RS256"] })).resolves.toBeTruthy();
    expect((await me(old)).status).toBe(200);
  });
});

describe("GET /.well-known/openid-configuration", () => {
  it("names the issuer, the JWKS and RS256", async () => {
    const res = await call("/.well-known/openid-configuration");
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
      id_token_signing_alg_values_supported: ["RS256"],
    });
  });
});

describe("security headers", () => {
  it("lets other origins read the JWKS but keeps the API same-origin by default", async () => {
    const jwks = await call("/.well-known/jwks.json");
    expect(jwks.headers.get("Cross-Origin-Resource-Policy")).toBe("cross-origin");
    expect(jwks.headers.get("X-Content-Type-Options")).toBe("nosniff");
    // The hottest answer carries only the headers that matter to its readers (servers, mostly).
    expect(jwks.headers.get("Strict-Transport-Security")).toBeNull();
    const health = await call("/health");
    expect(health.headers.get("Cross-Origin-Resource-Policy")).toBe("same-origin");
    expect(health.headers.get("X-Content-Type-Options")).toBe("nosniff");
  });

  it("gives API answers, errors included, the headers that stop framing, sniffing and script execution", async () => {
    for (const res of [await call("/health"), await call("/auth/me")]) {
      expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
      expect(res.headers.get("X-Frame-Options")).toBe("DENY");
      expect(res.headers.get("Content-Security-Policy")).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(res.headers.get("Strict-Transport-Security")).toMatch(/^max-age=\d+/);
      expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
    }
  });
});

describe("routing of the JWKS", () => {
  it("answers a plain GET exactly as the route does, and each key configuration with its own keys", async () => {
    await call("/.well-known/jwks.json");
    const plain = await call("/.well-known/jwks.json");
    // A non-matching If-None-Match is answered by the Hono route itself, never from the kept answer.
    const routed = await call("/.well-known/jwks.json", { headers: { "If-None-Match": '"other"' } });
    expect(await plain.text()).toBe(await routed.text());
    expect([...plain.headers]).toEqual([...routed.headers]);
    const withoutPrevious = await callWith({ PREVIOUS_PUBLIC_KEYS: "" }, "/.well-known/jwks.json");
    expect(((await withoutPrevious.json()) as { keys: unknown[] }).keys).toHaveLength(1);
    expect((await jwks()).body.keys).toHaveLength(2);
  });

  it("serves it only at /.well-known/jwks.json, also with a query string", async () => {
    await call("/.well-known/jwks.json");
    expect((await call("/nested/.well-known/jwks.json")).status).toBe(404);
    expect((await call("/.well-known/jwks.json?v=2")).status).toBe(200);
  });
});
