/**
 * Revocation entries in Workers KV (binding `REVOCATIONS`); keys, values and TTLs are listed in
 * docs/storage.md. KV refuses TTLs under 60 s, so every TTL is clamped up here.
 */
import type { RevocationStore, UserCutoff } from "../types";
import { guardStorage } from "../guard";

export const KV_MIN_TTL_SECONDS = 60;
const REVOKED_JTI = "revoked-jti:";
const REVOKED_FAMILY = "revoked-sid:";
const USER_CUTOFF = "user-cutoff:";
const USER_CUTOFF_EXCEPT = "user-cutoff-except:";

const ttl = (seconds: number) => ({ expirationTtl: Math.max(KV_MIN_TTL_SECONDS, Math.ceil(seconds)) });

export class KvRevocationStore implements RevocationStore {
  constructor(private readonly kv: KVNamespace) {}

  revokeAccessToken(jti: string, ttlSeconds: number) {
    return guardStorage(() => this.kv.put(REVOKED_JTI + jti, "1", ttl(ttlSeconds)));
  }

  revokeFamily(familyId: string, ttlSeconds: number) {
    return guardStorage(() => this.kv.put(REVOKED_FAMILY + familyId, "1", ttl(ttlSeconds)));
  }

  /**
   * A cutoff with an exception has a key of its own: written over the cutoff for everyone, it would
   * let the excepted family's older tokens back in (a password change after a role revocation).
   */
  setUserCutoff(userId: string, cutoff: UserCutoff, ttlSeconds: number) {
    const [key, value] = cutoff.exceptFamilyId
      ? [USER_CUTOFF_EXCEPT + userId, `${cutoff.beforeSeconds} ${cutoff.exceptFamilyId}`]
      : [USER_CUTOFF + userId, String(cutoff.beforeSeconds)];
    return guardStorage(() => this.kv.put(key, value, ttl(ttlSeconds)));
  }

  async lookup(token: { jti: string; sid: string; sub: string }) {
    const keys = [REVOKED_JTI + token.jti, REVOKED_FAMILY + token.sid, USER_CUTOFF + token.sub, USER_CUTOFF_EXCEPT + token.sub];
    const values = await guardStorage(() => this.kv.get(keys, "text"));
    const userCutoffs: UserCutoff[] = [];
    for (const value of [values.get(keys[2]!), values.get(keys[3]!)]) {
      if (value == null) continue;
      const [beforeSeconds, exceptFamilyId] = value.split(" ");
      userCutoffs.push({ beforeSeconds: Number(beforeSeconds), exceptFamilyId });
    }
    return { jtiRevoked: values.get(keys[0]!) != null, familyRevoked: values.get(keys[1]!) != null, userCutoffs };
  }
}
