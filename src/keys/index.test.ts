import { env } from "cloudflare:workers";
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import { getKeyMaterial } from "./index";

const pem = async (key: CryptoKey) => exportPKCS8(key);

describe("getKeyMaterial", () => {
  it("imports once per isolate: the same material for the same secrets", async () => {
    expect(getKeyMaterial(env)).toBe(getKeyMaterial(env));
    const a = await getKeyMaterial(env);
    expect(a.kid).toBe(await calculateJwkThumbprint({ kty: "RSA", n: a.publicKeys[0]!.n, e: a.publicKeys[0]!.e }));
  });

  it("accepts a private JWK as well as PKCS#8 PEM, with the same kid", async () => {
    const { privateKey } = await generateKeyPair("RS256", { extractable: true });
    const fromPem = await getKeyMaterial({ ...env, SIGNING_KEY: await pem(privateKey as CryptoKey), PREVIOUS_PUBLIC_KEYS: "" });
    const fromJwk = await getKeyMaterial({ ...env, SIGNING_KEY: JSON.stringify(await exportJWK(privateKey)), PREVIOUS_PUBLIC_KEYS: "" });
    expect(fromJwk.kid).toBe(fromPem.kid);
    expect(JSON.parse(fromPem.jwksJson).keys).toHaveLength(1);
  });

  it("publishes the optional next key and strips private members of previous keys", async () => {
    const next = await generateKeyPair("RS256", { extractable: true });
    const old = await generateKeyPair("RS256", { extractable: true });
    const material = await getKeyMaterial({
      ...env,
      NEXT_PUBLIC_KEY: JSON.stringify(await exportJWK(next.publicKey)),
      PREVIOUS_PUBLIC_KEYS: JSON.stringify({ keys: [await exportJWK(old.privateKey)] }),
    });
    expect(material.publicKeys).toHaveLength(3);
    expect(material.jwksJson).not.toMatch(/"(d|p|q|dp|dq|qi)":/);
  });

  it.each([
    ["missing", undefined, /SIGNING_KEY is not set/],
    ["garbage", "not a key", /not valid JSON/],
    ["public only", "PUBLIC", /RSA private key/],
  ])("refuses a %s key with a clear error", async (_label, value, message) => {
    const secret = value === "PUBLIC" ? JSON.stringify(await exportJWK((await generateKeyPair("RS256", { extractable: true })).publicKey)) : value;
    await expect(getKeyMaterial({ ...env, SIGNING_KEY: secret })).rejects.toThrow(message);
  });

  it("refuses an EC key and RSA keys under 2048 bits", async () => {
    const ec = await generateKeyPair("ES256", { extractable: true });
    await expect(getKeyMaterial({ ...env, SIGNING_KEY: await pem(ec.privateKey as CryptoKey) })).rejects.toThrow(/not an RSA private key/);
    const small = (await crypto.subtle.generateKey(
      { name: "RSASSA-PKCS1-v1_5", modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    await expect(getKeyMaterial({ ...env, SIGNING_KEY: await pem(small.privateKey) })).rejects.toThrow(/1024-bit RSA key; at least 2048/);
  });
});
