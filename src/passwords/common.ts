/**
 * Refuses the most common passwords (ASVS v5 6.2.4: at least the top 3,000 that meet the password
 * policy). The list is the `passwords-common` dictionary of the @zxcvbn-ts/language-common package,
 * reduced at build time by scripts/generate-common-passwords.mjs to its 5,000 most common entries of
 * 8 or more characters. Shorter entries are left out on purpose: the 8-character minimum refuses
 * them first, so call this only for passwords that passed the length rule.
 *
 * The entries ship exact (front-coded: about 12.4 KB of the gzipped worker), so there are no false positives.
 */
import { COMMON_PASSWORD_LIST, COMMON_PASSWORDS_FRONT_CODED } from "./common-passwords.generated";

export { COMMON_PASSWORD_LIST };

let commonPasswords: ReadonlySet<string> | undefined;

/**
 * True when the password, NFC-normalised (as it is hashed), trimmed and lower-cased, is one of the
 * {@link COMMON_PASSWORD_LIST} entries. Synchronous. The first call in an isolate decodes the list
 * into a set (1 to 5 ms, measured in Node), lazily so that isolates which never check a new password
 * do not pay it; later calls cost about half a microsecond.
 */
export function isCommonPassword(password: string): boolean {
  commonPasswords ??= new Set(decodeFrontCoded(COMMON_PASSWORDS_FRONT_CODED));
  return commonPasswords.has(password.normalize("NFC").trim().toLowerCase());
}

/**
 * Decodes the generator's format: space-separated tokens, each one base-36 digit (how many leading
 * characters the entry shares with the previous one) followed by the rest of the entry.
 */
export function decodeFrontCoded(encoded: string): string[] {
  const entries: string[] = [];
  let previous = "";
  for (const token of encoded.split(" ")) {
    const shared = parseInt(token.charAt(0), 36);
    if (!Number.isInteger(shared) || shared > previous.length) throw new Error("malformed front-coded password list");
    previous = previous.slice(0, shared) + token.slice(1);
    entries.push(previous);
  }
  return entries;
}
