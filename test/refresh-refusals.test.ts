/**
 * POST /auth/refresh, refusals: expired, idle, ended, revoked, unknown and malformed tokens are 401
 * `invalid_grant` with the cookie cleared and nothing changed; cookie-authenticated requests from
 * anything but an allowed origin are 403 before any state change; the cookie's lifetime and CORS.
 */
import { describe, expect, it } from "vitest";
import {
  call,
  callWith,
  cookieRefreshInit,
  COOKIE,
  eventsOf,
  familyRow,
  me,
  postJson,
  refreshWithCookie,
  register,
  SPA_ORIGIN,
  updateFamily,
  withCookie,
  type Login,
} from "./helpers";
import { expectError, expectInvalidGrant } from "./hardening";

const DAY_MS = 24 * 3600 * 1000;

/** The refusal, and neither the family's row nor its events changed. */
async function expectRefusedWithoutChange(user: Login, action: () => Promise<Response>) {
  const [row, events] = [await familyRow(user.sid), await eventsOf(user.sid)];
  await expectInvalidGrant(await action());
  expect(await familyRow(user.sid)).toEqual(row);
  expect(await eventsOf(user.sid)).toEqual(events);
}

describe("POST /auth/refresh: refused tokens change nothing", () => {
  it("a token older than the refresh-token life (REFRESH_TOKEN_TTL_SECONDS, 7 days)", async () => {
    const user = await register();
    await updateFamily(user.sid, "rotated_at = ?", Date.now() - 7 * DAY_MS - 60_000);
    // With a 30-day idle timeout, the token's own life is what ends it: 8 days would still accept it.
    const longIdle = { SESSION_IDLE_TIMEOUT_SECONDS: String(30 * 24 * 3600) };
    await expectRefusedWithoutChange(user, () => callWith(longIdle, "/auth/refresh", cookieRefreshInit(user.refreshToken)));
    const longerLife = { ...longIdle, REFRESH_TOKEN_TTL_SECONDS: String(8 * 24 * 3600) };
    expect((await callWith(longerLife, "/auth/refresh", cookieRefreshInit(user.refreshToken))).status).toBe(200);
  });

  it("an idle-timed-out session (SESSION_IDLE_TIMEOUT_SECONDS)", async () => {
    const user = await register();
    await updateFamily(user.sid, "rotated_at = ?", Date.now() - 2 * DAY_MS);
    await expectRefusedWithoutChange(user, () => callWith({ SESSION_IDLE_TIMEOUT_SECONDS: "86400" }, "/auth/refresh", cookieRefreshInit(user.refreshToken)));
    expect((await refreshWithCookie(user.refreshToken)).status).toBe(200);
  });

  it("a session past its absolute lifetime", async () => {
    const user = await register();
    await updateFamily(user.sid, "expires_at = ?", Date.now() - 1);
    await expectRefusedWithoutChange(user, () => refreshWithCookie(user.refreshToken));
  });

  it("the current token of a family ended by logout", async () => {
    const user = await register();
    expect((await call("/auth/logout", { method: "POST", headers: withCookie(user.refreshToken) })).status).toBe(204);
    await expectRefusedWithoutChange(user, () => refreshWithCookie(user.refreshToken));
  });

  it("unknown, malformed and access-token-as-refresh-token", async () => {
    const user = await register();
    await expectRefusedWithoutChange(user, () => refreshWithCookie("A".repeat(43)));
    await expectRefusedWithoutChange(user, () => refreshWithCookie("not a token"));
    await expectRefusedWithoutChange(user, () => refreshWithCookie(user.accessToken));
    await expectRefusedWithoutChange(user, () => refreshWithCookie(`${user.refreshToken}x`));
    await expectRefusedWithoutChange(user, () => postJson("/auth/refresh", { refresh_token: user.accessToken }));
    await expectRefusedWithoutChange(user, () => postJson("/auth/refresh", {}));
    expect((await refreshWithCookie(user.refreshToken)).status).toBe(200);
  });
});

