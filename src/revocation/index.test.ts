import { describe, expect, it } from "vitest";
import { MemoryRevocationStore, MemoryStorage } from "../../test/memory-stores";
import { createRevocationService } from "./index";

const NOW = Date.parse("2026-06-01T00:00:00.400Z");
const SECONDS = Math.floor(NOW / 1000);

function revocation() {
  const clock = { now: NOW };
  const storage = new MemoryStorage(() => clock.now);
  const store = new MemoryRevocationStore(storage);
  const cutoffWrites: number[] = [];
  const setUserCutoff = store.setUserCutoff.bind(store);
  store.setUserCutoff = (userId, cutoff, ttl) => (cutoffWrites.push(cutoff.beforeSeconds), setUserCutoff(userId, cutoff, ttl));
  const service = createRevocationService({ store, config: { accessTokenTtlSeconds: 900 }, now: () => clock.now });
  const ttlOf = (key: string) => Math.round((storage.kv.get(key)!.expiresAt - clock.now) / 1000);
  return { service, storage, clock, ttlOf, cutoffWrites };
}

const token = (overrides: Partial<{ jti: string; sid: string; sub: string; iat: number }> = {}) => ({ jti: "j1", sid: "s1", sub: "u1", iat: SECONDS, ...overrides });

describe("revocation entries live exactly as long as a token they refuse could be accepted", () => {
  it("a family's entry outlives every access token issued until now (TTL + 60 s leeway)", async () => {
    const { service, ttlOf } = revocation();
    await service.revokeFamily("s1");
    expect(ttlOf("revoked-sid:s1")).toBe(900 + 60 + 1);
    expect(await service.isRevoked(token())).toBe(true);
    expect(await service.isRevoked(token({ sid: "s2" }))).toBe(false);
  });

  it("one access token's entry lives until its exp plus the leeway, and none is written once that has passed", async () => {
    const { service, storage, ttlOf } = revocation();
    await service.revokeAccessToken({ jti: "j1", exp: SECONDS + 300 });
    expect(ttlOf("revoked-jti:j1")).toBe(360);
    await service.revokeAccessToken({ jti: "old", exp: SECONDS - 61 });
    expect(storage.kv.has("revoked-jti:old")).toBe(false);
    expect(await service.isRevoked(token())).toBe(true);
  });

  it("a per-user cutoff refuses every token issued up to this second, later ones are accepted, and the excepted family keeps its own", async () => {
    const { service, clock } = revocation();
    await service.cutOffUser("u1", "kept");
    expect(await service.isRevoked(token({ iat: SECONDS - 100 }))).toBe(true);
    expect(await service.isRevoked(token({ iat: SECONDS }))).toBe(true);
    expect(await service.isRevoked(token({ iat: SECONDS, sid: "kept" }))).toBe(false);
    expect(await service.isRevoked(token({ iat: SECONDS + 1 }))).toBe(false);
    expect(await service.isRevoked(token({ sub: "u2", iat: SECONDS - 100 }))).toBe(false);
    clock.now += (900 + 62) * 1000;
    expect(await service.isRevoked(token({ iat: SECONDS - 100 }))).toBe(false);
  });
});

describe("a cutoff around the D1 change that ends sessions or roles", () => {
  it("is written before the change, and once only when the change ends in the same second", async () => {
    const { service, cutoffWrites } = revocation();
    const seenByChange: number[][] = [];
    const result = await service.cutOffUserAround("u1", async () => (seenByChange.push([...cutoffWrites]), "done"));
    expect(result).toBe("done");
    expect(seenByChange).toEqual([[SECONDS + 1]]);
    expect(cutoffWrites).toEqual([SECONDS + 1]);
    expect(await service.isRevoked(token({ iat: SECONDS }))).toBe(true);
    expect(await service.isRevoked(token({ iat: SECONDS + 1 }))).toBe(false);
  });

  it("is written again when a new second began during the change: a token a refresh got in that second is refused", async () => {
    const { service, clock, cutoffWrites } = revocation();
    // A refresh commits during the D1 change, one second later, before the change ends its session.
    await service.cutOffUserAround("u1", async () => void (clock.now += 1000));
    expect(cutoffWrites).toEqual([SECONDS + 1, SECONDS + 2]);
    expect(await service.isRevoked(token({ iat: SECONDS + 1 }))).toBe(true);
    expect(await service.isRevoked(token({ iat: SECONDS + 2 }))).toBe(false);
  });

  it("spares the excepted family both times, and keeps the cutoff for everyone that was there before", async () => {
    const { service, clock } = revocation();
    await service.cutOffUser("u1");
    clock.now += 5000;
    await service.cutOffUserAround("u1", async () => void (clock.now += 1000), "kept");
    expect(await service.isRevoked(token({ iat: SECONDS + 6, sid: "kept" }))).toBe(false);
    expect(await service.isRevoked(token({ iat: SECONDS + 6 }))).toBe(true);
    expect(await service.isRevoked(token({ iat: SECONDS, sid: "kept" }))).toBe(true);
  });

  it("stays written when the change fails, and the failure reaches the caller", async () => {
    const { service } = revocation();
    await expect(service.cutOffUserAround("u1", () => Promise.reject(new Error("D1 down")))).rejects.toThrow("D1 down");
    expect(await service.isRevoked(token({ iat: SECONDS }))).toBe(true);
  });

  it("is written again after a change that failed in a new second too: it may have committed and lost its answer", async () => {
    const { service, clock, cutoffWrites } = revocation();
    const lostAnswer = async () => {
      clock.now += 1000;
      throw new Error("D1: network connection lost");
    };
    await expect(service.cutOffUserAround("u1", lostAnswer)).rejects.toThrow("connection lost");
    expect(cutoffWrites).toEqual([SECONDS + 1, SECONDS + 2]);
  });
});
