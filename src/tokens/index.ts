/**
 * Access tokens as the services use them: issue one for a session, and authenticate a presented
 * one (signature and claims, then revocation). Signing and verification themselves are in jwt.ts.
 */
import type { Config } from "../config";
import { roleClaims } from "../roles/claims";
import { invalidToken } from "../domain-errors";
import type { KeyMaterial } from "../keys";
import type { RevocationService } from "../revocation";
import type { TokenSubject } from "../stores/types";
import { InvalidJwtError, signJwt, verifyJwt, type AccessTokenClaims } from "./jwt";

export type { AccessTokenClaims } from "./jwt";

export interface TokenServiceDeps {
  keys: () => Promise<KeyMaterial>;
  config: Pick<Config, "issuer" | "audience" | "accessTokenTtlSeconds" | "rolePermissions">;
  revocation: RevocationService;
  now: () => number;
}

export interface AccessGrant {
  subject: TokenSubject;
  familyId: string;
  clientId: string;
  jti: string;
  /** Epoch ms. Given explicitly so that a grace-window retry reproduces the same token. */
  issuedAt: number;
  /**
   * An API key's token: exactly these permissions as `scope`, and `roles: []` without the deprecated
   * `role` (a key is not its owner's roles: no role check downstream passes for it).
   */
  scopes?: readonly string[];
}

export interface IssuedAccessToken {
  accessToken: string;
  /** Seconds left from now (less than the TTL for a token issued earlier). */
  expiresIn: number;
}

export type TokenService = ReturnType<typeof createTokenService>;

/** The permission claims of an API key's token: its scopes, no roles. */
const apiKeyClaims = (scopes: readonly string[]) => ({ roles: [], ...(scopes.length > 0 ? { scope: [...scopes].sort().join(" ") } : {}) });

/**
 * True for an access token issued to an API key: it names the key as both its client and its
 * session (`client_id` = `sid` = the key id). A session's `client_id` is a configured client, never
 * a family id, so no session's token looks like one.
 */
export const isApiKeyToken = (claims: { sid: string; client_id: string }) => claims.sid === claims.client_id;

export function createTokenService({ keys, config, revocation, now }: TokenServiceDeps) {
  const nowSeconds = () => Math.floor(now() / 1000);

  async function verify(token: string): Promise<AccessTokenClaims> {
    try {
      return await verifyJwt(token, await keys(), config, nowSeconds());
    } catch (err) {
      if (err instanceof InvalidJwtError) throw invalidToken(err.message);
      throw err;
    }
  }

  return {
    async issue(grant: AccessGrant): Promise<IssuedAccessToken> {
      const iat = Math.floor(grant.issuedAt / 1000);
      const exp = iat + config.accessTokenTtlSeconds;
      const claims: AccessTokenClaims = {
        iss: config.issuer,
        aud: config.audience,
        sub: grant.subject.userId,
        iat,
        exp,
        jti: grant.jti,
        client_id: grant.clientId,
        sid: grant.familyId,
        ...(grant.scopes ? apiKeyClaims(grant.scopes) : roleClaims(grant.subject.roles, config.rolePermissions)),
        email_verified: grant.subject.emailVerified,
      };
      return { accessToken: await signJwt(claims, await keys()), expiresIn: Math.max(0, exp - nowSeconds()) };
    },

    /**
     * Loads the signing key (cached per isolate), so that a caller can fail on an unusable key
     * BEFORE it changes state, rather than after (a committed rotation whose child never reaches
     * the client).
     */
    async ensureSigningKey(): Promise<void> {
      await keys();
    },

    /** Signature and claims only: for logout, which accepts a revoked token as proof of what to end. */
    verify,

    /** A valid and unrevoked access token's claims; `invalid_token` otherwise. KV errors fail closed. */
    async authenticate(token: string): Promise<AccessTokenClaims> {
      const claims = await verify(token);
      if (await revocation.isRevoked(claims)) throw invalidToken("The access token has been revoked.");
      return claims;
    },
  };
}
