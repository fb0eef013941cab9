/**
 * Brute-force limits on password checks (login, password change):
 * - attempts per email across all networks, counted before any hashing (a distributed guess slows
 *   down; a stranger can hold the owner back only while the attempts go on, one window at most);
 * - failures per email + network: past the limit, a short lock makes that pair answer 429 before
 *   any password is hashed. Successful logins are never counted as failures.
 * Networks are IPv4 addresses or IPv6 /64s (src/client-info.ts).
 */
import { networkOf } from "../client-info";
import type { Limiter, LockoutStore } from "../stores/types";

/** How long a locked email + network pair stays locked (KV's minimum TTL). */
export const LOCK_SECONDS = 60;

export interface LockoutDeps {
  locks: LockoutStore;
  /** Attempts per email (any network). */
  attemptsPerEmail: Limiter;
  /** Failures per email + network. */
  failuresPerEmailAndNetwork: Limiter;
}

export type LoginLockout = ReturnType<typeof createLoginLockout>;

/** A rate-limit or lock key for `text` (an email, an email + network): a SHA-256 prefix, never the text. */
export async function digestHex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function createLoginLockout({ locks, attemptsPerEmail, failuresPerEmailAndNetwork }: LockoutDeps) {
  return {
    /**
     * Counts one attempt for `email` from `ip`; false when it must be refused before hashing.
     * Returns the key to report a failure under.
     */
    async admit(email: string, ip: string | null): Promise<{ admitted: boolean; pairKey: string }> {
      const normalized = email.trim().toLowerCase();
      const [emailKey, pairKey] = await Promise.all([digestHex(normalized), digestHex(`${normalized}|${networkOf(ip)}`)]);
      if (await locks.isLocked(pairKey)) return { admitted: false, pairKey };
      return { admitted: await attemptsPerEmail.allows(emailKey), pairKey };
    },

    /** Counts a failure; true when it crossed the limit and the pair is now locked. */
    async recordFailure(pairKey: string): Promise<boolean> {
      if (await failuresPerEmailAndNetwork.allows(pairKey)) return false;
      await locks.lock(pairKey, LOCK_SECONDS);
      return true;
    },
  };
}
