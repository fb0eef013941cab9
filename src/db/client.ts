import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Database = ReturnType<typeof createDatabase>;

const createDatabase = (d1: D1Database) => drizzle(d1, { schema });
const handles = new WeakMap<D1Database, Database>();

/** The Drizzle handle over a D1 binding, built once per binding (building it walks the schema). */
export function openDatabase(d1: D1Database): Database {
  let db = handles.get(d1);
  if (!db) handles.set(d1, (db = createDatabase(d1)));
  return db;
}

/** True when a D1 error is a UNIQUE constraint violation (possibly wrapped by Drizzle). */
export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (/UNIQUE constraint failed/i.test(e.message)) return true;
  }
  return false;
}
