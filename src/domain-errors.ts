/**
 * The errors services throw. They name what went wrong in the domain's words and know nothing of
 * HTTP: `src/errors.ts` maps each code to a status, an RFC 6749 error code and headers.
 */

/** Every error code a service (or the HTTP layer, for its own checks) can raise. */
export type ErrorCode =
  /** Input the caller can fix; `field` names what is wrong. */
  | "invalid_request"
  | "invalid_credentials"
  /** A refresh token that is unknown, expired, revoked or replayed. */
  | "invalid_grant"
  /** An access token that is missing, invalid, expired or revoked, or whose account is gone. */
  | "invalid_token"
  | "insufficient_scope"
  | "invalid_client"
  /** A token request asked for permissions its client (an API key) does not grant (RFC 6749 section 5.2). */
  | "invalid_scope"
  | "unsupported_grant_type"
  | "email_taken"
  /** The password was right, but the service requires a verified email first (REQUIRE_VERIFIED_EMAIL). */
  | "email_not_verified"
  | "not_found"
  | "rate_limited"
  /** D1 or KV failed: fail closed. */
  | "storage_unavailable"
  /** The email could not be handed to the Email Service: nothing was left half-done. */
  | "email_unavailable"
  /** A grace retry whose child this isolate cannot rebuild yet (a key change rolling out): nothing changed. */
  | "retry_later"
  /** A required setting or secret is missing or unusable. */
  | "misconfigured"
  // Raised by the HTTP layer itself:
  /** No access token at all (a challenge without an error code, RFC 6750 section 3.1). */
  | "token_required"
  | "invalid_origin"
  | "payload_too_large"
  | "method_not_allowed"
  /** Anything unexpected. */
  | "internal_error";

export interface ErrorDetail {
  /** The input field at fault (invalid_request). */
  field?: string;
  /** Seconds after which a retry may succeed (rate_limited, storage_unavailable, retry_later). */
  retryAfterSeconds?: number;
  /** Methods a path accepts (method_not_allowed). */
  allow?: string;
  /** Scopes the caller lacks (insufficient_scope). */
  scope?: string;
  /** The authentication scheme to challenge with (invalid_client, RFC 6749 section 5.2). */
  challenge?: string;
}

/** A failure with a stable code and a description that is safe to show to the caller. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    description: string,
    readonly detail: ErrorDetail = {},
    options?: ErrorOptions,
  ) {
    super(description, options);
    this.name = "DomainError";
  }
}

/** The Rate Limiting binding counts in 60 s windows (wrangler.toml): that is when to retry. */
export const RATE_LIMIT_RETRY_AFTER_SECONDS = 60;

export const invalidRequest = (field: string, reason: string) => new DomainError("invalid_request", `${field}: ${reason}`, { field });
export const invalidCredentials = (description = "The email or password is incorrect.") => new DomainError("invalid_credentials", description);
export const invalidGrant = (description = "The refresh token is invalid, expired or revoked.") => new DomainError("invalid_grant", description);
export const invalidToken = (description = "The access token is invalid or expired.") => new DomainError("invalid_token", description);
export const notFound = (description: string) => new DomainError("not_found", description);
export const rateLimited = () =>
  new DomainError("rate_limited", "Too many requests. Retry later.", { retryAfterSeconds: RATE_LIMIT_RETRY_AFTER_SECONDS });

/** A D1 or KV failure. The cause is kept for the log line, never shown to the caller. */
export class StorageUnavailableError extends DomainError {
  constructor(cause: unknown) {
    super("storage_unavailable", "A storage dependency is unavailable. Retry shortly.", { retryAfterSeconds: 2 }, { cause });
    this.name = "StorageUnavailableError";
  }
}

/** The Email Service refused or failed to take a message. The cause is kept for the log line only. */
export class EmailUnavailableError extends DomainError {
  constructor(cause: unknown) {
    super("email_unavailable", "The email could not be sent. Retry shortly.", { retryAfterSeconds: 30 }, { cause });
    this.name = "EmailUnavailableError";
  }
}

/** A setting or secret is missing or unusable. Never answered with a fallback. */
export class ConfigurationError extends DomainError {
  constructor(message: string) {
    super("misconfigured", message);
    this.name = "ConfigurationError";
  }
}
