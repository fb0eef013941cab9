import { describe, expect, it } from "vitest";
import { MemoryRevocationStore, MemoryStorage } from "../../test/memory-stores";
import { createRevocationService } from "./index";

const NOW = Date.parse("2026-06-01T00:00:00.400Z");
const SECONDS = Math.floor(NOW / 1000);

function revocation() {
  const clock = { now: NOW };
  const storage = new MemoryStorage(() => clock.now);
  const service = createRevocationService({ store: new MemoryRevocationStore(storage), config: { accessTokenTtlSeconds: 900 }, now: () => clock.now });
  const ttlOf = (key: string) => Math.round((storage.kv.get(key)!.expiresAt - clock.now) / 1000);
  return { service, storage, clock, ttlOf };
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
