#!/usr/bin/env node
// Prints a new RS256 signing key (private JWK) and its public JWK, and a new refresh-token MAC key,
// with the exact steps to install them as Worker secrets. Usage: npm run keys:generate [-- --json]
import { generateKeyPairSync, createHash, randomBytes } from "node:crypto";

/** The MAC key of refresh tokens (REFRESH_TOKEN_KEY): 32 random bytes, base64url. */
export const generateRefreshTokenKey = () => randomBytes(32).toString("base64url");

export function generateSigningKey() {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const publicJwk = publicKey.export({ format: "jwk" });
  const kid = createHash("sha256")
    .update(JSON.stringify({ e: publicJwk.e, kty: "RSA", n: publicJwk.n }))
    .digest("base64url");
  const privateJwk = { ...privateKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };
  return { kid, privateJwk, publicJwk: { kty: "RSA", n: publicJwk.n, e: publicJwk.e, kid, alg: "RS256", use: "sig" } };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const key = generateSigningKey();
  const refreshTokenKey = generateRefreshTokenKey();
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify({ ...key, refreshTokenKey }));
  } else {
    console.log(`New RS256 signing key, kid ${key.kid}

Private JWK (the SIGNING_KEY secret; never commit it):
${JSON.stringify(key.privateJwk)}

Public JWK (goes into PREVIOUS_PUBLIC_KEYS after the next rotation, or NEXT_PUBLIC_KEY before it):
${JSON.stringify(key.publicJwk)}

Rotation (README, "Key rotation"):
  1. Publish ahead (optional): set NEXT_PUBLIC_KEY to the public JWK above, deploy, wait > JWKS max-age.
  2. Keep the old key verifiable: add the CURRENT key's public JWK (from /.well-known/jwks.json, first entry)
     to PREVIOUS_PUBLIC_KEYS, e.g.  npx wrangler secret put PREVIOUS_PUBLIC_KEYS   (paste a JSON array)
  3. Switch signing:  npx wrangler secret put SIGNING_KEY   (paste the private JWK above)
  4. Unset NEXT_PUBLIC_KEY, deploy. After the access-token TTL, drop the old key from PREVIOUS_PUBLIC_KEYS.

New refresh-token MAC key (the REFRESH_TOKEN_KEY secret; never commit it):
${refreshTokenKey}

First deployment:  npx wrangler secret put REFRESH_TOKEN_KEY   (paste it)
Rotation (README, "Key rotation"): put this one into NEXT_REFRESH_TOKEN_KEY and wait a few minutes;
then, in one deployment (wrangler secret bulk), the current value into PREVIOUS_REFRESH_TOKEN_KEY and
this one into REFRESH_TOKEN_KEY; delete NEXT_REFRESH_TOKEN_KEY, and PREVIOUS_REFRESH_TOKEN_KEY after
SESSION_ABSOLUTE_TTL_SECONDS.
`);
  }
}
