/**
 * Refresh tokens: `<family id>.<generation>.<secret>.<tag>`. The secret is 256 bits (random at
 * login, derived at each rotation: below); the tag is the first half of HMAC-SHA-256 of the rest
 * under REFRESH_TOKEN_KEY, and proves that the service issued a token of any generation without a
 * row per token. D1 keeps only the tags of a family's current token and of its parent: the secret
 * cannot be recovered from a tag. The MAC's other half is the `jti` of the access token issued with
 * the token. A token from before the one-row-per-family upgrade is 43 base64url characters (256
 * random bits) and is looked up by its SHA-256.
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

/** A refresh token the service made, with what goes with it. */
export interface IssuedRefreshToken {
  token: string;
  /** What D1 stores of it: its tag, a MAC of the rest (the secret cannot be recovered from it). */
  storedHash: string;
  /** The `jti` of the access token issued with it: the other half of the same MAC, unlinkable to the tag without the key. */
  accessTokenId: string;
}

/** HMAC-SHA-256 of `signed`: its first half is the tag, its second the access token's `jti`. */
async function macOf(key: CryptoKey, signed: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(signed)));
}

async function issue(key: CryptoKey, signed: string): Promise<IssuedRefreshToken> {
  const mac = await macOf(key, signed);
  const tag = base64url.encode(mac.subarray(0, TAG_BYTES));
  return { token: `${signed}.${tag}`, storedHash: tag, accessTokenId: base64url.encode(mac.subarray(TAG_BYTES, 2 * TAG_BYTES)) };
}

/** A new token of `generation` in the family, with a random secret (a login). */
export function mintRefreshToken(keys: RefreshTokenKeys, familyId: string, generation: number): Promise<IssuedRefreshToken> {
  return issue(keys.current, `${familyId}.${generation}.${base64url.encode(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)))}`);
}

/** A fresh nonce for a rotation: 128 random bits, base64url. */
export const newChildNonce = (): string => base64url.encode(crypto.getRandomValues(new Uint8Array(NONCE_BYTES)));

/**
 * The child of `parentToken` in the family: its secret is HMAC(key, "child" NUL nonce NUL parent),
 * so the same parent, nonce and key always give the same child (a grace retry), and nobody without
 * the key and the nonce can compute it. The MAC inputs cannot collide with a tag's, which start with
 * the family id.
 */
export async function deriveChildToken(key: CryptoKey, nonce: string, parentToken: string, familyId: string, generation: number): Promise<IssuedRefreshToken> {
  const secret = await macOf(key, `child\u0000${nonce}\u0000${parentToken}`);
  return issue(key, `${familyId}.${generation}.${base64url.encode(secret)}`);
}

/** True when the service issued this token (its tag verifies under the current or previous key). */
export async function isAuthentic(keys: RefreshTokenKeys, presented: Extract<PresentedRefreshToken, { kind: "family" }>): Promise<boolean> {
  const tag = base64url.decode(presented.tag);
  for (const key of keys.accepted) {
    if (crypto.subtle.timingSafeEqual((await macOf(key, presented.signed)).subarray(0, TAG_BYTES), tag)) return true;
  }
  return false;
}

/**
 * What D1 stores of a presented token: a family token's tag (the caller checks `isAuthentic`), a
 * pre-upgrade token's SHA-256. The two never collide: 22 characters against 43.
 */
export function storedHashOf(presented: PresentedRefreshToken): Promise<string> {
  return presented.kind === "family" ? Promise.resolve(presented.tag) : hashRefreshToken(presented.token);
}

/** SHA-256, base64url: what D1 stores of a pre-upgrade (legacy) token. */
export async function hashRefreshToken(token: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(token))));
}

/**
 * The `jti` that rotations before child derivation gave the access token issued with `refreshToken`
 * (a grace retry of such a family must answer the same access token).
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
