/** Events, lockouts, telemetry, limiters and housekeeping in memory. */
import type {
  EventStore,
  HousekeepingStore,
  Limiter,
  LockoutStore,
  RefreshTelemetry,
} from "../../src/stores/types";
import { MemoryStorage } from "./storage";

export const memoryEventStore = (storage: MemoryStorage): EventStore => ({
  async record(event, now) {
    storage.events.push({ ...event, at: now });
  },
});

export const memoryLockoutStore = (storage: MemoryStorage): LockoutStore => ({
  async isLocked(key) {
    return storage.kvGet(`login-lock:${key}`) !== null;
  },
  async lock(key, ttlSeconds) {
    storage.kvPut(`login-lock:${key}`, "1", ttlSeconds);
  },
});

export const memoryTelemetry = (storage: MemoryStorage): RefreshTelemetry => ({
  record(point) {
    storage.telemetry.push(point);
  },
});

/** A fixed-window limiter: `limit` counts per key per `windowMs` of the storage's clock. */
export function memoryLimiter(storage: MemoryStorage, limit = Infinity, windowMs = 60_000): Limiter {
  const windows = new Map<string, { start: number; count: number }>();
  return {
    async allows(key) {
      const now = storage.now();
      const window = windows.get(key);
      if (!window || now - window.start >= windowMs) {
        windows.set(key, { start: now, count: 1 });
        return limit >= 1;
      }
      return ++window.count <= limit;
    },
  };
}

export const memoryHousekeeping = (storage: MemoryStorage): HousekeepingStore => ({
  async deleteEnded({ endedBefore, idleBefore, eventsBefore }) {
    let families = 0;
    for (const [id, family] of storage.families) {
      if ((family.revokedAt !== null && family.revokedAt < endedBefore) || family.expiresAt < endedBefore || family.rotatedAt < idleBefore) {
        storage.families.delete(id);
        families++;
      }
    }
    const before = storage.events.length;
    storage.events.splice(0, storage.events.length, ...storage.events.filter((event) => event.at >= eventsBefore));
    let linkTokens = 0;
    for (const [hash, token] of storage.linkTokens) if (token.expiresAt < storage.now()) linkTokens += Number(storage.linkTokens.delete(hash));
    let apiKeys = 0;
    for (const [id, key] of storage.apiKeys) {
      const ended = (key.revokedAt !== null && key.revokedAt < endedBefore) || (key.expiresAt !== null && key.expiresAt < endedBefore);
      if (ended) apiKeys += Number(storage.apiKeys.delete(id));
    }
    return { families, legacyTokens: 0, events: before - storage.events.length, linkTokens, apiKeys };
  },
});
