/**
 * A session costs constant storage (DESIGN.md, Scale): rotations rewrite the family's one row in
 * place. Measured on the local D1 database itself: rows per table, and the database's size (D1's
 * `meta.size_after`; D1 refuses `pragma page_count`/`freelist_count`). Nothing in this file deletes,
 * so there is no freelist to hide growth in: the size is the pages in use.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { buildServices } from "../src/services";
import { databaseOf, userDatabases } from "./databases";
import { metered } from "./hardening";

const CLIENT = { ip: "198.51.100.7", userAgent: "storage-growth-test/1.0" };

/** A new user's first session. */
async function registered(services: ReturnType<typeof buildServices>, credentials: { email: string; password: string }, clientId: string, client: typeof CLIENT) {
  const { session } = await services.accounts.register(credentials, clientId, client);
  if (!session) throw new Error("no session at registration");
  return { session };
}
const TABLES = ["users", "sessions", "refresh_tokens", "auth_events"] as const;

async function footprint(db: D1Database) {
  const rows = Object.fromEntries(await Promise.all(TABLES.map(async (table) => [table, await db.prepare(`select count(*) as n from ${table}`).first<number>("n")])));
  const { meta } = await db.prepare("select 1").run();
  return { rows, bytes: meta.size_after };
}

describe("storage per session", () => {
  it("a rotation is one D1 statement that writes one row, with no read before it", async () => {
    const log: D1Meta[] = [];
    const names = (env.USER_DATABASES ?? "DB").split(",");
    const meteredEnv = { ...env, ...Object.fromEntries(names.map((name, i) => [name, metered(userDatabases()[i]!, log)])) };
    const services = buildServices(meteredEnv as typeof env);
    const { session } = await registered(services, { email: `meter-${crypto.randomUUID()}@example.com`, password: "correct horse battery staple" }, "web", CLIENT);
    let token = session.refreshToken;
    for (let i = 0; i < 5; i++) {
      log.length = 0;
      token = (await services.sessions.refresh(token, CLIENT)).refreshToken;
      expect(log.map((meta) => meta.rows_written)).toEqual([1]);
    }
  });

  it("1,000 rotations after the first 10 add no row and no more than a few KB of pages in use", async () => {
    const services = buildServices(env);
    const { session } = await registered(services, { email: `growth-${crypto.randomUUID()}@example.com`, password: "correct horse battery staple" }, "web", CLIENT);
    const db = databaseOf(session.familyId);
    let token = session.refreshToken;
    const rotate = async (times: number) => {
      for (let i = 0; i < times; i++) token = (await services.sessions.refresh(token, CLIENT)).refreshToken;
    };
    await rotate(10);
    const after10 = await footprint(db);
    await rotate(1_000);
    const after1010 = await footprint(db);
    expect(after1010.rows).toEqual(after10.rows);
    expect(after1010.bytes - after10.bytes).toBeLessThanOrEqual(4 * 1024);
    expect(await db.prepare("select generation from sessions where id = ?").bind(session.familyId).first("generation")).toBe(1_010);
  });
});