describe("the refresh cookie's lifetime", () => {
  const maxAgeOf = (res: Response) => Number(/Max-Age=(\d+)/.exec(res.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`))!)![1]);

  it("is the refresh-token life after a rotation (7 days)", async () => {
    const user = await register();
    const maxAge = maxAgeOf(await refreshWithCookie(user.refreshToken));
    expect(maxAge).toBeGreaterThan(7 * 24 * 3600 - 60);
    expect(maxAge).toBeLessThanOrEqual(7 * 24 * 3600);
  });

  it("never exceeds the family's absolute expiry", async () => {
    const user = await register();
    await updateFamily(user.sid, "expires_at = ?", Date.now() + 120_000);
    const maxAge = maxAgeOf(await refreshWithCookie(user.refreshToken));
    expect(maxAge).toBeLessThanOrEqual(120);
    expect(maxAge).toBeGreaterThan(100);
  });
});

describe("browser safety for cookie-authenticated requests", () => {
  const cases: [string, Record<string, string>][] = [
    ["a foreign Origin", { Origin: "https://evil.example", "Content-Type": "application/json" }],
    ["an Origin that starts like an allowed one", { Origin: `${SPA_ORIGIN}.evil.example`, "Content-Type": "application/json" }],
    ["an Origin that starts like the worker's own", { Origin: "https://auth.example.test.evil.example", "Content-Type": "application/json" }],
    ["no Origin", { "Content-Type": "application/json" }],
    ["text/plain", { Origin: SPA_ORIGIN, "Content-Type": "text/plain" }],
    ["a form post", { Origin: SPA_ORIGIN, "Content-Type": "application/x-www-form-urlencoded" }],
  ];
  it.each(cases)("refresh with %s: 403 invalid_origin, no rotation", async (_label, headers) => {
    const user = await register();
    const row = await familyRow(user.sid);
    const res = await call("/auth/refresh", { method: "POST", headers: { Cookie: `${COOKIE}=${user.refreshToken}`, ...headers }, body: "{}" });
    await expectError(res, 403, "invalid_origin");
    expect(res.headers.get("Set-Cookie")).toBeNull();
    expect(await familyRow(user.sid)).toEqual(row);
    expect((await refreshWithCookie(user.refreshToken)).status).toBe(200);
  });

  it("logout with a foreign Origin is refused and the session survives", async () => {
    const user = await register();
    const res = await call("/auth/logout", { method: "POST", headers: { Cookie: `${COOKIE}=${user.refreshToken}`, Origin: "https://evil.example", "Content-Type": "application/json" } });
    await expectError(res, 403, "invalid_origin");
    expect((await familyRow(user.sid)).revoked_at).toBeNull();
    expect((await me(user.accessToken)).status).toBe(200);
  });

  it("the worker's own origin is allowed", async () => {
    const user = await register();
    expect((await refreshWithCookie(user.refreshToken, { Origin: "https://auth.example.test" })).status).toBe(200);
  });

  it("CORS: credentialed preflight only for allowed origins", async () => {
    const preflight = (origin: string) =>
      call("/auth/refresh", { method: "OPTIONS", headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" } });
    const ok = await preflight(SPA_ORIGIN);
    expect(ok.headers.get("Access-Control-Allow-Origin")).toBe(SPA_ORIGIN);
    expect(ok.headers.get("Access-Control-Allow-Credentials")).toBe("true");
    for (const origin of ["https://evil.example", `${SPA_ORIGIN}.evil.example`]) expect((await preflight(origin)).headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("CORS: an allowed origin can read error answers too; a request without Origin gets no CORS headers but Vary: Origin", async () => {
    const denied = await call("/auth/me", { headers: { Origin: SPA_ORIGIN, Authorization: "Bearer not-a-token" } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("Access-Control-Allow-Origin")).toBe(SPA_ORIGIN);
    expect(denied.headers.get("Access-Control-Allow-Credentials")).toBe("true");
    expect(denied.headers.get("Vary")).toMatch(/\bOrigin\b/);

    const user = await register();
    for (const res of [await me(user.accessToken), await call("/auth/me", { headers: { Authorization: "Bearer not-a-token" } })]) {
      expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
      expect(res.headers.get("Access-Control-Allow-Credentials")).toBeNull();
      expect(res.headers.get("Vary")).toMatch(/\bOrigin\b/);
    }
  });
});
