import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema";

export type Database = ReturnType<typeof openDatabase>;

/** A Drizzle handle over the D1 binding. Cheap: create one per request. */
export function openDatabase(d1: D1Database) {
  return drizzle(d1, { schema });
}

/** True when a D1 error is a UNIQUE constraint violation (possibly wrapped by Drizzle). */
export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (/UNIQUE constraint failed/i.test(e.message)) return true;
  }
  return false;
}
