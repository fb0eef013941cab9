/**
 * The D1 databases users are spread over (DESIGN.md, Scale). A user, and every family of that user,
 * lives in database `fnv1a(key) mod N`, where the key is the normalised email at login and the user
 * or family id everywhere else: ids are drawn until they land in the database of their email, so
 * every lookup (by email, by user id, by family id, hence by refresh token) finds its database
 * without a directory. With one database (the default) every key maps to it.
 */
import { getTableName, sql, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { SQLiteSyncDialect, type SQLiteColumn } from "drizzle-orm/sqlite-core";
import { ConfigurationError } from "../../domain-errors";
import * as schema from "./schema";

export type Database = ReturnType<typeof open>;

const open = (d1: D1Database) => drizzle(d1, { schema });
const handles = new WeakMap<D1Database, Database>();

/** The Drizzle handle over a D1 binding, built once per binding (building it walks the schema). */
function handleOf(d1: D1Database): Database {
  let db = handles.get(d1);
  if (!db) handles.set(d1, (db = open(d1)));
  return db;
}

/** 32-bit FNV-1a over the UTF-16 code units: stable, fast, synchronous. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export const normalizeEmail = (email: string) => email.trim().toLowerCase();

export class Databases {
  readonly all: readonly Database[];

  constructor(bindings: readonly D1Database[]) {
    if (bindings.length === 0) throw new ConfigurationError("No D1 database is configured.");
    this.all = bindings.map(handleOf);
  }

  /** Index of the database that holds `key` (a normalised email, a user id or a family id). */
  indexOf(key: string): number {
    return this.all.length === 1 ? 0 : fnv1a(key) % this.all.length;
  }

  forKey(key: string): Database {
    return this.all[this.indexOf(key)]!;
  }

  forEmail(email: string): Database {
    return this.forKey(normalizeEmail(email));
  }

  /** A fresh random id that lands in the same database as `key` (about N draws on average). */
  newIdBeside(key: string): string {
    const target = this.indexOf(key);
    for (;;) {
      const id = crypto.randomUUID();
      if (this.indexOf(id) === target) return id;
    }
  }
}

/** The bindings named by `USER_DATABASES`, in order; a name that is not a D1 binding is a configuration error. */
export function databasesOf(env: object, names: readonly string[]): Databases {
  const bindings = names.map((name) => {
    const binding = (env as Record<string, unknown>)[name] as D1Database | undefined;
    if (!binding || typeof binding.prepare !== "function" || typeof binding.batch !== "function") {
      throw new ConfigurationError(`USER_DATABASES names ${name}, which is not a D1 binding of this worker.`);
    }
    return binding;
  });
  return new Databases(bindings);
}

const dialect = new SQLiteSyncDialect();

/**
 * `"table"."column"` whatever the statement. Drizzle writes columns unqualified in a RETURNING clause
 * and in a single-table select, also inside a subquery, where `"user_id"` would then name the
 * subquery's own column: every correlated subquery names its outer column with this.
 */
export const qualified = (column: SQLiteColumn) => sql`${sql.identifier(getTableName(column.table))}.${sql.identifier(column.name)}`;

/**
 * A query (builder or `sql` template) as a plain D1 statement, for batches that mix in raw SQL
 * (Drizzle's own batch cannot run `db.run(sql)` items). Results come back as D1 rows.
 */
export function d1Statement(db: Database, query: SQL | { toSQL(): { sql: string; params: unknown[] } }): D1PreparedStatement {
  const { sql, params } = "toSQL" in query ? query.toSQL() : dialect.sqlToQuery(query);
  return db.$client.prepare(sql).bind(...params);
}

/** True when a D1 error is a UNIQUE constraint violation (possibly wrapped by Drizzle). */
export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (/UNIQUE constraint failed/i.test(e.message)) return true;
  }
  return false;
}
