/**
 * Opaque refresh tokens: 256 random bits, base64url. Only their SHA-256 is stored. A consumed
 * token's child is sealed under a key derived from the consumed (parent) token, so only a holder
 * of the parent can recover the child during the grace window.
 */
import { base64url } from "jose";

const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const SEAL_INFO = new TextEncoder().encode("edge-token-service/refresh-child/v1");
const encoder = new TextEncoder();

export function generateRefreshToken(): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(TOKEN_BYTES)));
}

/** Cheap shape check before any storage lookup. */
export function isWellFormedRefreshToken(token: unknown): token is string {
  return typeof token === "string" && TOKEN_PATTERN.test(token);
}

export async function hashRefreshToken(token: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(token))));
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

/** Encrypts the child token under a key only the parent token's holder can derive. */
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
