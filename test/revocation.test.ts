/**
 * Revocation is O(1) in KV (DESIGN.md, Refresh-token families): access tokens carry their family
 * (`sid`), so ending a family writes one KV key however many access tokens it issued, and ending
 * every family of a user writes one cutoff. Counted with a KV wrapper on the real revocation path.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildServices } from "../src/services";
import { bearer, callWith, cookieRefreshInit, familyRow, login, me, refreshWithCookie, register, withCookie, type Login } from "./helpers";
import { expectError, expectInvalidGrant, wrapKv } from "./hardening";

const ACCESS_TOKENS_PER_FAMILY = 2_000;
const services = buildServices(env);

/**
 * A family that issued ACCESS_TOKENS_PER_FAMILY access tokens (its login's and one per rotation).
 * The rotations go through the session service: the same D1 statement as over HTTP, without the
 * HTTP round trip. Returns a sample of the access tokens (first, middle, last) and the chain's ends.
 */
async function familyWithManyAccessTokens() {
  const user = await register();
  const sample = [user.accessToken];
  let refreshToken = user.refreshToken;
  for (let issued = 1; issued < ACCESS_TOKENS_PER_FAMILY; issued++) {
    const next = await services.sessions.refresh(refreshToken, { ip: "198.51.100.20", userAgent: "scale-test" });
    refreshToken = next.refreshToken;
    if (issued === ACCESS_TOKENS_PER_FAMILY / 2 || issued === ACCESS_TOKENS_PER_FAMILY - 1) sample.push(next.accessToken);
  }
  expect((await familyRow(user.sid)).generation).toBe(ACCESS_TOKENS_PER_FAMILY - 1);
  for (const token of sample) expect((await me(token)).status).toBe(200);
  return { user, sample, first: user.refreshToken, current: refreshToken };
}

/** Every key written is one of the O(1) kinds, for this family or user, and there are at most 3. */
function expectConstantWrites(puts: string[], user: Login) {
  expect(puts.length).toBeGreaterThan(0);
  expect(puts.length).toBeLessThanOrEqual(3);
  for (const key of puts) expect(key).toMatch(new RegExp(`^(revoked-sid:${user.sid}|user-cutoff:${user.userId}|revoked-jti:[A-Za-z0-9_-]+)$`));
}

async function expectAllRefused(family: Awaited<ReturnType<typeof familyWithManyAccessTokens>>) {
  for (const token of family.sample) await expectError(await me(token), 401, "invalid_token");
  await expectInvalidGrant(await refreshWithCookie(family.current));
  expect((await familyRow(family.user.sid)).revoked_at).not.toBeNull();
}

describe(`revoking a family that issued ${ACCESS_TOKENS_PER_FAMILY} access tokens writes at most 3 KV keys`, { timeout: 120_000 }, () => {
  it("logout", async () => {
    const family = await familyWithManyAccessTokens();
    const { kv, puts } = wrapKv("observe");
    const headers = { ...withCookie(family.current), ...bearer(family.sample.at(-1)!) };
    const res = await callWith({ REVOCATIONS: kv }, "/auth/logout", { method: "POST", headers, body: "{}" });
    expect(res.status).toBe(204);
    expectConstantWrites(puts, family.user);
    expect(puts).toContain(`revoked-sid:${family.user.sid}`);
    await expectAllRefused(family);
  });

  it("session delete from another device", async () => {
    const family = await familyWithManyAccessTokens();
    const other = await login(family.user.email);
    const { kv, puts } = wrapKv("observe");
    const res = await callWith({ REVOCATIONS: kv }, `/auth/sessions/${family.user.sid}`, { method: "DELETE", headers: bearer(other.accessToken) });
    expect(res.status).toBe(204);
    expectConstantWrites(puts, family.user);
    await expectAllRefused(family);
    expect((await me(other.accessToken)).status).toBe(200);
  });

  it("reuse of the family's first refresh token", async () => {
    const family = await familyWithManyAccessTokens();
    const { kv, puts } = wrapKv("observe");
    await expectInvalidGrant(await callWith({ REVOCATIONS: kv }, "/auth/refresh", cookieRefreshInit(family.first)));
    expectConstantWrites(puts, family.user);
    await expectAllRefused(family);
  });
});

describe("logout-all writes one cutoff however many families the user has", () => {
  it("10 families, one KV write, every access token refused", async () => {
    const first = await register();
    const devices = [first, ...(await Promise.all(Array.from({ length: 9 }, () => login(first.email))))];
    const { kv, puts } = wrapKv("observe");
    expect((await callWith({ REVOCATIONS: kv }, "/auth/logout-all", { method: "POST", headers: bearer(first.accessToken) })).status).toBe(204);
    expect(puts).toEqual([`user-cutoff:${first.userId}`]);
    for (const device of devices) {
      await expectError(await me(device.accessToken), 401, "invalid_token");
      expect((await familyRow(device.sid)).revoked_reason).toBe("logout_all");
    }
  });
});
