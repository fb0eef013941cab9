/**
 * Per-refresh telemetry (DESIGN.md: routine refreshes are data points in Analytics Engine, not rows
 * in auth_events). The REFRESH_TELEMETRY binding is replaced by a fake that records every point.
 * Layout: blobs [outcome, client_id, family id, ip, user agent], doubles [generation], indexes [user id].
 */
import { describe, expect, it } from "vitest";
import { callWith, cookieRefreshInit, eventsOf, register, withCookie, type Login } from "./helpers";
import { expectInvalidGrant } from "./hardening";

const client = { "CF-Connecting-IP": "198.51.100.7", "User-Agent": "telemetry-test/1.0" };

function fakeTelemetry() {
  const points: AnalyticsEngineDataPoint[] = [];
  const binding: AnalyticsEngineDataset = { writeDataPoint: (point) => void points.push(point ?? {}) };
  return { points, bindings: { REFRESH_TELEMETRY: binding } };
}

const refresh = (bindings: Record<string, unknown>, token: string) => callWith(bindings, "/auth/refresh", cookieRefreshInit(token, client));

const pointOf = (outcome: string, user: Login, generation: number) => ({
  indexes: [user.userId],
  blobs: [outcome, "web", user.sid, client["CF-Connecting-IP"], client["User-Agent"]],
  doubles: [generation],
});

describe("refresh telemetry", () => {
  it("a rotation writes one data point and no security event", async () => {
    const user = await register();
    const { points, bindings } = fakeTelemetry();
    expect((await refresh(bindings, user.refreshToken)).status).toBe(200);
    expect(points).toEqual([pointOf("rotated", user, 1)]);
    expect((await eventsOf(user.sid)).map((e) => e.type)).toEqual(["register"]);
  });

  it("concurrent duplicates and a later retry: one rotated point, one grace_retry point per retry, no security event", async () => {
    const user = await register();
    const { points, bindings } = fakeTelemetry();
    const statuses = await Promise.all(Array.from({ length: 5 }, () => refresh(bindings, user.refreshToken).then((r) => r.status)));
    expect(statuses).toEqual(Array(5).fill(200));
    expect((await refresh(bindings, user.refreshToken)).status).toBe(200);
    expect(points.filter((p) => p.blobs![0] === "rotated")).toEqual([pointOf("rotated", user, 1)]);
    expect(points.filter((p) => p.blobs![0] === "grace_retry")).toEqual(Array(5).fill(pointOf("grace_retry", user, 1)));
    expect(points).toHaveLength(6);
    expect((await eventsOf(user.sid)).map((e) => e.type)).toEqual(["register"]);
  });

  it("a reuse writes one reuse_detected point and one security event", async () => {
    const user = await register();
    const { points, bindings } = fakeTelemetry();
    await refresh({ ...bindings, REFRESH_GRACE_SECONDS: "0" }, user.refreshToken);
    await expectInvalidGrant(await refresh({ ...bindings, REFRESH_GRACE_SECONDS: "0" }, user.refreshToken));
    expect(points).toEqual([pointOf("rotated", user, 1), pointOf("reuse_detected", user, 1)]);
    expect((await eventsOf(user.sid)).map((e) => [e.type, e.detail])).toEqual([
      ["register", null],
      ["reuse_detected", "parent_replayed_after_grace"],
    ]);
  });

  it("a refused token of a real family writes a refused point; a forged one writes none", async () => {
    const user = await register();
    expect((await callWith({}, "/auth/logout", { method: "POST", headers: withCookie(user.refreshToken) })).status).toBe(204);
    const { points, bindings } = fakeTelemetry();
    await expectInvalidGrant(await refresh(bindings, user.refreshToken));
    expect(points).toEqual([pointOf("refused", user, 0)]);
    const [sid, generation] = user.refreshToken.split(".");
    await expectInvalidGrant(await refresh(bindings, `${sid}.${generation}.${"A".repeat(43)}.${"A".repeat(22)}`));
    expect(points).toHaveLength(1);
  });

  it("a failing telemetry binding never fails a refresh", async () => {
    const user = await register();
    const broken = { REFRESH_TELEMETRY: { writeDataPoint: () => { throw new Error("Analytics Engine unavailable"); } } };
    expect((await refresh(broken, user.refreshToken)).status).toBe(200);
  });
});
