/**
 * The one place that signs and verifies access tokens (RFC 9068 JWTs). Pins RS256, `typ: at+jwt`,
 * issuer, audience, the required claims and the clock leeway, so no caller can loosen them.
 */
import { errors, jwtVerify, SignJWT } from "jose";
import { CLOCK_TOLERANCE_SECONDS } from "../config";
import { SIGNING_ALGORITHM, type KeyMaterial } from "../keys";

export const ACCESS_TOKEN_TYPE = "at+jwt";

/** The claims of every access token this service issues. */
export interface AccessTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  iat: number;
  exp: number;
  jti: string;
  /** The OAuth client the session belongs to (RFC 9068 section 2.2). */
  client_id: string;
  /** Session (refresh-token family) id. */
  sid: string;
  /** The user's roles (RFC 9068 section 2.2.3.1), sorted. */
  roles: string[];
  /** The roles' permissions, space-separated (RFC 8693 section 4.2); absent when there are none. */
  scope?: string;
  /** DEPRECATED, kept one release: one role for older downstream checks (src/roles/claims.ts); absent on an API key's tokens. */
  role?: string;
  /** Whether the user proved to own their email (OIDC Core 5.1). */
  email_verified: boolean;
}

export interface Audience {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
}

/** Signs the claims. Same claims, same key: byte-identical output (RS256 is deterministic). */
export function signJwt(claims: AccessTokenClaims, keys: KeyMaterial): Promise<string> {
  const { iss, aud, sub, iat, exp, jti, ...rest } = claims;
  return new SignJWT(rest)
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, typ: ACCESS_TOKEN_TYPE, kid: keys.kid })
    .setIssuer(iss)
    .setAudience(aud)
    .setSubject(sub)
    .setJti(jti)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(keys.signingKey);
}

const isNonEmptyString = (value: unknown): value is string => typeof value === "string" && value.length > 0;
const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === "string");

/** Any token that must not be accepted; the message is safe to show. */
export class InvalidJwtError extends Error {}

/** Verifies signature, header and claims at `nowSeconds`; returns the claims or throws {@link InvalidJwtError}. */
export async function verifyJwt(token: string, keys: KeyMaterial, expected: Audience, nowSeconds: number): Promise<AccessTokenClaims> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, keys.verificationKeys, {
      algorithms: [SIGNING_ALGORITHM],
      typ: ACCESS_TOKEN_TYPE,
      issuer: expected.issuer,
      audience: expected.audience,
      requiredClaims: ["exp", "iat", "sub", "jti", "sid", "client_id"],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      currentDate: new Date(nowSeconds * 1000),
    }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new InvalidJwtError("The access token has expired.");
    // Anything else the parser or verifier rejects is an invalid token, never a server error.
    throw new InvalidJwtError("The access token is invalid.");
  }
  const { sub, jti, sid, client_id, iat, exp, roles, scope, role, email_verified } = payload;
  // Present is not enough: an empty subject, token id, session or client names nobody.
  const wellTyped =
    isNonEmptyString(sub) &&
    isNonEmptyString(jti) &&
    isNonEmptyString(sid) &&
    isNonEmptyString(client_id) &&
    typeof iat === "number" &&
    typeof exp === "number" &&
    // Tokens issued before `roles` existed carry `role` only (for one access-token lifetime after the upgrade).
    (roles === undefined || isStringArray(roles)) &&
    (scope === undefined || typeof scope === "string") &&
    (role === undefined || typeof role === "string") &&
    (email_verified === undefined || typeof email_verified === "boolean");
  if (!wellTyped) throw new InvalidJwtError("The access token has malformed claims.");
  // jose only checks that exp is not past. A token this service issued is never issued in the
  // future (that would survive every per-user cutoff) nor lives longer than the configured TTL
  // (exp = 1e20 would never expire and overflows the KV TTL of its revocation entry).
  if (iat > nowSeconds + CLOCK_TOLERANCE_SECONDS || exp > nowSeconds + expected.accessTokenTtlSeconds + CLOCK_TOLERANCE_SECONDS) {
    throw new InvalidJwtError("The access token has an impossible lifetime.");
  }
  return {
    iss: expected.issuer,
    aud: expected.audience,
    sub,
    iat,
    exp,
    jti,
    client_id,
    sid,
    roles: roles ?? (role === undefined ? [] : [role]),
    ...(scope === undefined ? {} : { scope }),
    ...(role === undefined ? {} : { role }),
    email_verified: email_verified === true,
  };
}
