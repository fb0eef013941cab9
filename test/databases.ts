/**
 * The test suite runs with one user database and again with two (vitest.config.ts). Tests that look
 * into D1 find a user's rows where the service put them, with the service's own placement rule.
 */
import { env } from "cloudflare:workers";
import { getConfig } from "../src/config";
import { Databases } from "../src/stores/d1/databases";

/** The D1 bindings users are spread over, in placement order. */
export function userDatabases(): D1Database[] {
  return getConfig(env).userDatabases.map((name) => (env as unknown as Record<string, D1Database>)[name]!);
}

const placement = () => new Databases(userDatabases());

/** The D1 database that holds a user id, a family id (sid) or a normalised email. */
export function databaseOf(key: string): D1Database {
  return userDatabases()[placement().indexOf(key)]!;
}

/** The name of the binding of that database, to replace it in `callWith` overrides. */
export function bindingOf(key: string): string {
  return getConfig(env).userDatabases[placement().indexOf(key)]!;
}

/** The row `id` of `table` (`sessions`, `api_keys`...), from the database that holds it. */
export async function rowById<T>(table: string, id: string): Promise<T> {
  const row = await databaseOf(id).prepare(`select * from ${table} where id = ?`).bind(id).first<T>();
  if (!row) throw new Error(`no ${table} row for ${id}`);
  return row;
}

/** Runs one UPDATE on the row `id` of `table` (backdating, expiring...), in the database that holds it. */
export async function updateById(table: string, id: string, set: string, ...params: unknown[]): Promise<void> {
  const { meta } = await databaseOf(id).prepare(`update ${table} set ${set} where id = ?`).bind(...params, id).run();
  if (meta.changes !== 1) throw new Error(`no ${table} row updated for ${id}`);
}

/** Runs `sql` in every user database and returns all rows. */
export async function allRows<T>(sql: string, ...params: unknown[]): Promise<T[]> {
  const results = await Promise.all(userDatabases().map((db) => db.prepare(sql).bind(...params).all<T>()));
  return results.flatMap((r) => r.results);
}
