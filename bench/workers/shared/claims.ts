/**
 * What the reference workers share with the service: the RS256 key from the same SIGNING_KEY secret
 * (a private JWK, as written by bench/run.mjs) and an access token of the service's exact shape.
 * Imported once per isolate, as the service does.
 */
import { importJWK, SignJWT, type JWK } from "jose";

export interface KeyEnv {
  SIGNING_KEY: string;
  ISSUER: string;
  AUDIENCE: string;
}

let keys: Promise<{ privateKey: CryptoKey; publicKey: CryptoKey; kid: string }> | undefined;

export function getKeys(env: KeyEnv) {
  keys ??= (async () => {
    const jwk = JSON.parse(env.SIGNING_KEY) as JWK;
    const privateKey = (await importJWK({ ...jwk, alg: "RS256" }, "RS256")) as CryptoKey;
    const publicKey = (await importJWK({ kty: "RSA", n: jwk.n, e: jwk.e, alg: "RS256" }, "RS256")) as CryptoKey;
    return { privateKey, publicKey, kid: jwk.kid ?? "bench" };
  })();
  return keys;
}

/** Exactly one RS256 SignJWT, with the claims and header of the service's access tokens. */
export async function signAccessToken(env: KeyEnv, sub: string, sid: string): Promise<string> {
  const { privateKey, kid } = await getKeys(env);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ client_id: "web", sid, role: "user" })
    .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid })
    .setIssuer(env.ISSUER)
    .setAudience(env.AUDIENCE)
    .setSubject(sub)
    .setJti(crypto.randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + 900)
    .sign(privateKey);
}

export const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
