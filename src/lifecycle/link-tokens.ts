/**
 * The tokens of emailed links (verification, password reset, email change): 33 random bytes,
 * base64url (44 characters). Stored only as SHA-256 of `purpose:token`, so a token is bound to its
 * purpose: a verification token hashes to nothing a reset would find.
 */
import { base64url } from "jose";
import type { LinkTokenPurpose } from "../stores/types";

/**
 * 264 bits. The token is drawn until its hash lands in its user's database, which fixes log2(N)
 * of them: at least 256 stay unpredictable with up to 256 databases.
 */
const TOKEN_BYTES = 33;

/** What a presented token must look like before anything is hashed or looked up. */
export const LINK_TOKEN_SHAPE = /^[A-Za-z0-9_-]{44}$/;

const encoder = new TextEncoder();

/** The stored form of a token: SHA-256 of `purpose:token`, base64url. */
export async function hashLinkToken(purpose: LinkTokenPurpose, token: string): Promise<string> {
  return base64url.encode(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(`${purpose}:${token}`))));
}

/** A fresh token whose hash `landsBeside` accepts (the database of its user); about N draws. */
export async function newLinkToken(purpose: LinkTokenPurpose, landsBeside: (tokenHash: string) => boolean): Promise<{ token: string; tokenHash: string }> {
  for (;;) {
    const token = base64url.encode(crypto.getRandomValues(new Uint8Array(TOKEN_BYTES)));
    const tokenHash = await hashLinkToken(purpose, token);
    if (landsBeside(tokenHash)) return { token, tokenHash };
  }
}
