/**
 * @edge-token-service/verifier: verifies the edge token service's access tokens in any runtime with
 * `fetch` and WebCrypto (Workers, Node 20+, Deno, Bun). The Hono middleware is in
 * `@edge-token-service/verifier/hono`; this entry point imports no framework.
 */
export { createVerifier, ACCESS_TOKEN_TYPE, ALGORITHM, MAX_CLOCK_TOLERANCE_SECONDS, MAX_TOKEN_LENGTH } from "./verifier.js";
export type { FetchLike, Verifier, VerifierOptions } from "./verifier.js";
export type { IntrospectionOptions } from "./introspection.js";
export type { VerifiedClaims } from "./claims.js";
export { InsufficientScopeError, MissingTokenError, VerificationError, VerifierUnavailableError } from "./errors.js";
export { assertAnyRole, assertScopes, authErrorAnswer, readBearerToken } from "./http.js";
export type { AuthErrorAnswer } from "./http.js";
