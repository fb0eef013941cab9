/**
 * createVerifier: offline verification of the edge token service's access tokens against its
 * JWKS, plus an optional RFC 7662 introspection for routes that must see a logout at once.
 */
import { createLocalJWKSet, createRemoteJWKSet, customFetch, errors, jwksCache, jwtVerify, type ExportedJWKSCache, type JWKSCacheInput, type JWTVerifyGetKey } from "jose";
import { REQUIRED_CLAIMS, toVerifiedClaims, type VerifiedClaims } from "./claims.js";
import { VerificationError, VerifierUnavailableError } from "./errors.js";
import { createIntrospector, type IntrospectionOptions } from "./introspection.js";

/** The one algorithm the service signs with; never taken from the token. */
export const ALGORITHM = "RS256";
/** RFC 9068 access-token type. */
export const ACCESS_TOKEN_TYPE = "at+jwt";
/** The most clock leeway the contract allows. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 60;
/** Longer strings are refused before any parsing (the service refuses them too). */
export const MAX_TOKEN_LENGTH = 4096;

/** A `fetch` the verifier can call; the platform's global `fetch` fits. */
export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface VerifierOptions {
  /** The service's issuer URL, exactly as in its tokens' `iss` (a trailing slash is ignored). */
  issuer: string;
  /** This API's expected `aud` value (the service's AUDIENCE). */
  audience: string;
  /** Default: `${issuer}/.well-known/jwks.json`. */
  jwksUri?: string;
  /** Leeway for exp, nbf and iat, 0 to 60 seconds. Default 60. */
  clockToleranceSeconds?: number;
  /** Refuse tokens whose exp - iat is longer than this. Default 3600 (the service issues 900). */
  maxTokenLifetimeSeconds?: number;
  /**
   * Claims to require on top of iss, aud, exp, iat, sub, jti and client_id, e.g. `["sid"]` (every token
   * of this service has one, an API key's too: a person's session is one whose `sid` is not its `client_id`).
   */
  requiredClaims?: readonly string[];
  /** Time after a JWKS fetch before an unknown `kid` may cause another fetch. Default 30 000. */
  cooldownMs?: number;
  /** How long a fetched JWKS is used before it is fetched again. Default 600 000 (10 minutes). */
  cacheMaxAgeMs?: number;
  /**
   * When the JWKS cannot be fetched, the last one fetched is still used for this long after it was
   * fetched, and no new fetch is tried for `cooldownMs`: an outage of the service does not take
   * offline verification down with it, nor bring it a request per token. 0 turns this off. Default
   * 3 600 000 (one hour, the JWKS's own `stale-while-revalidate`).
   */
  staleIfErrorMs?: number;
  /** Timeout of each JWKS and introspection request. Default 5 000. */
  timeoutMs?: number;
  /** Replaces the global `fetch` for the JWKS and introspection requests (tests, proxies, service bindings). */
  fetch?: FetchLike;
  /** Enables {@link Verifier.introspect}. */
  introspection?: IntrospectionOptions;
}

export interface Verifier {
  /** Verifies signature, header and claims offline; throws {@link VerificationError} for any refused token. */
  verify(token: string): Promise<VerifiedClaims>;
  /**
   * Verifies offline, then asks the service's introspection endpoint whether the token is still
   * active (logout, revocation). Throws {@link VerificationError} when it is not, and
   * {@link VerifierUnavailableError} when the endpoint cannot answer.
   */
  introspect(token: string): Promise<VerifiedClaims>;
  /** Whether `introspection` options were given. */
  readonly canIntrospect: boolean;
}

