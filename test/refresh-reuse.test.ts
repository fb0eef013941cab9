/**
 * POST /auth/refresh, reuse detection: a refresh token used again outside the grace window revokes
 * its whole family (refresh and access tokens), records one security event, and touches nothing
 * else. Ancestors in general are in families.test.ts; here, the parent and the window's settings.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  bodyRefreshInit,
  call,
  callWith,
  cookieRefreshInit,
  eventsOf,
  familyRow,
  login,
  me,
  refreshWithBody,
  refreshWithCookie,
  register,
  rotate,
  updateFamily,
} from "./helpers";
import { expectError, expectInvalidGrant } from "./hardening";

const noGrace = { REFRESH_GRACE_SECONDS: "0" };

describe("POST /auth/refresh: reuse detection", () => {
  it("replaying the parent after the grace window revokes the family and every access token it issued", async () => {
    const user = await register();
    const child = await rotate(user.refreshToken);
    await updateFamily(user.sid, "rotated_at = rotated_at - 11000");
    const client = { "CF-Connecting-IP": "198.51.100.66", "User-Agent": "replayer/1.0" };
    await expectInvalidGrant(await refreshWithCookie(user.refreshToken, client));
    expect(await familyRow(user.sid)).toMatchObject({ revoked_reason: "reuse_detected", token_hash: null, previous_hash: null, sealed_token: null });
    await expectInvalidGrant(await refreshWithCookie(child.refreshToken));
    for (const token of [child.accessToken, user.accessToken]) await expectError(await me(token), 401, "invalid_token");
    expect((await eventsOf(user.sid)).filter((e) => e.type === "reuse_detected")).toEqual([
      { type: "reuse_detected", detail: "parent_replayed_after_grace", user_id: user.userId, ip: "198.51.100.66", user_agent: "replayer/1.0" },
    ]);
  });

  it("a revoked family stays revoked: more replays are refused and record no second event", async () => {
    const user = await register();
    const child = await rotate(user.refreshToken);
    await rotate(child.refreshToken);
    await expectInvalidGrant(await refreshWithCookie(user.refreshToken));
    const row = await familyRow(user.sid);
    for (const token of [user.refreshToken, child.refreshToken]) await expectInvalidGrant(await refreshWithCookie(token));
    expect(await familyRow(user.sid)).toEqual(row);
    expect((await eventsOf(user.sid)).filter((e) => e.type === "reuse_detected")).toHaveLength(1);
  });

  it("non-browser clients (token in the body) get the same detection", async () => {
    const user = await register();
    const next = (await (await refreshWithBody(user.refreshToken)).json()) as { refresh_token: string };
    await expectInvalidGrant(await callWith(noGrace, "/auth/refresh", bodyRefreshInit(user.refreshToken)));
    expect((await familyRow(user.sid)).revoked_reason).toBe("reuse_detected");
    await expectInvalidGrant(await refreshWithBody(next.refresh_token));
  });

  it("with the grace window disabled (0), any replay of the parent is reuse", async () => {
    const user = await register();
    expect((await callWith(noGrace, "/auth/refresh", cookieRefreshInit(user.refreshToken))).status).toBe(200);
    await expectInvalidGrant(await callWith(noGrace, "/auth/refresh", cookieRefreshInit(user.refreshToken)));
    expect((await familyRow(user.sid)).revoked_reason).toBe("reuse_detected");
  });

  it("with the grace window disabled, a concurrent duplicate is reuse: one winner, then the family is revoked", async () => {
    const user = await register();
    const statuses = await Promise.all(Array.from({ length: 5 }, () => callWith(noGrace, "/auth/refresh", cookieRefreshInit(user.refreshToken)).then((r) => r.status)));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(4);
    expect((await familyRow(user.sid)).revoked_reason).toBe("reuse_detected");
  });

  it("grace retries of one family are rate limited per family (429, Retry-After), without revoking it", async () => {
    const user = await register();
    const strict = { REFRESH_FAMILY_RATE_LIMITER: env.TEST_STRICT_LIMITER };
    expect((await callWith(strict, "/auth/refresh", cookieRefreshInit(user.refreshToken))).status).toBe(200);
    const retries = [];
    for (let i = 0; i < 4; i++) retries.push(await callWith(strict, "/auth/refresh", cookieRefreshInit(user.refreshToken)));
    expect(retries.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(retries[3]!.headers.get("Retry-After")).toBe("60");
    expect(await familyRow(user.sid)).toMatchObject({ generation: 1, revoked_at: null });
  });

  it("a thief who spends the family's quota with refused requests cannot keep the owner's replay from revoking the family", async () => {
    const strict = { REFRESH_FAMILY_RATE_LIMITER: env.TEST_STRICT_LIMITER, ...noGrace };
    const owner = await register();
    const stolen = await rotate(owner.refreshToken, strict);
    // Each of these changes nothing, but each is counted for the family (another client's id).
    const asAnotherClient = () =>
      callWith(strict, "/oauth/token", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: stolen.refreshToken, client_id: "ios-app" }).toString(),
      });
    for (let i = 0; i < 3; i++) await expectError(await asAnotherClient(), 400, "invalid_grant");
    expect((await asAnotherClient()).status).toBe(429);
    // The owner's client replays the token it still holds: reuse, the family ends, the thief's tokens with it.
    await expectInvalidGrant(await callWith(strict, "/auth/refresh", cookieRefreshInit(owner.refreshToken)));
    expect((await familyRow(owner.sid)).revoked_reason).toBe("reuse_detected");
    expect((await callWith(strict, "/auth/refresh", cookieRefreshInit(stolen.refreshToken))).status).not.toBe(200);
    await expectError(await me(stolen.accessToken), 401, "invalid_token");
  });

  it("other sessions of the same user are untouched by a reuse in one family", async () => {
    const user = await register();
    const other = await login(user.email);
    await rotate(user.refreshToken);
    await expectInvalidGrant(await callWith(noGrace, "/auth/refresh", cookieRefreshInit(user.refreshToken)));
    // The replay was detected as reuse and ended its own family...
    expect((await familyRow(user.sid)).revoked_reason).toBe("reuse_detected");
    await expectError(await me(user.accessToken), 401, "invalid_token");
    // ...and nothing else.
    expect((await me(other.accessToken)).status).toBe(200);
    expect((await familyRow(other.sid)).revoked_at).toBeNull();
    expect((await refreshWithCookie(other.refreshToken)).status).toBe(200);
  });

  it("a used token of a family that has ended (expired) changes nothing: no revocation, no event", async () => {
    const user = await register();
    const child = await rotate(user.refreshToken);
    await rotate(child.refreshToken);
    await updateFamily(user.sid, "expires_at = ?", Date.now() - 1);
    const row = await familyRow(user.sid);
    await expectInvalidGrant(await call("/auth/refresh", cookieRefreshInit(user.refreshToken)));
    expect(await familyRow(user.sid)).toEqual(row);
    expect((await eventsOf(user.sid)).map((e) => e.type)).toEqual(["register"]);
  });
});
