/** Failed-login locks in Workers KV (binding `REVOCATIONS`, prefix `login-lock:`; see docs/storage.md). */
import type { LockoutStore } from "../types";
import { guardStorage } from "../guard";
import { KV_MIN_TTL_SECONDS } from "./revocations";

const LOCK = "login-lock:";

export class KvLockoutStore implements LockoutStore {
  constructor(private readonly kv: KVNamespace) {}

  async isLocked(key: string) {
    return (await guardStorage(() => this.kv.get(LOCK + key))) !== null;
  }

  lock(key: string, ttlSeconds: number) {
    return guardStorage(() => this.kv.put(LOCK + key, "1", { expirationTtl: Math.max(KV_MIN_TTL_SECONDS, ttlSeconds) }));
  }
}
