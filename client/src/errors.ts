/** An error answer of the auth service (RFC 6749 section 5.2 body), or a client-side auth failure. */
export class AuthClientError extends Error {
  constructor(
    /** HTTP status, or 0 when no request was sent or it never got an answer. */
    readonly status: number,
    /**
     * The service's stable code (`invalid_grant`, `invalid_credentials`, ...) or one of the client's
     * own: `login_required`, `network_error`, `untrusted_origin`.
     */
    readonly code: string,
    description: string,
    /** The answer's `Retry-After`, in seconds, when it had one (429, 503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(description);
    this.name = "AuthClientError";
  }
}

/**
 * `fetchWithAuth` was given a URL outside the auth service's origin and the configured `apiOrigins`.
 * Thrown before any request is made: the access token never leaves for an origin nobody vouched for.
 */
export class UntrustedOriginError extends AuthClientError {
  constructor(
    /** The refused URL's origin (`"null"` for schemes without one, such as `data:`). */
    readonly origin: string,
  ) {
    super(0, "untrusted_origin", `Refusing to send the access token to ${origin}: not the auth service and not in apiOrigins.`);
    this.name = "UntrustedOriginError";
  }
}

/** Turns a non-2xx response into an {@link AuthClientError}, whatever its body. */
export async function errorFromResponse(res: Response): Promise<AuthClientError> {
  let code = "server_error";
  let description = `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: unknown; error_description?: unknown };
    if (typeof body.error === "string") code = body.error;
    if (typeof body.error_description === "string") description = body.error_description;
  } catch {
    // not JSON: keep the generic description
  }
  return new AuthClientError(res.status, code, description, retryAfterSeconds(res.headers.get("Retry-After")));
}

/** `Retry-After` in seconds from now: delay-seconds, or an HTTP date (RFC 9110 section 10.2.3). */
function retryAfterSeconds(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** Wraps a failure of `fetch` itself (offline, DNS, CORS refusal) in an {@link AuthClientError}. */
export function networkError(err: unknown): AuthClientError {
  return new AuthClientError(0, "network_error", err instanceof Error ? err.message : String(err));
}
