/**
 * Shared setup of the tests that check a SQL rule against its TypeScript twin (liveness.test.ts,
 * api-keys.test.ts): one enabled and one disabled user, and the cases' rows inserted in one batch.
 * Test-only: nothing in the service imports it.
 */
import type { SQLiteTable, SQLiteInsertValue } from "drizzle-orm/sqlite-core";
import type { Database } from "./databases";
import { users } from "./schema";

/** Inserts an enabled user and a user disabled just before `now`; returns their ids. */
export async function enabledAndDisabledUsers(db: Database, now: number): Promise<{ enabled: string; disabled: string }> {
  const ids = { enabled: crypto.randomUUID(), disabled: crypto.randomUUID() };
  for (const [state, id] of Object.entries(ids)) {
    await db.insert(users).values({ id, email: `${id}@example.com`, passwordHash: "x", createdAt: now, updatedAt: now, disabledAt: state === "disabled" ? now - 1 : null });
  }
  return ids;
}

/** Inserts `rows` into `table` in one batch, a statement per row (D1 binds at most 100 parameters per statement). */
export async function insertEach<T extends SQLiteTable>(db: Database, table: T, rows: SQLiteInsertValue<T>[]): Promise<void> {
  const [first, ...rest] = rows.map((row) => db.insert(table).values(row));
  if (first) await db.batch([first, ...rest]);
}
