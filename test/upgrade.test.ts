/**
 * Upgrading a live deployment to one row per family logs nobody out: a database at the schema before
 * it (migrations 0000-0001, one row per refresh token) is migrated, and the refresh tokens it had
 * issued keep working until their next rotation, whose child comes in the new form.
 */
import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { parseRefreshToken, sealChildToken } from "../src/sessions/refresh-token";
import { callWith, decodePayload } from "./helpers";
import { storedHash } from "./stored-hash";

const db = () => env.UPGRADE_DB;
const beforeUpgrade = () => env.TEST_MIGRATIONS.filter((m) => /^000[01]_/.test(m.name));
const legacyToken = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

/** A family as the old code left it: an ancestor, the parent (used, its child sealed), the live token. */
async function oldFamily(userId: string, now: number) {
  const sessionId = crypto.randomUUID();
  const [ancestor, parent, current] = [legacyToken(), legacyToken(), legacyToken()];
  const ids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()] as const;
  await db().prepare("insert into sessions (id, user_id, created_at, expires_at, user_agent, ip) values (?, ?, ?, ?, 'old-client', '192.0.2.1')")
    .bind(sessionId, userId, now - 60_000, now + 30 * 24 * 3600_000).run();
  const row = (id: string, token: string, createdAt: number, usedAt: number | null, childId: string | null, sealed: string | null) =>
    storedHash(token).then((hash) =>
      db().prepare(`insert into refresh_tokens (id, session_id, token_hash, created_at, expires_at, used_at, child_id, sealed_child, access_jti, access_expires_at)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).bind(id, sessionId, hash, createdAt, createdAt + 7 * 24 * 3600_000, usedAt, childId, sealed, crypto.randomUUID(), createdAt + 900_000).run(),
    );
  await row(ids[0], ancestor, now - 60_000, now - 30_000, ids[1], await sealChildToken(ancestor, parent));
  await row(ids[1], parent, now - 30_000, now - 5_000, ids[2], await sealChildToken(parent, current));
  await row(ids[2], current, now - 5_000, null, null, null);
  return { sessionId, ancestor, parent, current };
}

const upgraded = { DB: undefined as unknown as D1Database, USER_DATABASES: "DB" };
const refresh = (token: string) =>
  callWith({ ...upgraded, DB: db() }, "/auth/refresh", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refresh_token: token }) });
const count = async (table: string) => (await db().prepare(`select count(*) as n from ${table}`).first<number>("n"))!;

describe("upgrading to one row per family", () => {
  const now = Date.now();
  const userId = crypto.randomUUID();
  let families: Awaited<ReturnType<typeof oldFamily>>[];
  let before: Record<string, number>;

  beforeAll(async () => {
    await applyD1Migrations(db(), beforeUpgrade());
    await db().prepare("insert into users (id, email, password_hash, role, created_at, updated_at) values (?, 'old@example.com', 'x', 'user', ?, ?)")
      .bind(userId, now - 90_000, now - 90_000).run();
    families = [await oldFamily(userId, now), await oldFamily(userId, now), await oldFamily(userId, now)];
    await db().prepare("insert into auth_events (type, user_id, created_at) values ('login', ?, ?), ('refresh', ?, ?)").bind(userId, now - 60_000, userId, now - 5_000).run();
    before = { users: await count("users"), sessions: await count("sessions"), auth_events: await count("auth_events") };
    await applyD1Migrations(db(), env.TEST_MIGRATIONS);
  });

  it("keeps every user, session and event", async () => {
    expect({ users: await count("users"), sessions: await count("sessions"), auth_events: await count("auth_events") }).toEqual(before);
    const row = await db().prepare("select generation, rotated_at, token_hash, previous_hash, client_id from sessions where id = ?").bind(families[0]!.sessionId).first();
    expect(row).toMatchObject({ generation: 0, rotated_at: now - 5_000, token_hash: await storedHash(families[0]!.current), previous_hash: await storedHash(families[0]!.parent), client_id: "web" });
  });

  it("a live token issued before the upgrade refreshes once more; its child is in the new form and rotates on", async () => {
    const { sessionId, current } = families[0]!;
    const res = await refresh(current);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string; refresh_token: string };
    expect(parseRefreshToken(body.refresh_token)).toMatchObject({ kind: "family", familyId: sessionId, generation: 1 });
    expect(decodePayload(body.access_token)).toMatchObject({ sub: userId, sid: sessionId, client_id: "web" });
    expect((await callWith({ ...upgraded, DB: db() }, "/auth/me", { headers: { Authorization: `Bearer ${body.access_token}` } })).status).toBe(200);
    const next = await refresh(body.refresh_token);
    expect(next.status).toBe(200);
    expect(await count("refresh_tokens")).toBe(9);
  });

  it("the parent from before the upgrade still gets its grace-window answer", async () => {
    const { parent, current } = families[1]!;
    const res = await refresh(parent);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { refresh_token: string }).refresh_token).toBe(current);
  });

  it("an older token from before the upgrade is reuse: the family is revoked", async () => {
    const { sessionId, ancestor, current } = families[2]!;
    expect((await refresh(ancestor)).status).toBe(401);
    expect(await db().prepare("select revoked_reason from sessions where id = ?").bind(sessionId).first("revoked_reason")).toBe("reuse_detected");
    expect((await refresh(current)).status).toBe(401);
  });
});
