/**
 * Upgrading to roles in `user_roles` (migration 0003) changes no one's role: each user keeps its
 * `users.role` and also gets "user"; the deprecated `role` claim of a session that refreshes after
 * the upgrade is the role it had before.
 */
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { getRefreshTokenKeys } from "../src/keys/refresh-token-keys";
import { mintRefreshToken } from "../src/sessions/refresh-token";
import { callWith, decodePayload } from "./helpers";
import { storedHash } from "./stored-hash";

const db = () => env.UPGRADE_DB;
const beforeUpgrade = () => env.TEST_MIGRATIONS.filter((m) => /^000[0-2]_/.test(m.name));
const upgraded = { DB: undefined as unknown as D1Database, USER_DATABASES: "DB" };
const OLD_ROLES = ["user", "admin", "editor"] as const;

/** A user as the code before the upgrade left it, with a live family and its current refresh token. */
async function oldUser(role: string, now: number) {
  const userId = crypto.randomUUID();
  const familyId = crypto.randomUUID();
  await db().prepare("insert into users (id, email, password_hash, role, created_at, updated_at) values (?, ?, 'x', ?, ?, ?)").bind(userId, `${role}-${userId}@example.com`, role, now - 90_000, now - 90_000).run();
  const refreshToken = (await mintRefreshToken(await getRefreshTokenKeys(env), familyId, 0)).token;
  await db().prepare("insert into sessions (id, user_id, created_at, expires_at, generation, token_hash, rotated_at) values (?, ?, ?, ?, 0, ?, ?)")
    .bind(familyId, userId, now - 60_000, now + 24 * 3600_000, await storedHash(refreshToken), now - 60_000).run();
  return { role, userId, refreshToken };
}

describe("upgrading to user_roles", () => {
  const now = Date.now();
  let users: Awaited<ReturnType<typeof oldUser>>[];

  beforeAll(async () => {
    await applyD1Migrations(db(), beforeUpgrade());
    users = [];
    for (const role of OLD_ROLES) users.push(await oldUser(role, now));
    await applyD1Migrations(db(), env.TEST_MIGRATIONS);
  });

  it("copies each users.role into user_roles, adds user for everyone, and leaves users.role as it was", async () => {
    for (const user of users) {
      const { results } = await db().prepare("select role, granted_at, granted_by from user_roles where user_id = ? order by role").bind(user.userId).all();
      const expected = [...new Set([user.role, "user"])].sort().map((role) => ({ role, granted_at: now - 90_000, granted_by: "migration" }));
      expect(results).toEqual(expected);
      expect(await db().prepare("select role from users where id = ?").bind(user.userId).first("role")).toBe(user.role);
    }
  });

  it("a session refreshed after the upgrade carries the roles, and its deprecated role is the one from before", async () => {
    for (const user of users) {
      const res = await callWith({ ...upgraded, DB: db() }, "/auth/refresh", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: user.refreshToken }) });
      expect(res.status).toBe(200);
      const claims = decodePayload(((await res.json()) as { access_token: string }).access_token);
      expect(claims).toMatchObject({ sub: user.userId, roles: [...new Set([user.role, "user"])].sort(), role: user.role });
    }
  });
});
