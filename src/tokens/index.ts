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
}

export interface IssuedAccessToken {
  accessToken: string;
  /** Seconds left from now (less than the TTL for a token issued earlier). */
  expiresIn: number;
}

export type TokenService = ReturnType<typeof createTokenService>;

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
        ...roleClaims(grant.subject.roles, config.rolePermissions),
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
