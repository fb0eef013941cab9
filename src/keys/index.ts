/**
 * Signing keys: the RS256 private key from the `SIGNING_KEY` secret, the public keys published in
 * the JWKS (current, optional next, previous ones kept through a rotation), and the verification
 * key set. Everything is computed once per isolate and reused by every request.
 */
import { calculateJwkThumbprint, createLocalJWKSet, importJWK, importPKCS8, exportJWK, type JWK } from "jose";
import { ConfigurationError } from "../domain-errors";

export const SIGNING_ALGORITHM = "RS256";
export const MIN_RSA_MODULUS_BITS = 2048;

/** The public members a JWKS entry is allowed to carry. */
export interface PublicJwk {
  kty: "RSA";
  n: string;
  e: string;
  kid: string;
  alg: typeof SIGNING_ALGORITHM;
  use: "sig";
}

export interface KeyMaterial {
  signingKey: CryptoKey;
  /** RFC 7638 thumbprint of the signing key's public part. */
  kid: string;
  /** current first, then next, then previous keys. */
  publicKeys: PublicJwk[];
  /** Serialized `{"keys": [...]}` and its strong ETag, ready to serve. */
  jwksJson: string;
  jwksEtag: string;
  verificationKeys: ReturnType<typeof createLocalJWKSet>;
}

let cached: { source: string; material: Promise<KeyMaterial> } | undefined;

/**
 * Returns the key material for this env, importing it on first use in the isolate.
 * Throws {@link ConfigurationError} with a clear message when the secret is missing or unusable.
 */
/** The secrets and vars the signing keys come from. */
export interface KeySource {
  SIGNING_KEY?: string;
  PREVIOUS_PUBLIC_KEYS?: string;
  NEXT_PUBLIC_KEY?: string;
}

export function getKeyMaterial(env: KeySource): Promise<KeyMaterial> {
  const source = `${env.SIGNING_KEY ?? ""}\u0000${env.PREVIOUS_PUBLIC_KEYS ?? ""}\u0000${env.NEXT_PUBLIC_KEY ?? ""}`;
  if (cached?.source !== source) {
    const material = loadKeyMaterial(env);
    cached = { source, material };
    // A failed import must not poison the isolate forever (e.g. a secret fixed by a redeploy).
    material.catch(() => {
      if (cached?.material === material) cached = undefined;
    });
  }
  return cached.material;
}

async function loadKeyMaterial(env: KeySource): Promise<KeyMaterial> {
  const secret = env.SIGNING_KEY?.trim();
  if (!secret) {
    throw new ConfigurationError("SIGNING_KEY is not set: put an RS256 private key (PKCS#8 PEM or JWK) in the Worker secret.");
  }
  const { signingKey, publicJwk } = await importPrivateKey(secret);
  const current = await toPublicJwk(publicJwk, "SIGNING_KEY");
  const next = env.NEXT_PUBLIC_KEY?.trim() ? [await toPublicJwk(parseJson(env.NEXT_PUBLIC_KEY, "NEXT_PUBLIC_KEY"), "NEXT_PUBLIC_KEY")] : [];
  const previous = await Promise.all(
    parseKeyList(env.PREVIOUS_PUBLIC_KEYS).map((jwk, i) => toPublicJwk(jwk, `PREVIOUS_PUBLIC_KEYS[${i}]`)),
  );

  const seen = new Set<string>();
  const publicKeys = [current, ...next, ...previous].filter((k) => !seen.has(k.kid) && seen.add(k.kid));
  const jwks = { keys: publicKeys };
  const jwksJson = JSON.stringify(jwks);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(jwksJson)));
  const jwksEtag = `"${[...digest.slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("")}"`;

  return {
    signingKey,
    kid: current.kid,
    publicKeys,
    jwksJson,
    jwksEtag,
    verificationKeys: createLocalJWKSet(jwks),
  };
}

async function importPrivateKey(secret: string): Promise<{ signingKey: CryptoKey; publicJwk: JWK }> {
  let signingKey: CryptoKey;
  if (secret.startsWith("-----BEGIN")) {
    if (!secret.includes("BEGIN PRIVATE KEY")) {
      throw new ConfigurationError("SIGNING_KEY must be a PKCS#8 PEM (BEGIN PRIVATE KEY) or a private JWK.");
    }
    try {
      signingKey = (await importPKCS8(secret, SIGNING_ALGORITHM, { extractable: true })) as CryptoKey;
    } catch {
      throw new ConfigurationError("SIGNING_KEY is not an RSA private key usable with RS256.");
    }
  } else {
    const jwk = parseJson(secret, "SIGNING_KEY");
    if (jwk.kty !== "RSA" || typeof jwk.d !== "string") {
      throw new ConfigurationError("SIGNING_KEY must be an RSA private key (kty RSA with private members).");
    }
    try {
      signingKey = (await importJWK({ ...jwk, alg: SIGNING_ALGORITHM, ext: true }, SIGNING_ALGORITHM, { extractable: true })) as CryptoKey;
    } catch {
      throw new ConfigurationError("SIGNING_KEY is not an RSA private key usable with RS256.");
    }
  }
  const exported = await exportJWK(signingKey);
  // Extractable only long enough to derive the public key; the key kept in memory is not.
  const nonExtractable = (await importJWK({ ...exported, alg: SIGNING_ALGORITHM }, SIGNING_ALGORITHM, { extractable: false })) as CryptoKey;
  return { signingKey: nonExtractable, publicJwk: { kty: exported.kty, n: exported.n, e: exported.e } };
}

async function toPublicJwk(jwk: JWK, name: string): Promise<PublicJwk> {
  if (jwk.kty !== "RSA" || typeof jwk.n !== "string" || typeof jwk.e !== "string") {
    throw new ConfigurationError(`${name} must be an RSA key.`);
  }
  const bits = modulusBits(jwk.n);
  if (bits < MIN_RSA_MODULUS_BITS) {
    throw new ConfigurationError(`${name} is a ${bits}-bit RSA key; at least ${MIN_RSA_MODULUS_BITS} bits are required.`);
  }
  const members = { kty: "RSA" as const, n: jwk.n, e: jwk.e };
  return { ...members, kid: await calculateJwkThumbprint(members, "sha256"), alg: SIGNING_ALGORITHM, use: "sig" };
}

function modulusBits(n: string): number {
  const bytes = Uint8Array.from(atob(n.replace(/-/g, "+").replace(/_/g, "/")), (ch) => ch.charCodeAt(0));
  let start = 0;
  while (start < bytes.length && bytes[start] === 0) start++;
  if (start === bytes.length) return 0;
  return (bytes.length - start - 1) * 8 + (32 - Math.clz32(bytes[start]!));
}

function parseJson(text: string, name: string): JWK {
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) return value as JWK;
  } catch {
    // fall through to the clear error below
  }
  throw new ConfigurationError(`${name} is not valid JSON for a JWK.`);
}

function parseKeyList(text: string | undefined): JWK[] {
  if (!text?.trim()) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigurationError("PREVIOUS_PUBLIC_KEYS is not valid JSON (a JWK array or a JWKS object).");
  }
  const list = Array.isArray(value) ? value : (value as { keys?: unknown })?.keys;
  if (!Array.isArray(list)) {
    throw new ConfigurationError("PREVIOUS_PUBLIC_KEYS must be a JSON array of JWKs or a {\"keys\": [...]} object.");
  }
  return list as JWK[];
}
