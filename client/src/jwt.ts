/** Claims of the service's access tokens, as the service documents them. */
export interface AccessTokenClaims {
  iss: string;
  aud: string | string[];
  sub: string;
  iat: number;
  exp: number;
  jti: string;
  /** Session (refresh-token family) id: the `id` in GET /auth/sessions. */
  sid: string;
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
