/**
 * KV fails (down, or writes only). No access token is ever accepted without its revocation check,
 * and every revocation writes KV first: when that write fails the answer is 503 and D1 is unchanged
 * (no family revoked, no password changed, no user disabled), so nothing is half done; the
 * client's retry does all of it.
 */
import { describe, expect, it } from "vitest";
import { endpoints, endpointNamed, NEW_PASSWORD, type Endpoint } from "./fixtures/endpoints";
import { bearer, call, callWith, cookieRefreshInit, eventsOf, familyRow, login, me, PASSWORD, postJson, refreshWithCookie, register, rotate, type Login, type Overrides } from "./helpers";
import { expectError, expectInvalidGrant, expectUnavailable, storageDigest, wrapKv } from "./hardening";

const send = (e: Endpoint, u: Login, overrides: Overrides = {}) => callWith(overrides, e.path(u), e.init(u));

async function expectSessionIntact(u: Login) {
  expect((await me(u.accessToken)).status).toBe(200);
  expect((await familyRow(u.sid)).revoked_at).toBeNull();
  expect((await refreshWithCookie(u.refreshToken)).status).toBe(200);
}

describe("KV down", () => {
  it.each(endpoints.filter((e) => e.readsKv || e.endsSession))("$name answers 503 and changes nothing in D1", async (endpoint) => {
    const u = await register();
    const { kv, calls } = wrapKv("down");
    const before = await storageDigest();
    await expectUnavailable(await send(endpoint, u, { REVOCATIONS: kv }));
    expect(calls()).toBeGreaterThan(0);
    expect(await storageDigest()).toEqual(before);
    await expectSessionIntact(u);
  });

  it("never accepts a revoked access token because the revocation check failed", async () => {
    const victim = await register();
    expect((await call("/auth/logout", { method: "POST", headers: bearer(victim.accessToken) })).status).toBe(204);
    const { kv } = wrapKv("down");
    await expectUnavailable(await callWith({ REVOCATIONS: kv }, "/auth/me", { headers: bearer(victim.accessToken) }));
    await expectError(await me(victim.accessToken), 401, "invalid_token");
  });

  it("refreshes keep working: a rotation needs no KV", async () => {
    const u = await register();
    const { kv, calls } = wrapKv("down");
    expect((await callWith({ REVOCATIONS: kv }, "/auth/refresh", cookieRefreshInit(u.refreshToken))).status).toBe(200);
    expect(calls()).toBe(0);
  });
});

describe("KV writes fail: revocations answer 503 before D1 is touched", () => {
  it.each(["logout (cookie)", "logout (bearer)", "session delete"])("%s: 503, the family intact, and the retry completes it", async (name) => {
    const u = await register();
    const other = await login(u.email);
    const endpoint = endpointNamed(name);
    // A session delete from the other device (its own token stays valid for the retry).
    const caller = name === "session delete" ? { ...u, accessToken: other.accessToken } : u;
    const { kv, puts } = wrapKv("writes");
    const before = await storageDigest();
    await expectUnavailable(await send(endpoint, caller, { REVOCATIONS: kv }));
    expect(puts).toEqual([`revoked-sid:${u.sid}`]);
    expect(await storageDigest()).toEqual(before);
    expect((await me(u.accessToken)).status).toBe(200);

    expect((await send(endpoint, caller)).status).toBe(204);
    await expectError(await me(u.accessToken), 401, "invalid_token");
    await expectInvalidGrant(await refreshWithCookie(u.refreshToken));
    expect((await me(other.accessToken)).status).toBe(200);
  });

  it("logout-all: 503, every family and access token intact; the retry ends them all", async () => {
    const u = await register();
    const other = await login(u.email);
    const { kv, puts } = wrapKv("writes");
    const before = await storageDigest();
    await expectUnavailable(await send(endpointNamed("logout-all"), u, { REVOCATIONS: kv }));
    expect(puts).toEqual([`user-cutoff:${u.userId}`]);
    expect(await storageDigest()).toEqual(before);
    for (const device of [u, other]) expect((await me(device.accessToken)).status).toBe(200);
    expect((await familyRow(other.sid)).revoked_at).toBeNull();

    expect((await send(endpointNamed("logout-all"), u)).status).toBe(204);
    for (const device of [u, other]) {
      await expectError(await me(device.accessToken), 401, "invalid_token");
      await expectInvalidGrant(await refreshWithCookie(device.refreshToken));
    }
  });

  it("password change: 503, the password and every family unchanged", async () => {
    const u = await register();
    const other = await login(u.email);
    const { kv, puts } = wrapKv("writes");
    const before = await storageDigest();
    await expectUnavailable(await send(endpointNamed("password change"), u, { REVOCATIONS: kv }));
    expect(puts).toEqual([`user-cutoff-except:${u.userId}`]);
    expect(await storageDigest()).toEqual(before);
    expect((await postJson("/auth/login", { email: u.email, password: PASSWORD })).status).toBe(200);
    expect((await postJson("/auth/login", { email: u.email, password: NEW_PASSWORD })).status).toBe(401);
    await expectSessionIntact(other);
    expect((await eventsOf(u.sid)).map((e) => e.type)).not.toContain("password_changed");
  });

  it("admin disable: 503, the user neither disabled nor signed out", async () => {
    const u = await register();
    const { kv, puts } = wrapKv("writes");
    const admin = { ADMIN_API_TOKEN: "test-admin-token" };
    const disable = (overrides: Overrides) => callWith({ ...admin, ...overrides }, `/admin/users/${u.userId}/disable`, { method: "POST", headers: bearer("test-admin-token") });
    const before = await storageDigest();
    await expectUnavailable(await disable({ REVOCATIONS: kv }));
    expect(puts).toEqual([`user-cutoff:${u.userId}`]);
    expect(await storageDigest()).toEqual(before);
    expect((await postJson("/auth/login", { email: u.email, password: PASSWORD })).status).toBe(200);
    await expectSessionIntact(u);

    expect((await disable({})).status).toBe(204);
    expect((await postJson("/auth/login", { email: u.email, password: PASSWORD })).status).toBe(401);
  });

  it("reuse detected while KV cannot be written: 503, the family unchanged; the replay with KV back revokes it", async () => {
    const u = await register();
    const child = await rotate(u.refreshToken);
    const grandchild = await rotate(child.refreshToken);
    const { kv, puts } = wrapKv("writes");
    const before = await familyRow(u.sid);
    await expectUnavailable(await callWith({ REVOCATIONS: kv }, "/auth/refresh", cookieRefreshInit(u.refreshToken)));
    expect(puts).toEqual([`revoked-sid:${u.sid}`]);
    expect(await familyRow(u.sid)).toEqual(before);
    expect((await eventsOf(u.sid)).map((e) => e.type)).not.toContain("reuse_detected");

    await expectInvalidGrant(await refreshWithCookie(u.refreshToken));
    expect(await familyRow(u.sid)).toMatchObject({ revoked_reason: "reuse_detected", token_hash: null });
    await expectError(await me(grandchild.accessToken), 401, "invalid_token");
    await expectInvalidGrant(await refreshWithCookie(grandchild.refreshToken));
  });
});
