/**
 * Revocation is O(1) in KV (DESIGN.md, Refresh-token families): access tokens carry their family
 * (`sid`), so ending a family writes one KV key however many access tokens it issued, and ending
 * every family of a user writes one cutoff. Counted with a KV wrapper on the real revocation path.
 */
import { env } from "cloudflare:workers";
import { importPKCS8, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { getConfig } from "../src/config";
import { buildServices } from "../src/services";
import { bearer, call, callWith, cookieRefreshInit, decodePayload, familyRow, json, login, me, nextSecond, PASSWORD, refreshWithCookie, register, rotate, withCookie, type Login } from "./helpers";
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
  it("10 families, one KV key written, every access token refused", async () => {
    const first = await register();
    const devices = [first, ...(await Promise.all(Array.from({ length: 9 }, () => login(first.email))))];
    const { kv, puts } = wrapKv("observe");
    expect((await callWith({ REVOCATIONS: kv }, "/auth/logout-all", { method: "POST", headers: bearer(first.accessToken) })).status).toBe(204);
    // The cutoff, written again (at most once) only if a new second began during the D1 change.
    expect(puts.length).toBeLessThanOrEqual(2);
    expect(new Set(puts)).toEqual(new Set([`user-cutoff:${first.userId}`]));
    for (const device of devices) {
      await expectError(await me(device.accessToken), 401, "invalid_token");
      expect((await familyRow(device.sid)).revoked_reason).toBe("logout_all");
    }
  });
});

/** The KV entry `key` and the epoch second it expires at (as KV lists it). */
async function kvEntry(key: string) {
  const { keys } = await env.REVOCATIONS.list({ prefix: key });
  return keys.find((k) => k.name === key);
}

describe("KV entries live as long as the tokens they refuse", () => {
  // An entry that expired before the token would let the token back in (KV's minimum TTL is 60 s).
  const lifetime = Number(env.ACCESS_TOKEN_TTL_SECONDS ?? 900);
  const expectExpiryNear = (expiration: number | undefined, expected: number) => {
    expect(expiration).toBeGreaterThanOrEqual(expected - 5);
    expect(expiration).toBeLessThanOrEqual(expected + 5);
  };

  it("a family's entry (logout), a user's cutoff (logout-all) and one access token's entry (RFC 7009) outlive the tokens' 15 minutes", async () => {
    const loggedOut = await register();
    expect((await call("/auth/logout", { method: "POST", headers: bearer(loggedOut.accessToken) })).status).toBe(204);
    const now = Math.floor(Date.now() / 1000);
    expectExpiryNear((await kvEntry(`revoked-sid:${loggedOut.sid}`))?.expiration, now + lifetime + 60);

    const everywhere = await register();
    expect((await call("/auth/logout-all", { method: "POST", headers: bearer(everywhere.accessToken) })).status).toBe(204);
    expectExpiryNear((await kvEntry(`user-cutoff:${everywhere.userId}`))?.expiration, now + lifetime + 60);

    const revokedAlone = await register();
    const form = new URLSearchParams({ token: revokedAlone.accessToken, client_id: "web" });
    expect((await call("/oauth/revoke", { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: form })).status).toBe(200);
    const { jti, exp } = decodePayload(revokedAlone.accessToken) as { jti: string; exp: number };
    expectExpiryNear((await kvEntry(`revoked-jti:${jti}`))?.expiration, exp + 60);
    await expectError(await me(revokedAlone.accessToken), 401, "invalid_token");
  });
});

describe("per-user cutoffs", () => {
  /** An access token of `user`'s session signed with the service's key, with the given times. */
  async function accessTokenOf(user: Login, claims: { iat: number; exp: number }) {
    const key = await importPKCS8(env.SIGNING_KEY!, "RS256");
    const kid = ((await (await call("/.well-known/jwks.json")).json()) as { keys: { kid: string }[] }).keys[0]!.kid;
    const config = getConfig(env);
    return new SignJWT({ sid: user.sid, client_id: "web", role: "user" })
      .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid })
      .setIssuer(config.issuer)
      .setAudience(config.audience)
      .setSubject(user.userId)
      .setJti(crypto.randomUUID())
      .setIssuedAt(claims.iat)
      .setExpirationTime(claims.exp)
      .sign(key);
  }

  it("a token issued in the cutoff's own second is refused", async () => {
    const user = await register();
    const caller = await login(user.email);
    await nextSecond();
    const now = Math.floor(Date.now() / 1000);
    const sameSecond = await accessTokenOf(user, { iat: now, exp: now + 300 });
    expect((await me(sameSecond)).status).toBe(200);
    expect((await call("/auth/logout-all", { method: "POST", headers: bearer(caller.accessToken) })).status).toBe(204);
    // Only if the request above crossed into the next second would the token be older anyway.
    expect(Math.floor(Date.now() / 1000), "logout-all took too long for this check").toBe(now);
    await expectError(await me(sameSecond), 401, "invalid_token");
  });

  it("a password change (a cutoff that spares its session) does not undo an earlier cutoff: a role revocation's stays", async () => {
    const admin = { ADMIN_API_TOKEN: "test-admin-token" };
    const user = await register();
    const roleUrl = `/admin/users/${user.userId}/roles/admin`;
    expect((await callWith(admin, roleUrl, { method: "PUT", headers: bearer("test-admin-token") })).status).toBe(201);
    const withAdmin = await login(user.email);
    expect(decodePayload(withAdmin.accessToken).roles).toContain("admin");
    expect((await callWith(admin, roleUrl, { method: "DELETE", headers: bearer("test-admin-token") })).status).toBe(204);
    await expectError(await me(withAdmin.accessToken), 401, "invalid_token");
    await nextSecond();
    const sameSession = await rotate(withAdmin.refreshToken);
    const change = await call("/auth/password", {
      method: "POST",
      headers: { ...json, ...bearer(sameSession.accessToken), "CF-Connecting-IP": "198.51.100.77" },
      body: JSON.stringify({ current_password: PASSWORD, new_password: "a brand new passphrase 42" }),
    });
    expect(change.status).toBe(204);
    // The session that changed the password keeps its token issued after the revocation...
    expect((await me(sameSession.accessToken)).status).toBe(200);
    // ...but not the one from before it, which still claims the revoked role.
    await expectError(await me(withAdmin.accessToken), 401, "invalid_token");
  });

  it("a token issued in the future does not outlive a cutoff", async () => {
    const user = await register();
    const now = Math.floor(Date.now() / 1000);
    // Within the allowed lifetime (exp <= now + TTL + leeway), iat ten minutes ahead.
    const fromTheFuture = await accessTokenOf(user, { iat: now + 600, exp: now + 900 });
    expect((await call("/auth/logout-all", { method: "POST", headers: bearer(user.accessToken) })).status).toBe(204);
    await expectError(await me(fromTheFuture), 401, "invalid_token");
  });
});
