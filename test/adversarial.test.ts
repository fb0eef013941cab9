/**
 * Adversarial access tokens: key-injection headers (jku, x5u, jwk, x5c), crit, hostile kids,
 * other serializations, malformed bytes, duplicate claims, absurd lifetimes, oversized headers.
 * Every one is 401 `invalid_token` in the contract's JSON shape, never a 500, and the verifier
 * never fetches anything an attacker points it to.
 */
import { env } from "cloudflare:workers";
import { base64url, calculateJwkThumbprint, exportJWK, generateKeyPair, importPKCS8 } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { getConfig } from "../src/config";
import { bearer, call, me, register, type Login } from "./helpers";
import { expectError, INVALID_TOKEN_CHALLENGE } from "./hardening";

const config = getConfig(env);
const encoder = new TextEncoder();
let user: Login;
let realKey: CryptoKey;
let realKid: string;
let attacker: { privateKey: CryptoKey; jwk: Record<string, unknown>; kid: string };

beforeAll(async () => {
  user = await register();
  realKey = (await importPKCS8(env.SIGNING_KEY!, "RS256")) as CryptoKey;
  realKid = ((await (await call("/.well-known/jwks.json")).json()) as { keys: { kid: string }[] }).keys[0]!.kid;
  const pair = await generateKeyPair("RS256", { extractable: true });
  const jwk = await exportJWK(pair.publicKey);
  attacker = { privateKey: pair.privateKey as CryptoKey, jwk: { ...jwk }, kid: await calculateJwkThumbprint(jwk) };
});

const fetchSpy = vi.spyOn(globalThis, "fetch");
afterEach(() => {
  // Nothing in a token may make the verifier go out to the network (jku, x5u, ...).
  expect(fetchSpy).not.toHaveBeenCalled();
  fetchSpy.mockClear();
});

const now = () => Math.floor(Date.now() / 1000);
const claims = (over: Record<string, unknown> = {}) => ({
  iss: config.issuer,
  aud: config.audience,
  sub: user.userId,
  sid: user.sid,
  client_id: "web",
  role: "user",
  jti: crypto.randomUUID(),
  iat: now(),
  exp: now() + 300,
  ...over,
});
const header = (over: Record<string, unknown> = {}) => ({ alg: "RS256", typ: "at+jwt", kid: realKid, ...over });

/** A compact JWS over exactly these header and payload bytes (JSON text or raw bytes). */
async function signRaw(headerPart: string | Uint8Array, payloadPart: string | Uint8Array, key = realKey): Promise<string> {
  const input = `${base64url.encode(headerPart)}.${base64url.encode(payloadPart)}`;
  const signature = await crypto.subtle.sign("RSASSA-PKCS1-v1_5", key, encoder.encode(input));
  return `${input}.${base64url.encode(new Uint8Array(signature))}`;
}
const sign = (h: Record<string, unknown>, p: Record<string, unknown>, key = realKey) => signRaw(JSON.stringify(h), JSON.stringify(p), key);

async function expectRejected(token: string) {
  const res = await me(token);
  await expectError(res, 401, "invalid_token");
  expect(res.headers.get("WWW-Authenticate")).toMatch(INVALID_TOKEN_CHALLENGE);
}

describe("the forging helper (control)", () => {
  it("produces a token the service accepts when nothing is wrong with it", async () => {
    expect((await me(await sign(header(), claims()))).status).toBe(200);
  });
});

describe("key-injection headers: the key is never taken from the token", () => {
  const injected = () => ({
    jku: { jku: "https://attacker.example/jwks.json" },
    x5u: { x5u: "https://attacker.example/cert.pem" },
    jwk: { jwk: { ...attacker.jwk, alg: "RS256", use: "sig" } },
    x5c: { x5c: [base64url.encode(crypto.getRandomValues(new Uint8Array(600))).replace(/-/g, "+").replace(/_/g, "/")] },
  });

  it.each(["jku", "x5u", "jwk", "x5c"] as const)("%s, signed by the attacker, with the attacker's kid, our kid or none", async (name) => {
    const extra = injected()[name];
    await expectRejected(await sign(header({ ...extra, kid: attacker.kid }), claims(), attacker.privateKey));
    await expectRejected(await sign(header({ ...extra }), claims(), attacker.privateKey));
    const { kid: _omit, ...noKid } = header(extra);
    await expectRejected(await sign(noKid, claims(), attacker.privateKey));
  });
});

describe("crit", () => {
  it("rejects unknown critical extensions and an empty crit, even with our own signature", async () => {
    await expectRejected(await sign(header({ crit: ["x-tenant"], "x-tenant": "acme" }), claims()));
    await expectRejected(await sign(header({ crit: [] }), claims()));
    await expectRejected(await sign(header({ crit: ["exp"] }), claims()));
  });

  it("rejects an unencoded payload (b64: false)", async () => {
    await expectRejected(await sign(header({ crit: ["b64"], b64: false }), claims()));
  });
});

