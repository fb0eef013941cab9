/**
 * Refresh tokens: `<family id>.<generation>.<secret>.<tag>`, where the secret is 256 bits (random at
 * login, derived at each rotation: below) and the tag a MAC (HMAC-SHA-256, 128 bits) of the rest under REFRESH_TOKEN_KEY. The tag proves that the
 * service issued a token of any generation without storing one row per token; D1 keeps only the
 * SHA-256 of the current token and of its parent. A token from before the one-row-per-family
 * upgrade is 43 base64url characters (256 random bits) and is looked up by its hash.
 *
 * A rotated-away parent gets its child again during the grace window: the child's secret is a MAC
 * under REFRESH_TOKEN_KEY of the parent token and a random nonce drawn at that rotation (kept in the
 * family's row until the next one), so the service derives the same child from the same parent, and
 * nothing of the child is stored. The nonce keeps the chain from being walked forward: the key and
 * an older token are not enough to compute the live one, since every earlier nonce is gone.
 * Families rotated before derivation hold their child sealed (AES-GCM) under a key derived (HKDF)
 * from the parent token instead, until their next rotation.
 */
import { base64url } from "jose";
import type { RefreshTokenKeys } from "../keys/refresh-token-keys";

export type PresentedRefreshToken =
  | { kind: "family"; token: string; familyId: string; generation: number; signed: string; tag: string }
  | { kind: "legacy"; token: string };

const FAMILY_TOKEN = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(0|[1-9][0-9]{0,8})\.[A-Za-z0-9_-]{43}\.([A-Za-z0-9_-]{22})$/;
const LEGACY_TOKEN = /^[A-Za-z0-9_-]{43}$/;
const SECRET_BYTES = 32;
const TAG_BYTES = 16;
const NONCE_BYTES = 16;
const SEAL_INFO = new TextEncoder().encode("edge-token-service/refresh-child/v1");
const encoder = new TextEncoder();

/** Parses a presented token's shape (no storage, no crypto); undefined when it cannot be one of ours. */
export function parseRefreshToken(token: unknown): PresentedRefreshToken | undefined {
  if (typeof token !== "string") return undefined;
  const match = FAMILY_TOKEN.exec(token);
  if (match) {
    const tag = match[3]!;
    return { kind: "family", token, familyId: match[1]!, generation: Number(match[2]), signed: token.slice(0, -tag.length - 1), tag };
  }
  return LEGACY_TOKEN.test(token) ? { kind: "legacy", token } : undefined;
}

async function tagOf(key: CryptoKey, signed: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(signed))).slice(0, TAG_BYTES);
}

/** A new token of `generation` in the family. */
export async function mintRefreshToken(keys: RefreshTokenKeys, familyId: string, generation: number): Promise<string> {
  const signed = `${familyId}.${generation}.${base64url.encode(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)))}`;
  return `${signed}.${base64url.encode(await tagOf(keys.current, signed))}`;
}

/** A fresh nonce for a rotation: 128 random bits, base64url. */
export const newChildNonce = (): string => base64url.encode(crypto.getRandomValues(new Uint8Array(NONCE_BYTES)));

/**
 * The child of `parentToken` in the family: its secret is HMAC(key, "child" NUL nonce NUL parent),
 * so the same parent, nonce and key always give the same child (a grace retry), and nobody without
 * the key and the nonce can compute it. The MAC inputs cannot collide with a tag's, which start with
 * the family id.
 */
export async function deriveChildToken(key: CryptoKey, nonce: string, parentToken: string, familyId: string, generation: number): Promise<string> {
  const secret = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(`child\u0000${nonce}\u0000${parentToken}`)));
  const signed = `${familyId}.${generation}.${base64url.encode(secret)}`;
  return `${signed}.${base64url.encode(await tagOf(key, signed))}`;
}

/** True when the service issued this token (its tag verifies under the current or previous key). */
export async function isAuthentic(keys: RefreshTokenKeys, presented: Extract<PresentedRefreshToken, { kind: "family" }>): Promise<boolean> {
  const tag = base64url.decode(presented.tag);
  for (const key of keys.accepted) {
    if (crypto.subtle.timingSafeEqual(await tagOf(key, presented.signed), tag)) return true;
  }
  return false;
}

/** What D1 stores of a token: its SHA-256, base64url. */
export async function hashRefreshToken(token: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(token))));
}

/**
 * The `jti` of the access token issued together with a refresh token: derived from it, so a grace
 * retry reproduces the same access token, and unlinkable to the stored hash.
 */
export async function accessTokenIdOf(refreshToken: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(`access-token-id\u0000${refreshToken}`));
  return base64url.encode(new Uint8Array(digest).slice(0, 16));
}

async function sealingKey(parentToken: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", encoder.encode(parentToken), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: SEAL_INFO },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

/** Encrypts the child token under a key only the parent token's holder can derive (how rotations before child derivation kept it; tests build such rows). */
export async function sealChildToken(parentToken: string, childToken: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await sealingKey(parentToken), encoder.encode(childToken));
  const sealed = new Uint8Array(iv.length + ciphertext.byteLength);
  sealed.set(iv);
  sealed.set(new Uint8Array(ciphertext), iv.length);
  return base64url.encode(sealed);
}

/** Recovers the child token, or undefined if the seal does not open with this parent. */
export async function openChildToken(parentToken: string, sealed: string): Promise<string | undefined> {
  try {
    const bytes = base64url.decode(sealed);
    const plaintext = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.slice(0, 12) }, await sealingKey(parentToken), bytes.slice(12));
    return new TextDecoder().decode(plaintext);
  } catch {
    return undefined;
  }
}
