/**
 * D1 fails (down, writes only, or a write that commits and then loses its response), in every user
 * database. The service fails closed: 503 `temporarily_unavailable` with Retry-After, never a token
 * issued on partial state. A revocation writes KV before D1, so a failure in between leaves the
 * tokens refused and the family intact in D1; the client's retry completes it.
 */
import { describe, expect, it } from "vitest";
import { endpoints, endpointNamed, type Endpoint } from "./fixtures/endpoints";
import {
  bearer,
  bodyRefreshInit,
  call,
  callWith,
  cookieRefreshInit,
  familyRow,
  json,
  login,
  me,
  nextSecond,
  PASSWORD,
  refreshCookieOf,
  refreshWithCookie,
  register,
  rotate,
  uniqueEmail,
  type Login,
  type Overrides,
  type TokenBody,
} from "./helpers";
import { expectError, expectInvalidGrant, expectUnavailable, storageDigest, wrapDatabases } from "./hardening";
import { storedHash } from "./stored-hash";

const send = (e: Endpoint, u: Login, overrides: Overrides = {}) => callWith(overrides, e.path(u), e.init(u));

/** The user's session is untouched: the access token works, the family is listed and still rotates. */
async function expectSessionIntact(u: Login) {
  expect((await me(u.accessToken)).status).toBe(200);
  const list = await call("/auth/sessions", { headers: bearer(u.accessToken) });
  expect(((await list.json()) as { sessions: { id: string }[] }).sessions.map((s) => s.id)).toContain(u.sid);
  expect((await familyRow(u.sid)).revoked_at).toBeNull();
  expect((await refreshWithCookie(u.refreshToken)).status).toBe(200);
}

/**
 * The client retries what failed once D1 is back, and the session ends: logout as it was sent;
 * logout-all after refreshing in a later second (its cutoff already refuses the old access token);
 * a session delete from the user's other device (the deleted session's token is already refused).
 */
async function expectRetryEndsSession(endpoint: Endpoint, u: Login, otherDevice: Login) {
  if (endpoint.name === "logout-all") {
    await nextSecond();
    const fresh = await rotate(u.refreshToken);
    expect((await call("/auth/logout-all", { method: "POST", headers: bearer(fresh.accessToken) })).status).toBe(204);
    await expectInvalidGrant(await refreshWithCookie(fresh.refreshToken));
    await expectError(await me(fresh.accessToken), 401, "invalid_token");
  } else {
    const retry = endpoint.name === "session delete" ? { ...u, accessToken: otherDevice.accessToken } : u;
    expect((await send(endpoint, retry)).status).toBe(204);
    await expectInvalidGrant(await refreshWithCookie(u.refreshToken));
  }
  await expectError(await me(u.accessToken), 401, "invalid_token");
  expect((await familyRow(u.sid)).revoked_at).not.toBeNull();
}

describe("D1 down", () => {
  it.each(endpoints)("$name answers 503, issues no token and changes nothing in D1", async (endpoint) => {
    const u = await register();
    const otherDevice = await login(u.email);
    const { bindings, calls } = wrapDatabases("down");
    const before = await storageDigest();
    await expectUnavailable(await send(endpoint, u, bindings));
    expect(calls()).toBeGreaterThan(0);
    expect(await storageDigest()).toEqual(before);
    if (endpoint.endsSession) await expectRetryEndsSession(endpoint, u, otherDevice);
    else await expectSessionIntact(u);
  });
});

describe("D1 writes fail (reads work)", () => {
  const writing = endpoints.filter((e) => e.name !== "me" && e.name !== "sessions list");

  it.each(writing)("$name answers 503, issues no token and changes nothing in D1", async (endpoint) => {
    const u = await register();
    const otherDevice = await login(u.email);
    const { bindings, calls } = wrapDatabases("writes");
    const before = await storageDigest();
    await expectUnavailable(await send(endpoint, u, bindings));
    expect(calls()).toBeGreaterThan(0);
    expect(await storageDigest()).toEqual(before);
    if (endpoint.endsSession) {
      // KV was written before D1 failed: the session's access token is refused already.
      await expectError(await me(u.accessToken), 401, "invalid_token");
      await expectRetryEndsSession(endpoint, u, otherDevice);
    } else {
      await expectSessionIntact(u);
      expect((await me(otherDevice.accessToken)).status).toBe(endpoint.name === "password change" ? 401 : 200);
    }
  });

  it("a password change whose D1 write failed: other devices are cut off, the caller goes on, the password is unchanged", async () => {
    const u = await register();
    const otherDevice = await login(u.email);
    const { bindings } = wrapDatabases("writes");
    await expectUnavailable(await send(endpointNamed("password change"), u, bindings));
    await expectError(await me(otherDevice.accessToken), 401, "invalid_token");
    expect((await me(u.accessToken)).status).toBe(200);
    expect((await familyRow(otherDevice.sid)).revoked_at).toBeNull();
    await login(u.email, PASSWORD);
    // The retry completes: the other family is revoked in D1 too.
    expect((await send(endpointNamed("password change"), u)).status).toBe(204);
    expect((await familyRow(otherDevice.sid)).revoked_reason).toBe("password_changed");
    await expectInvalidGrant(await refreshWithCookie(otherDevice.refreshToken));
  });

  it("a rotation that failed leaves the family with a usable token: the same token refreshes afterwards", async () => {
    const u = await register();
    const { bindings, calls } = wrapDatabases("writes");
    for (let i = 0; i < 2; i++) await expectUnavailable(await callWith(bindings, "/auth/refresh", cookieRefreshInit(u.refreshToken)));
    expect(calls()).toBe(2);
    expect((await familyRow(u.sid)).generation).toBe(0);
    const next = await rotate(u.refreshToken);
    expect((await refreshWithCookie(next.refreshToken)).status).toBe(200);
    expect((await familyRow(u.sid)).generation).toBe(2);
  });
});

