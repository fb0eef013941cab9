/**
 * Access tokens: the one place that signs and verifies them. Pins RS256, `typ: at+jwt`, issuer,
 * audience, required claims and clock leeway, so no caller can loosen them by accident.
 */
import { errors, jwtVerify, SignJWT } from "jose";
import type { Config } from "../config";
import type { KeyMaterial } from "../keys";
import { SIGNING_ALGORITHM } from "../keys";

export const ACCESS_TOKEN_TYPE = "at+jwt";
export const CLOCK_TOLERANCE_SECONDS = 60;

export interface AccessTokenClaims {
  iss: string;
  aud: string;
  sub: string;
  iat: number;
  exp: number;
  jti: string;
  /** Session (refresh-token family) id. */
  sid: string;
  role: string;
}

export interface AccessTokenInput {
  userId: string;
  sessionId: string;
  role: string;
  jti: string;
  /** Unix seconds. Given explicitly so a grace-window retry can reproduce the same token. */
  issuedAt: number;
}

/** Signs an access token. Same input, same key: byte-identical output (RS256 is deterministic). */
export async function signAccessToken(input: AccessTokenInput, keys: KeyMaterial, config: Config): Promise<string> {
  return new SignJWT({ sid: input.sessionId, role: input.role })
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, typ: ACCESS_TOKEN_TYPE, kid: keys.kid })
    .setIssuer(config.issuer)
    .setAudience(config.audience)
    .setSubject(input.userId)
    .setJti(input.jti)
    .setIssuedAt(input.issuedAt)
    .setExpirationTime(input.issuedAt + config.accessTokenTtlSeconds)
    .sign(keys.signingKey);
}

/** Thrown for any token that must not be accepted; the message is safe to show. */
export class InvalidAccessTokenError extends Error {}

/** Verifies signature, header and claims; returns the claims or throws {@link InvalidAccessTokenError}. */
export async function verifyAccessToken(token: string, keys: KeyMaterial, config: Config): Promise<AccessTokenClaims> {
  try {
    const { payload } = await jwtVerify(token, keys.verificationKeys, {
      algorithms: [SIGNING_ALGORITHM],
      typ: ACCESS_TOKEN_TYPE,
      issuer: config.issuer,
      audience: config.audience,
      requiredClaims: ["exp", "iat", "sub", "jti", "sid"],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    if (
      typeof payload.sub !== "string" ||
      typeof payload.jti !== "string" ||
      typeof payload.sid !== "string" ||
      typeof payload.iat !== "number" ||
      typeof payload.exp !== "number"
    ) {
      throw new InvalidAccessTokenError("The access token has malformed claims.");
    }
    // jose only checks that exp is not past. A token this service issued is never issued in the
    // future (that would survive every per-user cutoff) nor lives longer than the configured TTL
    // (exp = 1e20 would never expire and overflows the KV TTL of its revocation entry).
    const now = Math.floor(Date.now() / 1000);
    if (payload.iat > now + CLOCK_TOLERANCE_SECONDS || payload.exp > now + config.accessTokenTtlSeconds + CLOCK_TOLERANCE_SECONDS) {
      throw new InvalidAccessTokenError("The access token has an impossible lifetime.");
    }
    return {
      iss: config.issuer,
      aud: config.audience,
      sub: payload.sub,
      iat: payload.iat,
      exp: payload.exp,
      jti: payload.jti,
      sid: payload.sid,
      role: typeof payload.role === "string" ? payload.role : "user",
    };
  } catch (err) {
    if (err instanceof InvalidAccessTokenError) throw err;
    if (err instanceof errors.JWTExpired) throw new InvalidAccessTokenError("The access token has expired.");
    // Anything else the parser or verifier rejects is an invalid token, never a server error.
    throw new InvalidAccessTokenError("The access token is invalid.");
  }
}
