import { env } from "cloudflare:workers";
import { and, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { getConfig } from "../../config";
import { isLive, livenessBounds } from "../../sessions/liveness";
import { enabledAndDisabledUsers, insertEach } from "./agreement-fixtures";
import { Databases } from "./databases";
import { liveFamily } from "./liveness";
import { sessions } from "./schema";

/** The SQL rule (rotation, session list, housekeeping) and the TypeScript one (services) must agree. */
describe("the one definition of a live family", () => {
  const now = Date.parse("2026-06-01T00:00:00Z");
  const bounds = livenessBounds(getConfig(env), now);
  const db = new Databases([env.DB]).all[0]!;
  const cases: { revokedAt: number | null; expiresAt: number; rotatedAt: number; userDisabledAt: number | null }[] = [];
  for (const revokedAt of [null, now - 1])
    for (const expiresAt of [now - 1, now, now + 1])
      for (const rotatedAt of [bounds.lastUsedAfter - 1, bounds.lastUsedAfter, bounds.lastUsedAfter + 1])
        for (const userDisabledAt of [null, now - 1]) cases.push({ revokedAt, expiresAt, rotatedAt, userDisabledAt });

  it(`decides ${cases.length} edge cases the same way in SQL and in TypeScript`, async () => {
    const userIds = await enabledAndDisabledUsers(db, now);
    const rows = cases.map((c) => ({
      id: crypto.randomUUID(),
      userId: c.userDisabledAt === null ? userIds.enabled : userIds.disabled,
      createdAt: now - 1_000,
      expiresAt: c.expiresAt,
      rotatedAt: c.rotatedAt,
      revokedAt: c.revokedAt,
    }));
    await insertEach(db, sessions, rows);
    const live = await db
      .select({ id: sessions.id })
      .from(sessions)
      .where(and(sql`${sessions.userId} in (${userIds.enabled}, ${userIds.disabled})`, liveFamily))
      .prepare()
      .all({ ...bounds });
    const liveInSql = new Set(live.map((row) => row.id));
    const disagreements = cases.filter((c, i) => isLive(c, bounds) !== liveInSql.has(rows[i]!.id));
    expect(disagreements).toEqual([]);
    expect(liveInSql.size).toBe(cases.filter((c) => isLive(c, bounds)).length);
    expect(liveInSql.size).toBeGreaterThan(0);
  });
});
