// Verifies the edge token service's access tokens in Node with jsonwebtoken + jwks-rsa.
//   node verify-jsonwebtoken.mjs TOKEN   prints the claims, or exits 1 with the reason
// Settings: ISSUER, AUDIENCE, JWKS_URI (defaults: the service on http://localhost:8787).
import jwt from "jsonwebtoken";
import jwksRsa from "jwks-rsa";

/**
 * @param {{ issuer: string, audience: string, jwksUri: string }} options
 * @returns {(token: string) => Promise<import("jsonwebtoken").JwtPayload>}
 */
export function createVerifier({ issuer, audience, jwksUri }) {
  // Caches keys by kid; an unknown kid fetches the JWKS again (at most 10 times a minute).
  const keys = jwksRsa({ jwksUri, cache: true, cacheMaxAge: 10 * 60_000, rateLimit: true, jwksRequestsPerMinute: 10 });

  /** @type {import("jsonwebtoken").GetPublicKeyOrSecret} */
  const getKey = (header, callback) => {
    if (header.typ !== "at+jwt") return callback(new Error("not an access token (typ)"));
    keys.getSigningKey(header.kid).then((key) => callback(null, key.getPublicKey()), callback);
  };

  return (token) =>
    new Promise((resolve, reject) => {
      // algorithms pinned: never the token's own choice.
      jwt.verify(token, getKey, { algorithms: ["RS256"], issuer, audience, clockTolerance: 60 }, (err, payload) => {
        if (err) return reject(err);
        // jsonwebtoken checks exp only when present: require the claims the service always sets.
        if (typeof payload !== "object" || typeof payload.exp !== "number" || typeof payload.sub !== "string" || !payload.jti) {
          return reject(new Error("missing required claims"));
        }
        resolve(payload);
      });
    });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const issuer = process.env.ISSUER ?? "http://localhost:8787";
  const verify = createVerifier({
    issuer,
    audience: process.env.AUDIENCE ?? "http://localhost:8787",
    jwksUri: process.env.JWKS_URI ?? `${issuer}/.well-known/jwks.json`,
  });
  verify(process.argv[2] ?? "").then(
    (claims) => console.log(JSON.stringify(claims, null, 2)),
    (err) => {
      console.error(`rejected: ${err.name}: ${err.message}`);
      process.exit(1);
    },
  );
}
