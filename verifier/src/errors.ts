/**
 * The errors the verifier throws. Each carries an OAuth error code and a description that is safe
 * to send to the client (it never contains token contents or upstream responses).
 */

/** The token must not be accepted: answer 401 `invalid_token` (RFC 6750 section 3.1). */
export class VerificationError extends Error {
  readonly code = "invalid_token";
  override name = "VerificationError";

  constructor(
    /** Safe to show to the client. */
    readonly description: string,
    options?: { cause?: unknown },
  ) {
    super(description, options);
  }
}

/** No token was presented at all: 401 with a bare challenge (no `error` attribute, RFC 6750 section 3.1). */
export class MissingTokenError extends VerificationError {
  override name = "MissingTokenError";

  constructor() {
    super("A Bearer access token is required.");
  }
}

/** A valid token without the permission a route needs: answer 403 `insufficient_scope`. */
export class InsufficientScopeError extends Error {
  readonly code = "insufficient_scope";
  readonly description = "insufficient permissions";
  override name = "InsufficientScopeError";

  constructor(
    /** The scopes the route requires, for the challenge's `scope` attribute; absent for role checks. */
    readonly requiredScopes: readonly string[] = [],
  ) {
    super("insufficient permissions");
  }
}

/**
 * The token could not be checked because the issuer's JWKS or introspection endpoint could not be
 * used (network error, timeout, non-200, malformed answer, rejected resource-server credentials).
 * Fail closed but do not blame the token: answer 503 `temporarily_unavailable`.
 */
export class VerifierUnavailableError extends Error {
  readonly code = "temporarily_unavailable";
  readonly description = "The access token cannot be checked right now.";
  override name = "VerifierUnavailableError";

  constructor(
    /** For logs only: what went wrong upstream. Never send it to the client. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(detail, options);
  }
}
