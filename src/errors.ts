import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ConfigurationError } from "./config";
import { StorageUnavailableError } from "./storage";

/** The stable error codes of the HTTP contract (RFC 6749 section 5.2 shape). */
export type ErrorCode =
  | "invalid_request"
  | "invalid_credentials"
  | "invalid_grant"
  | "invalid_token"
  | "insufficient_scope"
  | "email_taken"
  | "invalid_origin"
  | "rate_limited"
  | "server_error"
  | "temporarily_unavailable";

/**
 * The one error type routes and middleware throw. `app.onError` turns it into
 * `{"error": code, "error_description": description}` with the given status and headers.
 */
export class AuthError extends HTTPException {
  readonly code: ErrorCode;
  readonly headers: Record<string, string>;

  constructor(
    status: ContentfulStatusCode,
    code: ErrorCode,
    description: string,
    headers: Record<string, string> = {},
  ) {
    super(status, { message: description });
    this.code = code;
    this.headers = headers;
  }
}

export const invalidRequest = (description: string) => new AuthError(400, "invalid_request", description);

/** Bearer failures carry a `WWW-Authenticate` challenge (RFC 6750 section 3). */
export const invalidToken = (description = "The access token is invalid or expired.") =>
  new AuthError(401, "invalid_token", description, {
    "WWW-Authenticate": `Bearer error="invalid_token", error_description="${description.replace(/"/g, "'")}"`,
  });

export const invalidGrant = (description = "The refresh token is invalid, expired or revoked.") =>
  new AuthError(401, "invalid_grant", description);

/** The Rate Limiting binding counts in 60 s windows (see wrangler.toml); that is when to retry. */
const RATE_LIMIT_RETRY_AFTER_SECONDS = "60";

export const rateLimited = () =>
  new AuthError(429, "rate_limited", "Too many requests. Retry later.", { "Retry-After": RATE_LIMIT_RETRY_AFTER_SECONDS });

const RETRY_AFTER_SECONDS = "2";

/** Maps anything thrown to the contract's JSON error shape; never leaks a stack or SQL. */
export function errorResponse(err: unknown, c: Context): Response {
  if (err instanceof AuthError) {
    return c.json({ error: err.code, error_description: err.message }, err.status, err.headers);
  }
  if (err instanceof HTTPException) {
    // Hono's own (validator, body parsing): always a client error on the request.
    const status = err.status >= 400 && err.status < 500 ? err.status : 400;
    return c.json({ error: "invalid_request", error_description: safeDescription(err.message) }, status);
  }
  if (err instanceof StorageUnavailableError) {
    logError("storage_unavailable", err);
    return c.json(
      { error: "temporarily_unavailable", error_description: "A storage dependency is unavailable. Retry shortly." },
      503,
      { "Retry-After": RETRY_AFTER_SECONDS },
    );
  }
  if (err instanceof ConfigurationError) {
    logError("configuration_error", err);
    return c.json({ error: "server_error", error_description: "The service is misconfigured." }, 500);
  }
  logError("unhandled_error", err);
  return c.json({ error: "server_error", error_description: "Internal error." }, 500);
}

function safeDescription(message: string): string {
  return message && message.length < 200 ? message : "The request is invalid.";
}

function logError(event: string, err: unknown) {
  const describe = (e: unknown) => (e instanceof Error ? { name: e.name, message: e.message.slice(0, 300) } : { message: String(e) });
  const cause = err instanceof Error && err.cause !== undefined ? describe(err.cause) : undefined;
  const error = { ...describe(err), cause };
  console.error(JSON.stringify({ level: "error", event, error }));
}
