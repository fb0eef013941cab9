/** An error answer of the auth service (RFC 6749 section 5.2 body), or a client-side auth failure. */
export class AuthClientError extends Error {
  constructor(
    /** HTTP status, or 0 when the request never got an answer. */
    readonly status: number,
    /** The service's stable code (`invalid_grant`, `invalid_credentials`, ...) or `login_required`. */
    readonly code: string,
    description: string,
  ) {
    super(description);
    this.name = "AuthClientError";
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
  return new AuthClientError(res.status, code, description);
}
