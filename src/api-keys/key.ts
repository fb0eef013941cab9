/**
 * The API key itself: `etsk_` and 32 random bytes, base64url (48 characters). The fixed prefix lets
 * secret scanners (and people) recognise a leaked key; the 256 random bits make a plain SHA-256 the
 * right stored form (nothing to brute-force, so no slow hash). The key never names its id: the
 * client presents the id as `client_id` and the key as the client secret.
 */
import { base64url } from "jose";

export const API_KEY_PREFIX = "etsk_";
const SECRET_BYTES = 32;
/** What a presented key must look like before it is hashed. */
export const API_KEY_SHAPE = /^etsk_[A-Za-z0-9_-]{43}$/;
/** How much of the key lists show: the prefix and 6 more characters (36 of its 256 bits). */
const SHOWN_LENGTH = API_KEY_PREFIX.length + 6;

const encoder = new TextEncoder();

/** What D1 stores of a key: its SHA-256, base64url. */
export async function hashApiKey(key: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(key))));
}

/** A fresh key, the part of it lists show, and its hash. */
export async function mintApiKey(): Promise<{ key: string; prefix: string; secretHash: string }> {
  const key = API_KEY_PREFIX + base64url.encode(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
  return { key, prefix: key.slice(0, SHOWN_LENGTH), secretHash: await hashApiKey(key) };
}

/** Constant-time comparison of two stored-form hashes (base64url of 32 bytes). */
export function sameHash(presented: string, stored: string): boolean {
  const a = base64url.decode(presented);
  const b = base64url.decode(stored);
  return a.length === b.length && crypto.subtle.timingSafeEqual(a, b);
}
