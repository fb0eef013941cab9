/** RFC 7662 token introspection: only asks whether a locally verified token is still active. */
import { VerificationError, VerifierUnavailableError } from "./errors.js";
import type { FetchLike } from "./verifier.js";

export interface IntrospectionOptions {
  /** Default: `${issuer}/oauth/introspect`. */
  endpoint?: string;
  /** This resource server's credentials at the introspection endpoint (HTTP Basic). */
  clientId: string;
  clientSecret: string;
}

/** RFC 6749 section 2.3.1: the client id and secret are form-urlencoded before HTTP Basic. */
function basicCredentials(clientId: string, clientSecret: string): string {
  const formEncode = (value: string) => new URLSearchParams([["", value]]).toString().slice(1);
  return `Basic ${btoa(`${formEncode(clientId)}:${formEncode(clientSecret)}`)}`;
}

/**
 * Returns a function that resolves when the service says the token is active, throws
 * {@link VerificationError} when it says it is not, and {@link VerifierUnavailableError} otherwise.
 */
export function createIntrospector(options: IntrospectionOptions & { endpoint: string }, fetchImpl: FetchLike, timeoutMs: number) {
  if (!options.clientId || !options.clientSecret) throw new TypeError("introspection needs clientId and clientSecret");
  const authorization = basicCredentials(options.clientId, options.clientSecret);

  return async function assertActive(token: string): Promise<void> {
    let response: Response;
    try {
      response = await fetchImpl(options.endpoint, {
        method: "POST",
        headers: {
          Authorization: authorization,
          "Content-Type": "application/x-www-form-urlencoded",
          Accept: "application/json",
        },
        body: new URLSearchParams({ token, token_type_hint: "access_token" }).toString(),
        // Never send the credentials on to wherever a redirect points.
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new VerifierUnavailableError(`introspection request failed: ${String(err)}`, { cause: err });
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new VerifierUnavailableError(`introspection answered ${response.status}`);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (err) {
      throw new VerifierUnavailableError("introspection answered with malformed JSON", { cause: err });
    }
    const active = typeof body === "object" && body !== null ? (body as { active?: unknown }).active : undefined;
    if (active === true) return;
    if (active === false) throw new VerificationError("The access token is no longer active.");
    throw new VerifierUnavailableError("introspection answer has no boolean active member");
  };
}
