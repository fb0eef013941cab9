/**
 * Password hashing at OWASP strength within the Workers platform limit.
 *
 * Production Workers refuse any single PBKDF2 call above 100,000 iterations. OWASP asks for
 * PBKDF2-HMAC-SHA256 at 600,000. We chain `rounds` PBKDF2 calls of `iterations` each, every round
 * keyed by the password and salted with the salt plus the previous round's output, so a guess costs
 * iterations x rounds sequential HMACs and no single call exceeds the cap.
 *
 * Stored format (PHC string style): `$pbkdf2c-sha256$v=1$i=100000,r=6$<salt>$<hash>`
 * with standard base64 without padding.
 */

export const PBKDF2_MAX_ITERATIONS_PER_CALL = 100_000;

export interface PasswordParams {
  /** PBKDF2 iterations per call; never above {@link PBKDF2_MAX_ITERATIONS_PER_CALL}. */
  iterations: number;
  /** Number of chained calls. */
  rounds: number;
}

/** Current parameters: 6 x 100,000 = 600,000 PBKDF2-HMAC-SHA256 iterations (OWASP 2023+). */
export const CURRENT_PASSWORD_PARAMS: PasswordParams = { iterations: 100_000, rounds: 6 };

const SCHEME = "pbkdf2c-sha256";
const VERSION = 1;
const SALT_BYTES = 16;
const MAX_ROUNDS = 64;
const HASH_BITS = 256;
const encoder = new TextEncoder();

/** Hashes a password with a fresh 16-byte salt. */
export async function hashPassword(password: string, params: PasswordParams = CURRENT_PASSWORD_PARAMS): Promise<string> {
  assertParams(params);
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, params);
  return `$${SCHEME}$v=${VERSION}$i=${params.iterations},r=${params.rounds}$${toBase64(salt)}$${toBase64(hash)}`;
}

export interface PasswordCheck {
  valid: boolean;
  /** True when the stored hash uses weaker or other parameters than the current ones. */
  needsRehash: boolean;
}

/** Verifies in constant time. A malformed stored hash never verifies. */
export async function verifyPassword(
  password: string,
  stored: string,
  current: PasswordParams = CURRENT_PASSWORD_PARAMS,
): Promise<PasswordCheck> {
  const parsed = parse(stored);
  if (!parsed) return { valid: false, needsRehash: true };
  const actual = await derive(password, parsed.salt, parsed.params);
  const valid = actual.byteLength === parsed.hash.byteLength && crypto.subtle.timingSafeEqual(actual, parsed.hash);
  // Weaker than today's parameters: upgraded on this login. Stronger ones are kept.
  const needsRehash = parsed.params.iterations * parsed.params.rounds < current.iterations * current.rounds;
  return { valid, needsRehash };
}

/**
 * A well-formed hash at the current parameters that matches no password. Built from constants, so
 * the first unknown-email login of an isolate costs exactly one verification too.
 */
const DUMMY_HASH = `$${SCHEME}$v=${VERSION}$i=${CURRENT_PASSWORD_PARAMS.iterations},r=${CURRENT_PASSWORD_PARAMS.rounds}$ZHVtbXktc2FsdC0xNmJ5dA$aGFzaC10aGF0LW1hdGNoZXMtbm8tcGFzc3dvcmQtMzI`;

/**
 * Spends the same work as a real verification, for logins with an unknown email, so that the
 * response time does not reveal whether an account exists.
 */
export async function verifyAgainstDummy(password: string): Promise<void> {
  await verifyPassword(password, DUMMY_HASH);
}

async function derive(password: string, salt: Uint8Array, params: PasswordParams): Promise<Uint8Array> {
  assertParams(params);
  const key = await crypto.subtle.importKey("raw", encoder.encode(password.normalize("NFC")), "PBKDF2", false, ["deriveBits"]);
  let block = new Uint8Array(0);
  for (let round = 0; round < params.rounds; round++) {
    const roundSalt = new Uint8Array(salt.length + block.length);
    roundSalt.set(salt);
    roundSalt.set(block, salt.length);
    block = new Uint8Array(
      await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: roundSalt, iterations: params.iterations }, key, HASH_BITS),
    );
  }
  return block;
}

function assertParams(params: PasswordParams) {
  if (!Number.isInteger(params.iterations) || params.iterations < 1 || params.iterations > PBKDF2_MAX_ITERATIONS_PER_CALL) {
    throw new Error(`PBKDF2 iterations per call must be 1..${PBKDF2_MAX_ITERATIONS_PER_CALL}`);
  }
  if (!Number.isInteger(params.rounds) || params.rounds < 1 || params.rounds > MAX_ROUNDS) {
    throw new Error(`PBKDF2 rounds must be 1..${MAX_ROUNDS}`);
  }
}

function parse(stored: string): { params: PasswordParams; salt: Uint8Array; hash: Uint8Array } | undefined {
  const match = /^\$pbkdf2c-sha256\$v=1\$i=(\d{1,7}),r=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(stored);
  if (!match) return undefined;
  const params = { iterations: Number(match[1]), rounds: Number(match[2]) };
  if (params.iterations > PBKDF2_MAX_ITERATIONS_PER_CALL || params.iterations < 1 || params.rounds < 1 || params.rounds > MAX_ROUNDS) {
    return undefined;
  }
  return { params, salt: fromBase64(match[3]!), hash: fromBase64(match[4]!) };
}

function toBase64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/=+$/, "");
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
}