describe("lost response: the write commits, then the error reaches the worker", () => {
  it("refresh: the client's retry gets the committed child through the grace path, family intact", async () => {
    const u = await register();
    const { bindings, calls } = wrapDatabases("lost-response");
    await expectUnavailable(await callWith(bindings, "/auth/refresh", cookieRefreshInit(u.refreshToken)));
    expect(calls()).toBe(1);
    const committed = await familyRow(u.sid);
    expect(committed).toMatchObject({ generation: 1, previous_hash: await storedHash(u.refreshToken), revoked_at: null });

    const retry = await refreshWithCookie(u.refreshToken);
    expect(retry.status).toBe(200);
    const child = refreshCookieOf(retry)!;
    // The very child the lost write stored (only its hash is in D1), not a second one.
    expect(await storedHash(child)).toBe(committed.token_hash);
    const again = await refreshWithCookie(u.refreshToken);
    expect(refreshCookieOf(again)).toBe(child);
    expect((await me(((await again.json()) as TokenBody).access_token)).status).toBe(200);
    expect(await familyRow(u.sid)).toEqual(committed);

    await rotate(child);
    expect(await familyRow(u.sid)).toMatchObject({ generation: 2, revoked_at: null });
  });

  it("non-browser refresh: the retry with the same body token gets the same child", async () => {
    const u = await register();
    const { bindings } = wrapDatabases("lost-response");
    await expectUnavailable(await callWith(bindings, "/auth/refresh", bodyRefreshInit(u.refreshToken)));
    const first = (await (await call("/auth/refresh", bodyRefreshInit(u.refreshToken))).json()) as TokenBody;
    const second = (await (await call("/auth/refresh", bodyRefreshInit(u.refreshToken))).json()) as TokenBody;
    expect(await storedHash(first.refresh_token!)).toBe((await familyRow(u.sid)).token_hash);
    expect(second.refresh_token).toBe(first.refresh_token);
    expect(second.access_token).toBe(first.access_token);
    expect((await familyRow(u.sid)).revoked_at).toBeNull();
  });

  it("register: no token is issued; the retry says email_taken and the password logs in", async () => {
    const email = uniqueEmail("lost");
    const { bindings } = wrapDatabases("lost-response");
    const init = () => ({ method: "POST", headers: json, body: JSON.stringify({ email, password: PASSWORD }) });
    await expectUnavailable(await callWith(bindings, "/auth/register", init()));
    await expectError(await call("/auth/register", init()), 409, "email_taken");
    expect((await me((await login(email)).accessToken)).status).toBe(200);
  });

  it("login: no token is issued for the session that was stored", async () => {
    const u = await register();
    const { bindings } = wrapDatabases("lost-response");
    const before = await storageDigest();
    await expectUnavailable(await send(endpointNamed("login"), u, bindings));
    expect((await storageDigest()).sessions).toBe(before.sessions! + 1);
  });

  it("logout: the retry completes and the refresh token is dead", async () => {
    const u = await register();
    const { bindings } = wrapDatabases("lost-response");
    const init = () => ({ method: "POST", headers: { ...cookieRefreshInit(u.refreshToken).headers, ...bearer(u.accessToken) }, body: "{}" });
    await expectUnavailable(await callWith(bindings, "/auth/logout", init()));
    expect((await call("/auth/logout", init())).status).toBe(204);
    await expectInvalidGrant(await refreshWithCookie(u.refreshToken));
    await expectError(await me(u.accessToken), 401, "invalid_token");
  });
});
