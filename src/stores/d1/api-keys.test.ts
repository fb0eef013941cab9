import { env } from "cloudflare:workers";
import { and, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { isUsable } from "../../api-keys/usable";
import { usableKeyAt } from "./api-keys";
import { enabledAndDisabledUsers, insertEach } from "./agreement-fixtures";
import { Databases } from "./databases";
import { apiKeys } from "./schema";

/** The SQL rule (the last-used update, the key limit) and the TypeScript one (the services) must agree. */
describe("the one definition of a usable API key", () => {
  const now = Date.parse("2026-06-01T00:00:00Z");
  const db = new Databases([env.DB]).all[0]!;
  type Owner = "enabled user" | "disabled user" | "service account";
  const cases: { revokedAt: number | null; expiresAt: number | null; owner: Owner }[] = [];
  for (const revokedAt of [null, now - 1, now + 1])
    for (const expiresAt of [null, now - 1, now, now + 1])
      for (const owner of ["enabled user", "disabled user", "service account"] as const) cases.push({ revokedAt, expiresAt, owner });

  it(`decides ${cases.length} edge cases the same way in SQL and in TypeScript`, async () => {
    const userIds = await enabledAndDisabledUsers(db, now);
    const rows = cases.map((c) => ({
      id: crypto.randomUUID(),
      userId: c.owner === "service account" ? null : c.owner === "enabled user" ? userIds.enabled : userIds.disabled,
      serviceAccount: c.owner === "service account" ? "agreement-test" : null,
      name: "k",
      prefix: "etsk_abcdef",
      secretHash: "h",
      scopes: "",
      createdAt: now - 1_000,
      expiresAt: c.expiresAt,
      revokedAt: c.revokedAt,
    }));
    await insertEach(db, apiKeys, rows);
    const ids = rows.map((row) => row.id);
    const usable = new Set((await db.select({ id: apiKeys.id }).from(apiKeys).where(and(inArray(apiKeys.id, ids), usableKeyAt(now))).all()).map((row) => row.id));
    const state = (c: (typeof cases)[number], i: number) => ({
      ...c,
      userId: rows[i]!.userId,
      serviceAccount: rows[i]!.serviceAccount,
      user: c.owner === "service account" ? null : { disabledAt: c.owner === "disabled user" ? now - 1 : null, roles: [], emailVerified: false },
    });
    const disagreements = cases.filter((c, i) => isUsable(state(c, i), now) !== usable.has(rows[i]!.id));
    expect(disagreements).toEqual([]);
    expect(usable.size).toBe(cases.filter((c, i) => isUsable(state(c, i), now)).length);
    expect(usable.size).toBeGreaterThan(0);
  });
});
