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

const ttl = (seconds: number) => ({ expirationTtl: Math.max(KV_MIN_TTL_SECONDS, Math.ceil(seconds)) });

export class KvRevocationStore implements RevocationStore {
  constructor(private readonly kv: KVNamespace) {}

  revokeAccessToken(jti: string, ttlSeconds: number) {
    return guardStorage(() => this.kv.put(REVOKED_JTI + jti, "1", ttl(ttlSeconds)));
  }

  revokeFamily(familyId: string, ttlSeconds: number) {
    return guardStorage(() => this.kv.put(REVOKED_FAMILY + familyId, "1", ttl(ttlSeconds)));
  }

  setUserCutoff(userId: string, cutoff: UserCutoff, ttlSeconds: number) {
    const value = cutoff.exceptFamilyId ? `${cutoff.beforeSeconds} ${cutoff.exceptFamilyId}` : String(cutoff.beforeSeconds);
    return guardStorage(() => this.kv.put(USER_CUTOFF + userId, value, ttl(ttlSeconds)));
  }

  async lookup(token: { jti: string; sid: string; sub: string }) {
    const keys = [REVOKED_JTI + token.jti, REVOKED_FAMILY + token.sid, USER_CUTOFF + token.sub];
    const values = await guardStorage(() => this.kv.get(keys, "text"));
    const cutoff = values.get(keys[2]!);
    const [beforeSeconds, exceptFamilyId] = cutoff?.split(" ") ?? [];
    return {
      jtiRevoked: values.get(keys[0]!) != null,
      familyRevoked: values.get(keys[1]!) != null,
      userCutoff: beforeSeconds === undefined ? null : { beforeSeconds: Number(beforeSeconds), exceptFamilyId },
    };
  }
}
