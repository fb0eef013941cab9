/**
 * The MAC key that authenticates refresh tokens (`REFRESH_TOKEN_KEY`, a Worker secret), and the
 * ones accepted around a rotation: the next key, rolled out before it signs anything
 * (`NEXT_REFRESH_TOKEN_KEY`), so that every location already accepts its tokens when it becomes the
 * current one, and the previous key (`PREVIOUS_REFRESH_TOKEN_KEY`), so that tokens it signed keep
 * working. D1 holds no key and no token, so a dump of it alone can neither use nor mint a refresh
 * token. Imported once per isolate.
 */
import { base64url } from "jose";
import { ConfigurationError } from "../domain-errors";

export const MIN_REFRESH_TOKEN_KEY_BYTES = 32;

export interface RefreshTokenKeys {
  /** Signs new tokens. */
  current: CryptoKey;
  /** Every key a token may have been signed with: current first, then next, then previous. */
  accepted: CryptoKey[];
}

let cached: { source: string; keys: Promise<RefreshTokenKeys> } | undefined;

/** The secrets the refresh-token keys come from. */
export interface RefreshTokenKeySource {
  REFRESH_TOKEN_KEY?: string;
  NEXT_REFRESH_TOKEN_KEY?: string;
  PREVIOUS_REFRESH_TOKEN_KEY?: string;
}

export function getRefreshTokenKeys(env: RefreshTokenKeySource): Promise<RefreshTokenKeys> {
  const source = [env.REFRESH_TOKEN_KEY, env.NEXT_REFRESH_TOKEN_KEY, env.PREVIOUS_REFRESH_TOKEN_KEY].map((key) => key ?? "").join("\u0000");
  if (cached?.source !== source) {
    const keys = load(env);
    cached = { source, keys };
    keys.catch(() => {
      if (cached?.keys === keys) cached = undefined;
    });
  }
  return cached.keys;
}

async function load(env: RefreshTokenKeySource): Promise<RefreshTokenKeys> {
  if (!env.REFRESH_TOKEN_KEY?.trim()) {
    throw new ConfigurationError("REFRESH_TOKEN_KEY is not set: put 32 random bytes, base64url-encoded, in the Worker secret (npm run keys:generate prints one).");
  }
  const current = await importMacKey(env.REFRESH_TOKEN_KEY, "REFRESH_TOKEN_KEY");
  const others: CryptoKey[] = [];
  for (const name of ["NEXT_REFRESH_TOKEN_KEY", "PREVIOUS_REFRESH_TOKEN_KEY"] as const) {
    const text = env[name];
    if (text?.trim()) others.push(await importMacKey(text, name));
  }
  return { current, accepted: [current, ...others] };
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