/** Creates a verifier. Create it once (module scope) so that its JWKS cache outlives a request. */
export function createVerifier(options: VerifierOptions): Verifier {
  const issuer = options.issuer.replace(/\/$/, "");
  const clockToleranceSeconds = options.clockToleranceSeconds ?? MAX_CLOCK_TOLERANCE_SECONDS;
  if (!(clockToleranceSeconds >= 0 && clockToleranceSeconds <= MAX_CLOCK_TOLERANCE_SECONDS)) {
    throw new RangeError(`clockToleranceSeconds must be between 0 and ${MAX_CLOCK_TOLERANCE_SECONDS}`);
  }
  if (!options.audience) throw new TypeError("audience is required");
  const maxTokenLifetimeSeconds = options.maxTokenLifetimeSeconds ?? 3600;
  if (!(Number.isFinite(maxTokenLifetimeSeconds) && maxTokenLifetimeSeconds > 0)) throw new RangeError("maxTokenLifetimeSeconds must be a positive number of seconds");
  const timeoutMs = options.timeoutMs ?? 5000;
  const fetchImpl: FetchLike = options.fetch ?? ((input, init) => fetch(input, init));

  /** Filled by jose at each successful fetch: the key set and when it came (`uat`). */
  const fetched: Partial<ExportedJWKSCache> = {};
  const jwks = createRemoteJWKSet(new URL(options.jwksUri ?? `${issuer}/.well-known/jwks.json`), {
    cooldownDuration: options.cooldownMs ?? 30_000,
    cacheMaxAge: options.cacheMaxAgeMs ?? 600_000,
    timeoutDuration: timeoutMs,
    [customFetch]: (url, init) => fetchImpl(url, init),
    [jwksCache]: fetched as JWKSCacheInput,
  });
  const staleIfErrorMs = options.staleIfErrorMs ?? 3_600_000;
  const failureCooldownMs = options.cooldownMs ?? 30_000;
  /** The last key set fetched, kept for outages, and when it was fetched. */
  let lastGood: { keys: JWTVerifyGetKey; fetchedAt: number } | undefined;
  let lastFailureAt = -Infinity;
  let probeStartedAt = -Infinity;
  const usableStale = (now: number) => (lastGood && now - lastGood.fetchedAt < staleIfErrorMs ? lastGood : undefined);
  /** Verifying with the stale key set: a kid it lacks may be a new key the outage hides, so no refusal. */
  const withStale = async (stale: NonNullable<typeof lastGood>, header: Parameters<JWTVerifyGetKey>[0], token: Parameters<JWTVerifyGetKey>[1], cause?: unknown) => {
    try {
      return await stale.keys(header, token);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey) throw new VerifierUnavailableError("JWKS unreachable, and the key set fetched last has no such kid", { cause: cause ?? err });
      throw err;
    }
  };
  const getKey: JWTVerifyGetKey = async (header, token) => {
    // The service always names its key; without a kid a JWKS with several keys is ambiguous.
    if (typeof header.kid !== "string" || header.kid === "") throw new VerificationError("The access token is invalid.");
    const now = Date.now();
    const stale = usableStale(now);
    // While the JWKS is failing, or one try is under way, the others use the stale set rather than wait.
    if (stale && !jwks.fresh && (now - lastFailureAt < failureCooldownMs || now - probeStartedAt < timeoutMs)) return withStale(stale, header, token);
    if (!jwks.fresh) probeStartedAt = now;
    try {
      const key = await jwks(header, token);
      if (fetched.jwks && fetched.uat !== undefined && fetched.uat !== lastGood?.fetchedAt) lastGood = { keys: createLocalJWKSet(fetched.jwks), fetchedAt: fetched.uat };
      return key;
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) throw err;
      lastFailureAt = Date.now();
      if (stale) return withStale(stale, header, token, err);
      throw new VerifierUnavailableError(`JWKS unusable: ${errorSummary(err)}`, { cause: err });
    }
  };
  const requiredClaims = [...new Set([...REQUIRED_CLAIMS, ...(options.requiredClaims ?? [])])];

  async function verify(token: string): Promise<VerifiedClaims> {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw new VerificationError("The access token is invalid.");
    }
    try {
      const { payload } = await jwtVerify(token, getKey, {
        algorithms: [ALGORITHM],
        typ: ACCESS_TOKEN_TYPE,
        issuer,
        audience: options.audience,
        requiredClaims,
        clockTolerance: clockToleranceSeconds,
      });
      return toVerifiedClaims(payload, { clockToleranceSeconds, maxTokenLifetimeSeconds, now: Math.floor(Date.now() / 1000) });
    } catch (err) {
      if (err instanceof VerificationError || err instanceof VerifierUnavailableError) throw err;
      if (err instanceof errors.JWTExpired) throw new VerificationError("The access token has expired.", { cause: err });
      // Anything else jose refuses (parse, signature, alg, typ, crit, claims) is an invalid token.
      throw new VerificationError("The access token is invalid.", { cause: err });
    }
  }

  const introspector = options.introspection
    ? createIntrospector({ ...options.introspection, endpoint: options.introspection.endpoint ?? `${issuer}/oauth/introspect` }, fetchImpl, timeoutMs)
    : undefined;

  return {
    verify,
    async introspect(token) {
      if (!introspector) throw new TypeError("introspect() needs the introspection option of createVerifier");
      // The signature and claims are checked first: a forged token never reaches the endpoint.
      const claims = await verify(token);
      await introspector(token);
      return claims;
    },
    canIntrospect: introspector !== undefined,
  };
}

function errorSummary(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