describe("hostile kid values are matched exactly, never used as a path or a query", () => {
  it.each([
    ["path traversal", "../../../../../etc/passwd"],
    ["absolute path", "/dev/null"],
    ["SQL", "' OR '1'='1' --"],
    ["SQL union", "x' UNION SELECT password_hash FROM users --"],
    ["a prefix of the real kid", "PREFIX"],
    ["8 KB", "k".repeat(8 * 1024)],
  ])("%s", async (_name, kid) => {
    const value = kid === "PREFIX" ? realKid.slice(0, 10) : kid;
    await expectRejected(await sign(header({ kid: value }), claims()));
    await expectRejected(await sign(header({ kid: value }), claims(), attacker.privateKey));
  });
});

describe("other serializations and malformed compact tokens", () => {
  it("rejects JWE-shaped five-part tokens", async () => {
    const jweHeader = base64url.encode(JSON.stringify({ alg: "RSA-OAEP-256", enc: "A256GCM", kid: realKid }));
    await expectRejected(`${jweHeader}.${base64url.encode("k".repeat(32))}.${base64url.encode("iv")}.${base64url.encode("ct")}.${base64url.encode("tag")}`);
    const valid = await sign(header(), claims());
    await expectRejected(`${valid}.${base64url.encode("tag")}.x`);
  });

  it("rejects the JWS JSON serialization, even of a valid signature", async () => {
    const [h, p, s] = (await sign(header(), claims())).split(".");
    await expectRejected(JSON.stringify({ protected: h, payload: p, signature: s }));
    await expectRejected(base64url.encode(JSON.stringify({ protected: h, payload: p, signature: s })));
  });

  it("rejects four segments, empty segments and stray padding", async () => {
    const valid = await sign(header(), claims());
    const [h, p, s] = valid.split(".");
    await expectRejected(`${valid}.`);
    await expectRejected(`${h}.${p}.${s}.${s}`);
    await expectRejected(`..${s}`);
    await expectRejected(`${h}..${s}`);
    await expectRejected(`${h}=.${p}.${s}`);
  });

  it("rejects correctly signed tokens whose header or payload is not UTF-8 JSON", async () => {
    const invalidUtf8 = new Uint8Array([0x7b, 0x22, 0x73, 0x75, 0x62, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]);
    await expectRejected(await signRaw(JSON.stringify(header()), invalidUtf8));
    await expectRejected(await signRaw(invalidUtf8, JSON.stringify(claims())));
    await expectRejected(await signRaw(JSON.stringify(header()), "[1,2,3]"));
    await expectRejected(await signRaw(JSON.stringify(header()), "null"));
  });

  it("answers 401, not 500, for bytes outside ASCII in the Authorization header", async () => {
    await expectError(await call("/auth/me", { headers: { Authorization: "Bearer eyJ\u00e9.e30.x" } }), 401, "invalid_token");
    await expectError(await call("/auth/me", { headers: { Authorization: "Bearer\u00a0eyJ.e30.x" } }), 401, "invalid_token");
  });
});

describe("claims", () => {
  it("duplicate claim names: the lexically last one counts, or the token is refused, never the first", async () => {
    const base = JSON.stringify(claims()).slice(0, -1);
    // First sub is the real user, the last one an account that does not exist.
    await expectRejected(await signRaw(JSON.stringify(header()), `${base},"sub":"${crypto.randomUUID()}"}`));
    // First exp is valid, the last one long past.
    await expectRejected(await signRaw(JSON.stringify(header()), `${base},"exp":${now() - 3600}}`));
    // First iss is ours, the last one a stranger's.
    await expectRejected(await signRaw(JSON.stringify(header()), `${base},"iss":"https://evil.example"}`));
  });

  it.each([
    ["exp as a string", { exp: String(now() + 300) }],
    ["exp 1e20", { exp: 1e20 }],
    ["exp far beyond the configured lifetime", { exp: now() + 365 * 24 * 3600 }],
    ["iat in the future", { iat: now() + 3600, exp: now() + 3900 }],
    // Only the future-iat check refuses this one: its exp is inside the configured lifetime.
    ["iat in the future within an allowed lifetime", { iat: now() + 600, exp: now() + 900 }],
    ["iat just beyond the 60 s leeway", { iat: now() + 120, exp: now() + 600 }],
    ["iat as a string", { iat: String(now()) }],
    ["exp null", { exp: null }],
    ["sub as a number", { sub: 42 }],
    ["aud as an array without us", { aud: ["https://other.example"] }],
  ])("rejects %s, even with our own signature", async (_name, over) => {
    await expectRejected(await sign(header(), claims(over)));
  });

  it("a token with an absurd exp cannot break logout (no 503 from an overflowing KV TTL)", async () => {
    const token = await sign(header(), claims({ exp: 1e20 }));
    const res = await call("/auth/logout", { method: "POST", headers: bearer(token) });
    expect(res.status).toBe(204);
  });
});

describe("oversized Authorization headers", () => {
  it.each([
    ["/auth/me", "GET"],
    ["/auth/sessions", "GET"],
    ["/auth/logout", "POST"],
    ["/auth/logout-all", "POST"],
  ])("100 KB on %s is a 401 invalid_token", async (path, method) => {
    const res = await call(path, { method, headers: { Authorization: `Bearer ${"a".repeat(100 * 1024)}` } });
    await expectError(res, 401, "invalid_token");
  });

  it("a valid token padded past the size limit is refused", async () => {
    const token = await sign(header({ pad: "p".repeat(5000) }), claims());
    await expectRejected(token);
  });
});
