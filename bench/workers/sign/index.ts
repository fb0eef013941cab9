/**
 * Reference `sign`: exactly one RS256 jose SignJWT with a 2048-bit key per request (the floor of
 * /auth/login without its password hash). `/pbkdf2` (used once, for "CPU per login") runs only the
 * password hash of a login: 6 chained PBKDF2-HMAC-SHA256 calls of 100,000 iterations.
 */
import { json, signAccessToken, type KeyEnv } from "../shared/claims";

const ROUNDS = 6;
const ITERATIONS = 100_000;

async function passwordHash(): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("bench password"), "PBKDF2", false, ["deriveBits"]);
  const salt = crypto.getRandomValues(new Uint8Array(16));
  let block = new Uint8Array(0);
  for (let round = 0; round < ROUNDS; round++) {
    const roundSalt = new Uint8Array([...salt, ...block]);
    block = new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: roundSalt, iterations: ITERATIONS }, key, 256));
  }
  return block;
}

export default {
  async fetch(request: Request, env: KeyEnv) {
    if (new URL(request.url).pathname === "/pbkdf2") return json({ bytes: (await passwordHash()).length });
    return json({ access_token: await signAccessToken(env, "bench-user", "bench-session") });
  },
};
