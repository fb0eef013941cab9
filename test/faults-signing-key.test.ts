/**
 * A missing or unusable SIGNING_KEY is a configuration error: 500 `server_error`, no token, no
 * state change, never a fallback to another key (e.g. a previous one still in the JWKS) or to
 * unsigned tokens. The message thrown by getKeyMaterial names the problem for the operator.
 */
import { env } from "cloudflare:workers";
import { exportJWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigurationError } from "../src/domain-errors";
import { getKeyMaterial } from "../src/keys";
import { bearer, call, callWith, cookieRefreshInit, json, me, PASSWORD, refreshWithCookie, register, uniqueEmail, type Login } from "./helpers";
import { expectError, expectNoTokenIssued, storageDigest } from "./hardening";

const toPem = (label: string, der: ArrayBuffer) =>
  `-----BEGIN ${label}-----\n${btoa(String.fromCharCode(...new Uint8Array(der))).replace(/.{64}/g, "$&\n")}\n-----END ${label}-----\n`;

async function rsaKeyPair(bits: number) {
  return (await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
}

type BadKey = [name: string, secret: () => string | undefined, message: RegExp];
const secrets: Record<string, string> = {};
const badKeys: BadKey[] = [
  ["unset", () => undefined, /SIGNING_KEY is not set/],
  ["blank", () => "  \n ", /SIGNING_KEY is not set/],
  ["garbage", () => "hunter2", /SIGNING_KEY is not valid JSON/],
  ["truncated PKCS#8 PEM", () => secrets.truncated, /SIGNING_KEY is not an RSA private key usable with RS256/],
  ["an EC (P-256) PKCS#8 PEM", () => secrets.ecPem, /SIGNING_KEY is not an RSA private key usable with RS256/],
  ["an EC private JWK", () => secrets.ecJwk, /SIGNING_KEY must be an RSA private key/],
  ["a 1024-bit RSA PKCS#8 PEM", () => secrets.smallPem, /SIGNING_KEY is a 1024-bit RSA key; at least 2048 bits are required/],
  ["a 1024-bit RSA private JWK", () => secrets.smallJwk, /SIGNING_KEY is a 1024-bit RSA key; at least 2048 bits are required/],
  ["an RSA public key PEM", () => secrets.publicPem, /SIGNING_KEY must be a PKCS#8 PEM/],
  ["an RSA public JWK", () => secrets.publicJwk, /SIGNING_KEY must be an RSA private key/],
];

let user: Login;

beforeAll(async () => {
  user = await register();
  const ec = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const small = await rsaKeyPair(1024);
  const good = await rsaKeyPair(2048);
  secrets.ecPem = toPem("PRIVATE KEY", (await crypto.subtle.exportKey("pkcs8", ec.privateKey)) as ArrayBuffer);
  secrets.ecJwk = JSON.stringify(await exportJWK(ec.privateKey));
  secrets.smallPem = toPem("PRIVATE KEY", (await crypto.subtle.exportKey("pkcs8", small.privateKey)) as ArrayBuffer);
  secrets.smallJwk = JSON.stringify(await exportJWK(small.privateKey));
  secrets.publicPem = toPem("PUBLIC KEY", (await crypto.subtle.exportKey("spki", good.publicKey)) as ArrayBuffer);
  secrets.publicJwk = JSON.stringify(await exportJWK(good.publicKey));
  const pem = env.SIGNING_KEY!;
  secrets.truncated = pem.slice(0, pem.length / 2) + "\n-----END PRIVATE KEY-----\n";
});

describe.each(badKeys)("SIGNING_KEY is %s", (_name, secret, message) => {
  const bad = () => ({ SIGNING_KEY: secret() });

  it("getKeyMaterial throws a ConfigurationError that names the problem", async () => {
    const error = await getKeyMaterial({ ...env, ...bad() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(message);
    // The message is for logs and must never echo the secret itself.
    if (secret()?.trim()) expect((error as Error).message).not.toContain(secret()!.trim().slice(0, 40));
  });

  it("register and login answer 500 server_error with no token and no account or session created", async () => {
    const before = await storageDigest();
    const reg = await callWith(bad(), "/auth/register", { method: "POST", headers: json, body: JSON.stringify({ email: uniqueEmail("cfg"), password: PASSWORD }) });
    await expectError(reg, 500, "server_error");
    expectNoTokenIssued(reg);
    const log = await callWith(bad(), "/auth/login", { method: "POST", headers: json, body: JSON.stringify({ email: user.email, password: PASSWORD }) });
    await expectError(log, 500, "server_error");
    expectNoTokenIssued(log);
    expect(await storageDigest()).toEqual(before);
  });

  it("refresh answers 500 without consuming the refresh token", async () => {
    const before = await storageDigest();
    const res = await callWith(bad(), "/auth/refresh", cookieRefreshInit(user.refreshToken));
    await expectError(res, 500, "server_error");
    expectNoTokenIssued(res);
    expect(await storageDigest()).toEqual(before);
  });

  it("no valid access token is accepted and no JWKS is published", async () => {
    await expectError(await callWith(bad(), "/auth/me", { headers: bearer(user.accessToken) }), 500, "server_error");
    await expectError(await callWith(bad(), "/.well-known/jwks.json"), 500, "server_error");
  });
});

describe("after a bad SIGNING_KEY is fixed", () => {
  it("the same isolate serves again with the real key (a failed import is not cached)", async () => {
    await callWith({ SIGNING_KEY: "hunter2" }, "/.well-known/jwks.json");
    expect((await me(user.accessToken)).status).toBe(200);
    expect((await refreshWithCookie(user.refreshToken)).status).toBe(200);
    expect((await call("/.well-known/jwks.json")).status).toBe(200);
  });
});
