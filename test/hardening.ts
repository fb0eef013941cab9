/**
 * Helpers of the hardening tests (faults, adversarial input, fuzzing, scale): storage bindings that
 * fail or count what reaches them, the contract's error-shape checks, and a digest of D1's state.
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { getConfig } from "../src/config";
import { allRows } from "./databases";
import { COOKIE, type Overrides } from "./helpers";

export interface ErrorBody {
  error: string;
  error_description: string;
}

/**
 * The RFC 6749 5.2 shape and nothing else: JSON with exactly `error` and a non-empty
 * `error_description`, no stack trace, no SQL, no storage error text.
 */
export async function errorBodyOf(res: Response): Promise<ErrorBody> {
  const text = await res.text();
  expect(res.headers.get("Content-Type"), `${res.status} ${text}`).toMatch(/^application\/json/);
  const body = JSON.parse(text) as ErrorBody;
  expect(Object.keys(body).sort()).toEqual(["error", "error_description"]);
  expect(body.error).toMatch(/^[a-z_]+$/);
  expect(typeof body.error_description).toBe("string");
  expect(body.error_description.length).toBeGreaterThan(0);
  expect(text).not.toMatch(/\bat .+:\d+:\d+|SQLITE|D1_ERROR|\bselect\b.+\bfrom\b|insert into|PRIVATE KEY/i);
  return body;
}

export async function expectError(res: Response, status: number, code: string): Promise<ErrorBody> {
  expect(res.status, `expected ${status} ${code}, got ${res.status}: ${await res.clone().text()}`).toBe(status);
  const body = await errorBodyOf(res);
  expect(body.error).toBe(code);
  return body;
}

/** No refresh cookie with a value (clearing it is fine) and, with the body checked above, no token. */
export function expectNoTokenIssued(res: Response) {
  const withValue = res.headers.getSetCookie().filter((c) => c.startsWith(`${COOKIE}=`) && !c.startsWith(`${COOKIE}=;`));
  expect(withValue).toEqual([]);
}

/** 503 `temporarily_unavailable` with a usable Retry-After, and no token of any kind. */
export async function expectUnavailable(res: Response) {
  await expectError(res, 503, "temporarily_unavailable");
  expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(0);
  expectNoTokenIssued(res);
}

