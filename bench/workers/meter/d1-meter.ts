/**
 * A D1 binding that counts what it is asked to do: every statement's `meta` (rows read and written,
 * changes, the database size after it, D1's own duration) and the worker's wall time around the call,
 * added to whatever tally is current when the statement completes. Results are the binding's own;
 * only `raw()` is served from `all()` (raw() returns no meta), mapped to arrays the way Drizzle maps a
 * batch's rows (src/ never selects two columns of the same name).
 */

/** Sums for one request path (or one database within it). */
export interface D1Counts {
  statements: number;
  rowsRead: number;
  rowsWritten: number;
  changes: number;
  /** D1's `meta.timings.sql_duration_ms`, summed (0 where the local simulator's clock does not move). */
  sqlDurationMs: number;
  /** The worker's Date.now() after minus before each call (a batch counts once), summed. */
  wallMs: number;
  /** Calls to D1: one per statement run on its own, one per batch. */
  calls: number;
}

export const emptyCounts = (): D1Counts => ({ statements: 0, rowsRead: 0, rowsWritten: 0, changes: 0, sqlDurationMs: 0, wallMs: 0, calls: 0 });

/** A statement as it was sent: its SQL text and bound values. */
export interface Sent {
  database: string;
  sql: string;
  params: unknown[];
}

/** Where a statement's meta is added: the current request's tally, per path and per database. */
export type Recorder = (sent: Sent, meta: D1Meta, wallMs: number | undefined) => void;

/** What a metered binding passes to the recorder (a subset of D1's `meta`). */
export interface D1Meta {
  rows_read?: number;
  rows_written?: number;
  changes?: number;
  size_after?: number;
  duration?: number;
  timings?: { sql_duration_ms?: number };
}

const inner = new WeakMap<object, { real: D1PreparedStatement; sent: Sent }>();

/** The real statement behind a metered one (what D1's batch() accepts). */
const unwrap = (statement: D1PreparedStatement) => inner.get(statement)?.real ?? statement;

/** Wraps `binding` so that every statement it runs is reported to `record` under `name`. */
export function meteredD1(binding: D1Database, name: string, record: Recorder): D1Database {
  function statement(real: D1PreparedStatement, sent: Sent): D1PreparedStatement {
    async function timed<T extends D1Result>(call: () => Promise<T>): Promise<T> {
      const started = Date.now();
      const result = await call();
      record(sent, result.meta as D1Meta, Date.now() - started);
      return result;
    }
    const wrapped = {
      bind: (...values: unknown[]) => statement(real.bind(...values), { ...sent, params: values }),
      run: () => timed(() => real.run()),
      all: () => timed(() => real.all()),
      async first(column?: string) {
        const row = (await timed(() => real.all())).results[0] as Record<string, unknown> | undefined;
        if (row === undefined) return null;
        return column === undefined ? row : (row[column] ?? null);
      },
      async raw(options?: { columnNames?: boolean }) {
        const rows = (await timed(() => real.all())).results as Record<string, unknown>[];
        const values = rows.map((row) => Object.values(row));
        return options?.columnNames ? [Object.keys(rows[0] ?? {}), ...values] : values;
      },
    } as unknown as D1PreparedStatement;
    inner.set(wrapped, { real, sent });
    return wrapped;
  }

  return {
    prepare: (query: string) => statement(binding.prepare(query), { database: name, sql: query, params: [] }),
    async batch(statements: D1PreparedStatement[]) {
      const started = Date.now();
      const results = await binding.batch(statements.map(unwrap));
      const wallMs = Date.now() - started;
      // The batch is one call: its wall time is counted once, with its first statement.
      results.forEach((result, i) => {
        const sent = inner.get(statements[i]!)?.sent ?? { database: name, sql: "(not metered)", params: [] };
        record(sent, result.meta as D1Meta, i === 0 ? wallMs : undefined);
      });
      return results;
    },
    exec: (query: string) => binding.exec(query),
    dump: () => binding.dump(),
    withSession: () => {
      throw new Error("the bench's D1 meter does not wrap sessions");
    },
  } as unknown as D1Database;
}

/** Adds one statement's meta to `counts`. */
export function addMeta(counts: D1Counts, meta: D1Meta, wallMs: number | undefined) {
  counts.statements++;
  counts.rowsRead += meta.rows_read ?? 0;
  counts.rowsWritten += meta.rows_written ?? 0;
  counts.changes += meta.changes ?? 0;
  counts.sqlDurationMs += meta.timings?.sql_duration_ms ?? meta.duration ?? 0;
  if (wallMs !== undefined) {
    counts.wallMs += wallMs;
    counts.calls++;
  }
}
