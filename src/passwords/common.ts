/**
 * The common-password rule (ASVS v5 6.2.4: refuse at least the 3,000 most common passwords that meet
 * the policy). The list is the `passwords-common` dictionary of @zxcvbn-ts/language-common, reduced
 * by scripts/generate-common-passwords.mjs to its 5,000 most common entries of 8 or more characters
 * and stored in D1 (`common_passwords`, migration 0006). Shorter entries are left out on purpose:
 * the 8-character minimum refuses them first. Entries are exact: no false positives.
 */

/** The form the list holds and is looked up in: NFC (as hashed), trimmed, lower-cased. */
export const commonPasswordForm = (password: string): string => password.normalize("NFC").trim().toLowerCase();