/** 401 `invalid_grant` with the refresh cookie cleared (a refused refresh token is not sent again). */
export async function expectInvalidGrant(res: Response) {
  await expectError(res, 401, "invalid_grant");
  expect(res.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`))).toMatch(/^__Host-refresh_token=; Max-Age=0/);
}

const storageError = () => new Error("D1_ERROR: Network connection lost.");
const WRITE = /^\s*(insert|update|delete|replace)\b/i;

/**
 * How wrapped D1 bindings behave:
 * - "observe": everything works and is counted;
 * - "down": every statement, batch and exec rejects (prepare itself succeeds, as in D1);
 * - "writes": reads work, every write statement and every batch rejects before committing;
 * - "lost-response": every write statement and batch COMMITS and then rejects, like a response
 *   lost on the way back.
 */
export type D1Mode = "observe" | "down" | "writes" | "lost-response";

export interface WrappedDatabases {
  /** Every user database (USER_DATABASES) replaced, for callWith. */
  bindings: Overrides;
  /** Statements and batches that reached the wrappers: proves a fault was hit, or that D1 was not touched. */
  calls: () => number;
}

/** Wraps every user database of the test env (one, or two in workers-2db). */
export function wrapDatabases(mode: D1Mode): WrappedDatabases {
  let calls = 0;
  const unwrapped = new WeakMap<object, D1PreparedStatement>();
  const writes = new WeakSet<object>();

  const execute = async <T>(isWrite: boolean, run: () => Promise<T>): Promise<T> => {
    calls++;
    if (mode === "down" || (mode === "writes" && isWrite)) throw storageError();
    const result = await run();
    if (mode === "lost-response" && isWrite) throw storageError();
    return result;
  };

  const wrapStatement = (real: D1PreparedStatement, isWrite: boolean): D1PreparedStatement => {
    const wrapped = {
      bind: (...values: unknown[]) => wrapStatement(real.bind(...values), isWrite),
      first: (column?: string) => execute(isWrite, () => (column === undefined ? real.first() : real.first(column))),
      all: () => execute(isWrite, () => real.all()),
      run: () => execute(isWrite, () => real.run()),
      raw: (options?: { columnNames?: boolean }) => execute(isWrite, () => real.raw(options as never)),
    };
    unwrapped.set(wrapped, real);
    if (isWrite) writes.add(wrapped);
    return wrapped as unknown as D1PreparedStatement;
  };

  const wrapDatabase = (real: D1Database): D1Database =>
    new Proxy(real, {
      get(target, prop) {
        if (prop === "prepare") return (sql: string) => wrapStatement(target.prepare(sql), WRITE.test(sql));
        if (prop === "batch") {
          // A batch of reads only (a lookup by email with several databases) is a read.
          return (statements: D1PreparedStatement[]) =>
            execute(statements.some((s) => writes.has(s) || !unwrapped.has(s)), () => target.batch(statements.map((s) => unwrapped.get(s) ?? s)));
        }
        if (prop === "exec") return (sql: string) => execute(true, () => target.exec(sql));
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });

  const names = getConfig(env).userDatabases;
  const bindings = Object.fromEntries(names.map((name) => [name, wrapDatabase((env as unknown as Record<string, D1Database>)[name]!)]));
  return { bindings, calls: () => calls };
}

export interface WrappedKv {
  kv: KVNamespace;
  /** Operations that reached the wrapper. */
  calls: () => number;
  /** Keys of every put attempted (failed ones included), in order. */
  puts: string[];
}

/**
 * A KV binding that counts, and fails: "observe" fails nothing, "down" fails reads and writes,
 * "writes" fails put and delete only.
 */
export function wrapKv(mode: "observe" | "down" | "writes", real: KVNamespace = env.REVOCATIONS): WrappedKv {
  let calls = 0;
  const puts: string[] = [];
  const failing = mode === "down" ? ["get", "getWithMetadata", "put", "delete", "list"] : mode === "writes" ? ["put", "delete"] : [];
  const kv = new Proxy(real, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      return async (...args: unknown[]) => {
        calls++;
        if (prop === "put") puts.push(String(args[0]));
        if (typeof prop === "string" && failing.includes(prop)) throw new Error("KV operation failed: 503 Service Unavailable");
        return value.apply(target, args);
      };
    },
  });
  return { kv, calls: () => calls, puts };
}

/**
 * What a rejected request must never change, summed over every user database: users and their
 * passwords, families (count, revocations, rotations) and legacy tokens. Security events are
 * left out: a refused login records one.
 */
export async function storageDigest(): Promise<Record<string, number>> {
  const rows = await allRows<Record<string, number>>(
    `select (select count(*) from users) as users,
            (select coalesce(sum(updated_at), 0) from users) as users_updated_sum,
            (select count(*) from users where disabled_at is not null) as disabled_users,
            (select count(*) from sessions) as sessions,
            (select count(*) from sessions where revoked_at is not null) as revoked_sessions,
            (select coalesce(sum(generation), 0) from sessions) as generation_sum,
            (select coalesce(sum(rotated_at), 0) from sessions) as rotated_at_sum,
            (select count(*) from refresh_tokens) as legacy_refresh_tokens`,
  );
  const digest: Record<string, number> = {};
  for (const row of rows) for (const [key, value] of Object.entries(row)) digest[key] = (digest[key] ?? 0) + value;
  return digest;
}

/** RFC 6750 section 3 challenge of a refused access token. */
export const INVALID_TOKEN_CHALLENGE = /^Bearer realm="auth", error="invalid_token", error_description="[^"\\]+"$/;

/** A D1 binding that records each statement's `meta` (raw() is served by all(), as D1 orders columns). */
export function metered(d1: D1Database, log: D1Meta[]): D1Database {
  const wrap = (stmt: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop) {
        if (prop === "bind") return (...args: unknown[]) => wrap(target.bind(...args));
        if (prop === "all" || prop === "run") return async () => { const result = await target.all(); log.push(result.meta); return result; };
        if (prop === "raw") return async () => { const result = await target.all(); log.push(result.meta); return result.results.map((row) => Object.values(row as object)); };
        if (prop === "first") return async (column?: string) => { const result = await target.all(); log.push(result.meta); const row = result.results[0] as Record<string, unknown> | undefined; return column ? row?.[column] ?? null : row ?? null; };
        return Reflect.get(target, prop);
      },
    });
  return new Proxy(d1, {
    get(target, prop) {
      if (prop === "prepare") return (query: string) => wrap(target.prepare(query));
      if (prop === "batch") return async (statements: D1PreparedStatement[]) => { const results = await target.batch(statements); log.push(...results.map((r) => r.meta)); return results; };
      return Reflect.get(target, prop);
    },
  });
}
