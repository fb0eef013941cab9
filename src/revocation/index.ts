/**
 * Revocation policy: what to write to KV so that an access token is refused, and for how long.
 * Every write is O(1): one entry per family (access tokens carry `sid`), one per access token
 * revoked on its own, one cutoff per user; never one per access token of a family. An entry lives
 * exactly as long as a token it refuses could still be accepted (its `exp` plus the clock leeway).
 */
import { CLOCK_TOLERANCE_SECONDS, type Config } from "../config";
import type { RevocationStore } from "../stores/types";

export interface RevocationDeps {
  store: RevocationStore;
  config: Pick<Config, "accessTokenTtlSeconds">;
  now: () => number;
}

export type RevocationService = ReturnType<typeof createRevocationService>;

export function createRevocationService({ store, config, now }: RevocationDeps) {
  /** Long enough to outlive every access token issued up to now. */
  const outlivesEveryToken = () => config.accessTokenTtlSeconds + CLOCK_TOLERANCE_SECONDS + 1;
  /** `iat` has a one-second grain: a cutoff covers the whole current second. */
  const nextSecond = () => Math.floor(now() / 1000) + 1;

  /**
   * Refuses every access token of the user issued up to now, but those of `exceptFamilyId`. `iat`
   * has a one-second grain, so the cutoff covers the whole current second: a token issued later
   * in this same second is refused too (its holder refreshes a second later). Returns that second.
   */
  async function cutOffUser(userId: string, exceptFamilyId?: string): Promise<number> {
    const beforeSeconds = nextSecond();
    await store.setUserCutoff(userId, { beforeSeconds, exceptFamilyId }, outlivesEveryToken());
    return beforeSeconds;
  }

  return {
    /** Refuses every access token of the family. */
    revokeFamily(familyId: string): Promise<void> {
      return store.revokeFamily(familyId, outlivesEveryToken());
    },

    /** Refuses one access token until it could no longer be accepted anyway. */
    async revokeAccessToken(token: { jti: string; exp: number }): Promise<void> {
      const remaining = token.exp + CLOCK_TOLERANCE_SECONDS - now() / 1000;
      if (remaining > 0) await store.revokeAccessToken(token.jti, remaining);
    },

    cutOffUser,

    /**
     * Cuts off the user's access tokens around `change`, the D1 write that ends their sessions or
     * roles: first (a failure of the change then leaves the tokens refused), and again after it if
     * a new second began meanwhile, since a refresh that committed in that second before the change
     * got a token the first cutoff does not cover. At most two KV writes.
     */
    async cutOffUserAround<T>(userId: string, change: () => Promise<T>, exceptFamilyId?: string): Promise<T> {
      const before = await cutOffUser(userId, exceptFamilyId);
      try {
        return await change();
      } finally {
        // Also when the change failed: it may have committed and lost its answer.
        if (nextSecond() > before) await cutOffUser(userId, exceptFamilyId);
      }
    },

    /** One bulk KV read: is the token, its family or its user's older tokens (either cutoff) revoked? */
    async isRevoked(claims: { jti: string; sid: string; sub: string; iat: number }): Promise<boolean> {
      const { jtiRevoked, familyRevoked, userCutoffs } = await store.lookup(claims);
      const cutOff = userCutoffs.some((cutoff) => claims.iat < cutoff.beforeSeconds && claims.sid !== cutoff.exceptFamilyId);
      return jtiRevoked || familyRevoked || cutOff;
    },
  };
}
