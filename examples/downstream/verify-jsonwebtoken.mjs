// Verifies the edge token service's access tokens in Node with jsonwebtoken + jwks-rsa, and checks
// permissions from the token's `scope` (and roles from `roles`).
//   node verify-jsonwebtoken.mjs TOKEN [SCOPE...]   prints the claims, or exits 1 with the reason
// Settings: ISSUER, AUDIENCE, JWKS_URI (defaults: the service on http://localhost:8787).
import jwt from "jsonwebtoken";
import jwksRsa from "jwks-rsa";

/** A valid token without a permission a route needs: answer 403 with error="insufficient_scope". */
export class InsufficientScopeError extends Error {
  name = "InsufficientScopeError";
}

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
        if (typeof payload !== "object" || typeof payload.exp !== "number" || typeof payload.sub !== "string" || !payload.jti ||
          typeof payload.client_id !== "string" || payload.client_id === "") {
          return reject(new Error("missing required claims"));
        }
        if ((payload.scope !== undefined && typeof payload.scope !== "string") || (payload.roles !== undefined && !Array.isArray(payload.roles))) {
          return reject(new Error("malformed scope or roles"));
        }
        resolve(payload);
      });
    });
}

/** The permissions of the space-separated `scope` claim ([] when absent). */
export const scopesOf = (claims) => (claims.scope ?? "").split(" ").filter(Boolean);

/** The `roles` claim; tokens from before it existed carry the single, deprecated `role`. */
export const rolesOf = (claims) => claims.roles ?? (claims.role === undefined ? [] : [claims.role]);

/** Throws {@link InsufficientScopeError} unless the token grants every one of `required`. */
export function requireScopes(claims, ...required) {
  const missing = required.filter((scope) => !scopesOf(claims).includes(scope));
  if (missing.length > 0) throw new InsufficientScopeError(`insufficient permissions: needs ${missing.join(" ")}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const issuer = process.env.ISSUER ?? "http://localhost:8787";
  const verify = createVerifier({
    issuer,
    audience: process.env.AUDIENCE ?? "http://localhost:8787",
    jwksUri: process.env.JWKS_URI ?? `${issuer}/.well-known/jwks.json`,
  });
  const [token = "", ...required] = process.argv.slice(2);
  verify(token).then(
    (claims) => {
      requireScopes(claims, ...required);
      console.log(JSON.stringify({ claims, roles: rolesOf(claims), scopes: scopesOf(claims) }, null, 2));
    },
  ).catch((err) => {
    console.error(`rejected: ${err.name}: ${err.message}`);
    process.exit(1);
  });
}
