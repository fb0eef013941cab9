/** Claims of the service's access tokens (RFC 9068 profile), as the service documents them. */
export interface AccessTokenClaims {
  iss: string;
  aud: string | string[];
  /** The user id. */
  sub: string;
  iat: number;
  exp: number;
  jti: string;
  /** The OAuth client the session belongs to (`"web"` unless the application chose one). */
  client_id: string;
  /** Session (refresh-token family) id: the `id` of a session listed by `listSessions()`. */
  sid: string;
  roles: string[];
  /** Space-separated permissions, e.g. `"profile:read billing:write"`. */
  scope: string;
  email_verified: boolean;
  /** @deprecated the first of `roles`; kept one release. */
  role?: string;
  [claim: string]: unknown;
}

/**
 * Decodes (does NOT verify) the payload of a compact JWS, for display and scheduling only: the
 * browser never makes a security decision from it; the servers verify.
 */
export function decodeClaims(token: string): AccessTokenClaims {
  const payload = token.split(".")[1];
  if (!payload) throw new Error("not a compact JWS");
  const base64 = payload.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64.padEnd(base64.length + ((4 - (base64.length % 4)) % 4), "="));
  const json = new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
  return JSON.parse(json) as AccessTokenClaims;
}
