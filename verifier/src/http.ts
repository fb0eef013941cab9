/**
 * Framework-neutral HTTP pieces: reading the Bearer token (RFC 6750 section 2.1), the permission
 * checks, and the 401 / 403 / 503 answers with their RFC 6750 `WWW-Authenticate` challenges.
 */
import type { VerifiedClaims } from "./claims.js";
import { InsufficientScopeError, MissingTokenError, VerificationError, VerifierUnavailableError } from "./errors.js";
import { MAX_TOKEN_LENGTH } from "./verifier.js";

/** `Bearer` then one b64token (RFC 6750 section 2.1); the scheme name is case-insensitive. */
const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i;
/** Characters allowed in a quoted challenge value: printable ASCII without `"` and `\` (RFC 6750 section 3). */
const QUOTABLE = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;
/** RFC 6749 section 3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

/**
 * The token of an `Authorization: Bearer ...` header value. Throws {@link MissingTokenError} when
 * there is no header and {@link VerificationError} when it is not a well-formed Bearer credential.
 */
export function readBearerToken(authorization: string | null | undefined): string {
  if (authorization === undefined || authorization === null || authorization === "") throw new MissingTokenError();
  const token = BEARER.exec(authorization)?.[1];
  if (token === undefined || token.length > MAX_TOKEN_LENGTH) {
    throw new VerificationError("The Authorization header is not a valid Bearer token.");
  }
  return token;
}

/** Throws {@link InsufficientScopeError} unless the token grants every one of `scopes`. */
export function assertScopes(claims: VerifiedClaims, scopes: readonly string[]): void {
  if (!scopes.every((scope) => claims.scopes.includes(scope))) throw new InsufficientScopeError(scopes);
}

/** Throws {@link InsufficientScopeError} unless the token has at least one of `roles`. */
export function assertAnyRole(claims: VerifiedClaims, roles: readonly string[]): void {
  if (!roles.some((role) => claims.roles.includes(role))) throw new InsufficientScopeError();
}

/** Throws a TypeError at setup time for a scope that could not be named in a challenge. */
export function checkScopeNames(scopes: readonly string[]): void {
  if (scopes.length === 0) throw new TypeError("name at least one scope");
  for (const scope of scopes) if (!SCOPE_TOKEN.test(scope)) throw new TypeError(`not a valid scope name: ${JSON.stringify(scope)}`);
}

/** Throws a TypeError at setup time for a realm that cannot be quoted in a challenge. */
export function checkRealm(realm: string | undefined): void {
  if (realm !== undefined && !QUOTABLE.test(realm)) throw new TypeError('realm must be printable ASCII without " or \\');
}

/** What to answer for an authentication or authorization failure. */
export interface AuthErrorAnswer {
  status: 401 | 403 | 503;
  headers: Record<string, string>;
  body: { error: string; error_description: string };
}

/**
 * The answer for an error thrown by {@link readBearerToken}, a verifier, {@link assertScopes} or
 * {@link assertAnyRole}; `undefined` for any other error (rethrow it).
 */
export function authErrorAnswer(error: unknown, options: { realm?: string } = {}): AuthErrorAnswer | undefined {
  const realm = options.realm === undefined ? [] : [`realm="${quotable(options.realm)}"`];
  const challenge = (params: string[]) => ({ "WWW-Authenticate": params.length === 0 ? "Bearer" : `Bearer ${params.join(", ")}` });
  const answer = (status: AuthErrorAnswer["status"], code: string, description: string, headers: Record<string, string>) => ({
    status,
    headers,
    body: { error: code, error_description: description },
  });
  if (error instanceof MissingTokenError) return answer(401, error.code, error.description, challenge(realm));
  if (error instanceof VerificationError) {
    const params = [...realm, `error="invalid_token"`, `error_description="${quotable(error.description)}"`];
    return answer(401, error.code, error.description, challenge(params));
  }
  if (error instanceof InsufficientScopeError) {
    const scope = error.requiredScopes.length > 0 ? [`scope="${quotable(error.requiredScopes.join(" "))}"`] : [];
    return answer(403, error.code, error.description, challenge([...realm, `error="insufficient_scope"`, ...scope]));
  }
  if (error instanceof VerifierUnavailableError) return answer(503, error.code, error.description, { "Retry-After": "5" });
  return undefined;
}

/** Drops what a quoted challenge value cannot carry; the values here are ours, this is a safety net. */
function quotable(value: string): string {
  return [...value].filter((char) => QUOTABLE.test(char)).join("");
}
