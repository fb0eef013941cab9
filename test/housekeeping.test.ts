/**
 * The Cron Trigger's housekeeping (DESIGN.md: deletes expired and long-revoked rows), in every user
 * database: ended families and API keys a week after they ended, expired legacy tokens, events past
 * 90 days; never a live family or a usable key.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { hashRefreshToken } from "../src/sessions/refresh-token";
import { createKey, updateKey } from "./api-keys";
import { databaseOf, userDatabases } from "./databases";
import { login, refreshWithCookie, register, rotate, updateFamily, type Login } from "./helpers";

const DAY_MS = 24 * 3600 * 1000;

async function runCron() {
  const ctx = createExecutionContext();
  await worker.scheduled!(createScheduledController({ scheduledTime: Date.now(), cron: "17 * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

/** One user in each user database (one in "workers", two in "workers-2db"). */
async function oneUserPerDatabase(): Promise<Login[]> {
  const databases = userDatabases();
  const found: Login[] = [];
  for (let attempt = 0; attempt < 40 && found.filter(Boolean).length < databases.length; attempt++) {
    const user = await register();
    found[databases.indexOf(databaseOf(user.sid))] ??= user;
  }
  expect(found.filter(Boolean)).toHaveLength(databases.length);
  return found;
}

const exists = async (sid: string) => (await databaseOf(sid).prepare("select 1 from sessions where id = ?").bind(sid).first()) !== null;

/** A legacy (pre-upgrade) token row of a family; legacy rows live in the first database. */
async function insertLegacyToken(sid: string, expiresAt: number) {
  const id = crypto.randomUUID();
  await userDatabases()[0]!
    .prepare("insert into refresh_tokens (id, session_id, token_hash, created_at, expires_at, access_jti, access_expires_at) values (?, ?, ?, ?, ?, ?, ?)")
    .bind(id, sid, await hashRefreshToken(id), Date.now() - DAY_MS, expiresAt, id, Date.now())
    .run();
  return id;
}
const legacyExists = async (id: string) => (await userDatabases()[0]!.prepare("select 1 from refresh_tokens where id = ?").bind(id).first()) !== null;

describe("scheduled housekeeping", () => {
  it("deletes long-ended families and old events in every database, and nothing live", async () => {
    const cases: Record<string, Login>[] = [];
    for (const user of await oneUserPerDatabase()) {
      const [longRevoked, recentlyRevoked, longExpired, recentlyExpired, longIdle] = await Promise.all(Array.from({ length: 5 }, () => login(user.email)));
      const live = await rotate(user.refreshToken);
      await updateFamily(longRevoked!.sid, "revoked_at = ?, revoked_reason = 'logout'", Date.now() - 8 * DAY_MS);
      await updateFamily(recentlyRevoked!.sid, "revoked_at = ?, revoked_reason = 'logout'", Date.now() - DAY_MS);
      await updateFamily(longExpired!.sid, "expires_at = ?", Date.now() - 8 * DAY_MS);
      await updateFamily(recentlyExpired!.sid, "expires_at = ?", Date.now() - DAY_MS);
      // 7 days idle timeout + 7 days retention, and more.
      await updateFamily(longIdle!.sid, "rotated_at = ?", Date.now() - 15 * DAY_MS);
      await databaseOf(user.sid).prepare("insert into auth_events (type, user_id, created_at) values ('login', ?, ?)").bind(user.userId, Date.now() - 91 * DAY_MS).run();
      cases.push({ live: { ...user, refreshToken: live.refreshToken }, longRevoked: longRevoked!, recentlyRevoked: recentlyRevoked!, longExpired: longExpired!, recentlyExpired: recentlyExpired!, longIdle: longIdle! });
    }

    await runCron();

    for (const c of cases) {
      expect({
        live: await exists(c.live!.sid),
        longRevoked: await exists(c.longRevoked!.sid),
        recentlyRevoked: await exists(c.recentlyRevoked!.sid),
        longExpired: await exists(c.longExpired!.sid),
        recentlyExpired: await exists(c.recentlyExpired!.sid),
        longIdle: await exists(c.longIdle!.sid),
      }).toEqual({ live: true, longRevoked: false, recentlyRevoked: true, longExpired: false, recentlyExpired: true, longIdle: false });
      const oldEvents = await databaseOf(c.live!.sid).prepare("select count(*) as n from auth_events where created_at < ?").bind(Date.now() - 90 * DAY_MS).first<number>("n");
      expect(oldEvents).toBe(0);
      expect((await refreshWithCookie(c.live!.refreshToken)).status).toBe(200);
    }
  });

  it("deletes legacy tokens once expired or once their family is gone, and keeps the others", async () => {
    const [user] = await oneUserPerDatabase();
    const ended = await login(user!.email);
    const current = await insertLegacyToken(user!.sid, Date.now() + DAY_MS);
    const expired = await insertLegacyToken(user!.sid, Date.now() - 1000);
    const ofEndedFamily = await insertLegacyToken(ended.sid, Date.now() + DAY_MS);
    await updateFamily(ended.sid, "revoked_at = ?", Date.now() - 8 * DAY_MS);

    await runCron();

    expect({ current: await legacyExists(current), expired: await legacyExists(expired), ofEndedFamily: await legacyExists(ofEndedFamily) }).toEqual({
      current: true,
      expired: false,
      ofEndedFamily: false,
    });
  });

  it("deletes API keys a week after they were revoked or expired, and keeps usable and recently ended ones", async () => {
    const [user] = await oneUserPerDatabase();
    const keys = Object.fromEntries(
      await Promise.all(["usable", "longRevoked", "recentlyRevoked", "longExpired", "recentlyExpired"].map(async (name) => [name, (await createKey(user!, { name })).id] as const)),
    );
    await updateKey(keys.longRevoked!, "revoked_at = ?", Date.now() - 8 * DAY_MS);
    await updateKey(keys.recentlyRevoked!, "revoked_at = ?", Date.now() - DAY_MS);
    await updateKey(keys.longExpired!, "expires_at = ?", Date.now() - 8 * DAY_MS);
    await updateKey(keys.recentlyExpired!, "expires_at = ?", Date.now() - DAY_MS);

    await runCron();

    const kept = async (id: string) => (await databaseOf(id).prepare("select 1 from api_keys where id = ?").bind(id).first()) !== null;
    expect(Object.fromEntries(await Promise.all(Object.entries(keys).map(async ([name, id]) => [name, await kept(id)])))).toEqual({
      usable: true,
      longRevoked: false,
      recentlyRevoked: true,
      longExpired: false,
      recentlyExpired: true,
    });
  });
});
