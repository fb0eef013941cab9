/**
 * The MAC key that authenticates refresh tokens (`REFRESH_TOKEN_KEY`, a Worker secret), and the
 * previous one during a rotation (`PREVIOUS_REFRESH_TOKEN_KEY`). D1 holds no key and no token, so a
 * dump of it alone can neither use nor mint a refresh token. Imported once per isolate.
 */
import { base64url } from "jose";
import { ConfigurationError } from "../domain-errors";

export const MIN_REFRESH_TOKEN_KEY_BYTES = 32;

export interface RefreshTokenKeys {
  /** Signs new tokens. */
  current: CryptoKey;
  /** Every key a token may have been signed with: current first. */
  accepted: CryptoKey[];
}

let cached: { source: string; keys: Promise<RefreshTokenKeys> } | undefined;

export function getRefreshTokenKeys(env: { REFRESH_TOKEN_KEY?: string; PREVIOUS_REFRESH_TOKEN_KEY?: string }): Promise<RefreshTokenKeys> {
  const source = `${env.REFRESH_TOKEN_KEY ?? ""}\u0000${env.PREVIOUS_REFRESH_TOKEN_KEY ?? ""}`;
  if (cached?.source !== source) {
    const keys = load(env.REFRESH_TOKEN_KEY, env.PREVIOUS_REFRESH_TOKEN_KEY);
    cached = { source, keys };
    keys.catch(() => {
      if (cached?.keys === keys) cached = undefined;
    });
  }
  return cached.keys;
}

async function load(current: string | undefined, previous: string | undefined): Promise<RefreshTokenKeys> {
  if (!current?.trim()) {
    throw new ConfigurationError("REFRESH_TOKEN_KEY is not set: put 32 random bytes, base64url-encoded, in the Worker secret (npm run keys:generate prints one).");
  }
  const currentKey = await importMacKey(current, "REFRESH_TOKEN_KEY");
  const previousKey = previous?.trim() ? [await importMacKey(previous, "PREVIOUS_REFRESH_TOKEN_KEY")] : [];
  return { current: currentKey, accepted: [currentKey, ...previousKey] };
}

async function importMacKey(text: string, name: string): Promise<CryptoKey> {
  let bytes: Uint8Array;
  try {
    bytes = base64url.decode(text.trim());
  } catch {
    throw new ConfigurationError(`${name} is not base64url.`);
  }
  if (bytes.length < MIN_REFRESH_TOKEN_KEY_BYTES) {
    throw new ConfigurationError(`${name} is ${bytes.length} bytes; at least ${MIN_REFRESH_TOKEN_KEY_BYTES} random bytes are required.`);
  }
  return crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
}
