/**
 * The one place that turns errors into HTTP answers: a table from each error code to its status,
 * RFC 6749 `error` code, headers and whether the refresh cookie is cleared, and the `app.onError`
 * handler that applies it. Answers never carry a stack, SQL, or whether an email exists.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { DomainError, type ErrorCode } from "./domain-errors";
import type { AppEnv } from "./app-env";
import { clearRefreshCookie } from "./middleware/refresh-cookie";

interface HttpAnswer {
  status: ContentfulStatusCode;
  /** The status at the OAuth endpoints (/oauth/*), where RFC 6749 section 5.2 says otherwise. */
  oauthStatus?: ContentfulStatusCode;
  /** The `error` member (RFC 6749 section 5.2 and DESIGN.md's stable codes). */
  error: string;
  headers?: (err: DomainError) => Record<string, string>;
  /** A refused refresh token must not be sent again: the cookie is cleared (on the /auth routes, which use it). */
  clearsRefreshCookie?: boolean;
  /** Said instead of the error's own message (which may hold details for the log only). */
  description?: string;
}

/** RFC 6750 section 3: no `"` or `\` inside a quoted value. */
const quoted = (text: string) => `"${text.replace(/["\\]/g, "'")}"`;
const retryAfter = (err: DomainError): Record<string, string> =>
  err.detail.retryAfterSeconds ? { "Retry-After": String(err.detail.retryAfterSeconds) } : {};

export const HTTP_ANSWERS: Record<ErrorCode, HttpAnswer> = {
  invalid_request: { status: 400, error: "invalid_request" },
  not_found: { status: 404, error: "invalid_request" },
  method_not_allowed: { status: 405, error: "invalid_request", headers: (err) => ({ Allow: err.detail.allow ?? "" }) },
  payload_too_large: { status: 413, error: "invalid_request" },
  invalid_credentials: { status: 401, error: "invalid_credentials" },
  invalid_grant: { status: 401, oauthStatus: 400, error: "invalid_grant", clearsRefreshCookie: true },
  token_required: { status: 401, error: "invalid_token", headers: () => ({ "WWW-Authenticate": 'Bearer realm="auth"' }) },
  invalid_token: {
    status: 401,
    error: "invalid_token",
    headers: (err) => ({ "WWW-Authenticate": `Bearer realm="auth", error="invalid_token", error_description=${quoted(err.message)}` }),
  },
  insufficient_scope: {
    status: 403,
    error: "insufficient_scope",
    headers: (err) => ({ "WWW-Authenticate": `Bearer realm="auth", error="insufficient_scope"${err.detail.scope ? `, scope=${quoted(err.detail.scope)}` : ""}` }),
  },
  invalid_client: { status: 401, error: "invalid_client", headers: (err): Record<string, string> => (err.detail.challenge ? { "WWW-Authenticate": err.detail.challenge } : {}) },
  invalid_scope: { status: 400, error: "invalid_scope" },
  unsupported_grant_type: { status: 400, error: "unsupported_grant_type" },
  invalid_origin: { status: 403, error: "invalid_origin" },
  email_taken: { status: 409, error: "email_taken" },
  email_not_verified: { status: 403, error: "email_not_verified" },
  rate_limited: { status: 429, error: "rate_limited", headers: retryAfter },
  storage_unavailable: { status: 503, error: "temporarily_unavailable", headers: retryAfter },
  email_unavailable: { status: 503, error: "temporarily_unavailable", headers: retryAfter },
  retry_later: { status: 503, error: "temporarily_unavailable", headers: retryAfter },
  misconfigured: { status: 500, error: "server_error", description: "The service is misconfigured." },
  internal_error: { status: 500, error: "server_error", description: "Internal error." },
};

/** Maps anything thrown to the contract's JSON error shape. */
export function errorResponse(err: unknown, c: Context<AppEnv>): Response {
  const domain = toDomainError(err);
  const answer = HTTP_ANSWERS[domain.code];
  const atOAuthEndpoint = c.req.path.startsWith("/oauth/");
  const status = (atOAuthEndpoint && answer.oauthStatus) || answer.status;
  if (status >= 500) logFailure(domain, c);
  if (answer.clearsRefreshCookie && !atOAuthEndpoint) {
    const config = c.get("services")?.config;
    if (config) clearRefreshCookie(c, config);
  }
  return c.json({ error: answer.error, error_description: answer.description ?? domain.message }, status, answer.headers?.(domain));
}

function toDomainError(err: unknown): DomainError {
  if (err instanceof DomainError) return err;
  if (err instanceof HTTPException && err.status >= 400 && err.status < 500) {
    // Hono's own (body parsing): always a client error on the request.
    return new DomainError("invalid_request", err.message && err.message.length < 200 ? err.message : "The request is invalid.");
  }
  return new DomainError("internal_error", "Internal error.", {}, { cause: err });
}

const nameAndCode = (e: unknown) => {
  if (!(e instanceof Error)) return { name: typeof e };
  const code = (e as { code?: unknown }).code;
  return { name: e.name, ...(typeof code === "string" || typeof code === "number" ? { code } : {}) };
};

/**
 * A schema the code does not find (migrations not applied) is the one storage failure whose cause
 * a deployer must see; the match keeps only SQLite's own words, never the query or its parameters.
 */
function diagnose(err: unknown): string | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    const missing = /no such (table|column): [\w.]+/.exec(e.message);
    if (missing) return `${missing[0]}: apply the D1 migrations (npm run deploy, or wrangler d1 migrations apply <binding> --remote)`;
  }
  return undefined;
}

/**
 * One JSON line per server-side failure: the error's name and code, its cause's, and the request
 * id. Never a storage error's message: D1's carries the SQL and its parameters (emails, hashes).
 */
function logFailure(err: DomainError, c: Context<AppEnv>) {
  const events: Partial<Record<ErrorCode, string>> = {
    storage_unavailable: "storage_unavailable",
    email_unavailable: "email_unavailable",
    retry_later: "grace_retry_unavailable",
    misconfigured: "configuration_error",
  };
  console.error(
    JSON.stringify({
      level: "error",
      event: events[err.code] ?? "unhandled_error",
      error: nameAndCode(err),
      // A configuration error's message is ours and names the setting at fault.
      reason: err.code === "misconfigured" ? err.message : undefined,
      cause: err.cause === undefined ? undefined : nameAndCode(err.cause),
      diagnosis: diagnose(err),
      request_id: c.req.header("CF-Ray") ?? undefined,
    }),
  );
}
