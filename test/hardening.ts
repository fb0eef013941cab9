/**
 * Helpers of the hardening tests (faults, adversarial input, fuzzing): calling the worker with a
 * modified env, wrapping the storage bindings so they fail, and the contract's error-shape checks.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import worker from "../src/index";
import { BASE, COOKIE, login, PASSWORD, register, SPA_ORIGIN, uniqueEmail } from "./helpers";

export type Bindings = typeof env;

const ipPrefix = `10.${crypto.getRandomValues(new Uint8Array(1))[0]}`;
let ipCounter = 0;
/**
 * A client IP of its own for every request of these tests, so that the per-IP rate limits (which
 * other test files exercise) never turn an expected answer into a 429.
 */
export const freshIp = () => ({ "CF-Connecting-IP": `${ipPrefix}.${(ipCounter >> 8) & 255}.${ipCounter++ & 255}` });

/** Calls the worker's fetch handler directly with some bindings replaced. */
export async function callWorker(path: string, init: RequestInit = {}, overrides: Partial<Bindings> = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("CF-Connecting-IP")) headers.set("CF-Connecting-IP", freshIp()["CF-Connecting-IP"]);
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(BASE + path, { ...init, headers }) as never, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

export const json = { "Content-Type": "application/json" };
export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
/** What a browser SPA sends with the refresh cookie. */
export const withCookie = (token: string) => ({ Cookie: `${COOKIE}=${token}`, Origin: SPA_ORIGIN, "Content-Type": "application/json" });

export const registerUser = (email = uniqueEmail()) => register(email, PASSWORD, freshIp());
export const loginUser = (email: string) => login(email, PASSWORD, freshIp());
export const getMe = (token: string, overrides: Partial<Bindings> = {}) => callWorker("/auth/me", { headers: bearer(token) }, overrides);
export const refreshByCookie = (token: string, overrides: Partial<Bindings> = {}) =>
  callWorker("/auth/refresh", { method: "POST", headers: withCookie(token), body: "{}" }, overrides);

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

const storageError = () => new Error("D1_ERROR: Network connection lost.");

export interface FaultyD1 {
  db: D1Database;
  /** How many statements or batches reached the wrapper: proves the fault was actually hit. */
  calls: () => number;
}

/**
 * A D1 binding that fails:
 * - "down": every statement, batch and exec rejects (prepare itself succeeds, as in D1);
 * - "writes": reads work, every batch rejects before committing;
 * - "lost-response": every batch COMMITS and then rejects, like a response lost on the way back.
 */
export function faultyD1(real: D1Database, mode: "down" | "writes" | "lost-response"): FaultyD1 {
  let calls = 0;
  const failing = (): D1PreparedStatement => {
    const stmt = {
      bind: () => stmt,
      first: () => (calls++, Promise.reject(storageError())),
      all: () => (calls++, Promise.reject(storageError())),
      run: () => (calls++, Promise.reject(storageError())),
      raw: () => (calls++, Promise.reject(storageError())),
    };
    return stmt as unknown as D1PreparedStatement;
  };
  const db = new Proxy(real, {
    get(target, prop) {
      if (prop === "prepare" && mode === "down") return () => failing();
      if (prop === "exec" && mode === "down") return async () => (calls++, Promise.reject(storageError()));
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          calls++;
          if (mode === "lost-response") await target.batch(statements);
          throw storageError();
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, calls: () => calls };
}

/** A KV binding whose reads and/or writes reject ("down": both, "writes": put and delete only). */
export function faultyKv(real: KVNamespace, mode: "down" | "writes"): { kv: KVNamespace; calls: () => number } {
  let calls = 0;
  const failingOps = mode === "down" ? ["get", "getWithMetadata", "put", "delete", "list"] : ["put", "delete"];
  const kv = new Proxy(real, {
    get(target, prop) {
      if (typeof prop === "string" && failingOps.includes(prop)) {
        return async () => (calls++, Promise.reject(new Error("KV operation failed: 503 Service Unavailable")));
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { kv, calls: () => calls };
}

/** Rows of the tables a rejected request must never touch, plus the state of families and tokens. */
export async function storageDigest(): Promise<Record<string, unknown>> {
  return (await env.DB.prepare(
    `select (select count(*) from users) as users,
            (select coalesce(sum(updated_at), 0) from users) as users_updated_sum,
            (select count(*) from sessions) as sessions,
            (select count(*) from sessions where revoked_at is not null) as revoked_sessions,
            (select coalesce(sum(created_at), 0) from refresh_tokens) as token_created_sum,
            (select count(*) from refresh_tokens) as refresh_tokens,
            (select count(*) from refresh_tokens where used_at is not null) as used_tokens`,
  ).first())!;
}
