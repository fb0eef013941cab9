/**
 * Claim checks beyond what jose's jwtVerify does (it checks iss, aud, exp, nbf, presence and typ),
 * and the typed view of a verified access token.
 */
import type { JWTPayload } from "jose";
import { VerificationError } from "./errors.js";

/** The claims of a verified access token (RFC 9068 plus this service's `sid`, `roles`, `email_verified`). */
export interface VerifiedClaims {
  iss: string;
  aud: string | string[];
  /** The user id: for an API key's token (client_credentials), the key's owner, or `svc:<name>` for a service account. */
  sub: string;
  /** The OAuth client the token was issued to (RFC 9068). */
  client_id: string;
  jti: string;
  /** Unix seconds. */
  iat: number;
  /** Unix seconds. */
  exp: number;
  /** The session (refresh-token family) id; for an API key's token, the key's id (equal to `client_id`). */
  sid?: string;
  /** The user's roles; `[]` when the token has none. Falls back to the deprecated `role` claim. */
  roles: string[];
  /** The permissions of the space-separated `scope` claim; `[]` when absent. */
  scopes: string[];
  email_verified?: boolean;
  /** The whole verified payload, for claims this type does not name. */
  payload: JWTPayload;
}

/** The claims every access token must carry (jose checks their presence; this module their types). */
export const REQUIRED_CLAIMS = ["iss", "aud", "exp", "iat", "sub", "jti", "client_id"] as const;

export interface ClaimLimits {
  clockToleranceSeconds: number;
  maxTokenLifetimeSeconds: number;
  /** Unix seconds. */
  now: number;
}

const isNonEmptyString = (value: unknown): value is string => typeof value === "string" && value.length > 0;
const isStringArray = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === "string");

/** Checks the claim types and the token's lifetime, and returns the typed claims. */
export function toVerifiedClaims(payload: JWTPayload, limits: ClaimLimits): VerifiedClaims {
  const { sub, jti, client_id: clientId, sid, iat, exp, roles, role, scope, email_verified: emailVerified } = payload;
  const wellTyped =
    isNonEmptyString(sub) &&
    isNonEmptyString(jti) &&
    isNonEmptyString(clientId) &&
    typeof iat === "number" &&
    typeof exp === "number" &&
    (sid === undefined || isNonEmptyString(sid)) &&
    (roles === undefined || isStringArray(roles)) &&
    (role === undefined || typeof role === "string") &&
    (scope === undefined || typeof scope === "string") &&
    (emailVerified === undefined || typeof emailVerified === "boolean");
  if (!wellTyped) throw new VerificationError("The access token has malformed claims.");
  // jose only checks that exp is not past. A token issued in the future would outlive every
  // revocation cutoff, and one with an absurd exp would never expire.
  if (iat > limits.now + limits.clockToleranceSeconds || exp - iat > limits.maxTokenLifetimeSeconds || exp <= iat) {
    throw new VerificationError("The access token has an impossible lifetime.");
  }
  return {
    iss: payload.iss!,
    aud: payload.aud!,
    sub,
    client_id: clientId,
    jti,
    iat,
    exp,
    ...(sid === undefined ? {} : { sid }),
    roles: roles ?? (role === undefined ? [] : [role]),
    scopes: scope === undefined ? [] : scope.split(" ").filter(Boolean),
    ...(emailVerified === undefined ? {} : { email_verified: emailVerified }),
    payload,
  };
}
