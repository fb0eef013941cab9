/**
 * The one definition of a live family: not revoked, not past its absolute end, used (its current
 * token issued) within both the idle timeout and the refresh-token life, and its user not disabled.
 * Stores apply the same rule in SQL (src/stores/d1/liveness.ts) with the bounds computed here.
 */
import type { Config } from "../config";
import type { FamilyState, LivenessBounds } from "../stores/types";

export function livenessBounds(config: Config, now: number): LivenessBounds {
  return { now, lastUsedAfter: now - Math.min(config.sessionIdleTimeoutMs, config.refreshTokenTtlMs) };
}

export function isLive(family: Pick<FamilyState, "revokedAt" | "expiresAt" | "rotatedAt" | "userDisabledAt">, bounds: LivenessBounds): boolean {
  return family.revokedAt === null && family.userDisabledAt === null && family.expiresAt > bounds.now && family.rotatedAt > bounds.lastUsedAfter;
}

/** When the current token of a family last used at `rotatedAt` stops being usable (the cookie's end). */
export function currentTokenExpiresAt(config: Config, family: { rotatedAt: number; expiresAt: number }): number {
  return Math.min(family.rotatedAt + Math.min(config.sessionIdleTimeoutMs, config.refreshTokenTtlMs), family.expiresAt);
}
