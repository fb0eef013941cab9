/**
 * Bench-only wrapper of the service (npm run bench's D1 phase; never deployed). The service's own
 * fetch handler runs with every D1 binding named in USER_DATABASES metered (d1-meter.ts): each
 * statement's meta is added to the tally of the request path that ran it (its waitUntil work
 * included). Requests must come one
 * at a time (the bench sends them so); a request that overlaps another is reported.
 *
 *   GET  /__meter              the tallies, per path and per database
 *   POST /__meter/reset        clears them
 *   GET  /__meter/size         each database's size in bytes (D1's `meta.size_after`) and page size
 *   POST /__meter/row-bytes    {"familyId", "copies"}: bytes per row at scale (row-bytes.ts)
 *   POST /__meter/replay       {"count"}: the rotation statement's time inside D1 (replay.ts)
 *
 * bench/lib/meter.mjs copies this directory into the service's snapshot, so `../../../src/index`
 * is the snapshot's service.
 */
import service from "../../../src/index";
import type { Env } from "../../../src/env";
import { addMeta, emptyCounts, meteredD1, type D1Counts, type D1Meta, type Sent } from "./d1-meter";
import { replayRotations } from "./replay";
import { rowBytesAtScale } from "./row-bytes";

interface PathTally {
  requests: number;
  statuses: Record<string, number>;
  total: D1Counts;
  byDatabase: Record<string, D1Counts>;
  /** How many requests ran n statements, by n. */
  statementsPerRequest: Record<string, number>;
  /** The D1 wall time of each request (ms, sum over its calls), in order. */
  wallMsPerRequest: number[];
  /** The last two statements sent for this path (not in the answer: replay.ts reads them). */
  lastSent: Sent[];
}

const tallies = new Map<string, PathTally>();
let current: { tally: PathTally; statements: number; wallMs: number } | undefined;
let inFlight = 0;
let overlapped = 0;
let unattributed = 0;

function tallyOf(path: string): PathTally {
  let tally = tallies.get(path);
  if (!tally) {
    tally = { requests: 0, statuses: {}, total: emptyCounts(), byDatabase: {}, statementsPerRequest: {}, wallMsPerRequest: [], lastSent: [] };
    tallies.set(path, tally);
  }
  return tally;
}

function record(sent: Sent, meta: D1Meta, wallMs: number | undefined) {
  if (!current) {
    unattributed++;
    return;
  }
  addMeta(current.tally.total, meta, wallMs);
  addMeta((current.tally.byDatabase[sent.database] ??= emptyCounts()), meta, wallMs);
  current.tally.lastSent = [...current.tally.lastSent.slice(-1), sent];
  current.statements++;
  current.wallMs += wallMs ?? 0;
}

const databaseNames = (env: Env) =>
  (env.USER_DATABASES ?? "DB")
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);

/** The user databases of `env`, unmetered: [binding name, binding]. */
const bindingsOf = (env: Env) => databaseNames(env).map((name) => [name, (env as unknown as Record<string, D1Database>)[name]!] as const);

/** One metered env per real env object, so the service's per-env caches keep working. */
const meteredEnvs = new WeakMap<Env, Env>();
function meteredEnv(env: Env): Env {
  let metered = meteredEnvs.get(env);
  if (!metered) {
    metered = { ...env };
    const bindings = metered as unknown as Record<string, D1Database>;
    for (const name of databaseNames(env)) bindings[name] = meteredD1(bindings[name]!, name, record);
    meteredEnvs.set(env, metered);
  }
  return metered;
}

async function sizes(env: Env) {
  const result: Record<string, { bytes: number; pageSize: number }> = {};
  for (const [name, d1] of bindingsOf(env)) {
    const { meta } = await d1.prepare("SELECT 1").run();
    const pageSize = await d1.prepare("PRAGMA page_size").first<{ page_size: number }>();
    result[name] = { bytes: meta.size_after, pageSize: pageSize?.page_size ?? NaN };
  }
  return result;
}

const json = (body: unknown, status = 200) => Response.json(body, { status });

async function meterEndpoint(request: Request, env: Env, path: string): Promise<Response> {
  if (path === "/__meter" && request.method === "GET") {
    const paths = Object.fromEntries([...tallies].map(([path, { lastSent: _, ...tally }]) => [path, tally]));
    return json({ paths, overlapped, unattributed });
  }
  if (path === "/__meter/reset" && request.method === "POST") {
    tallies.clear();
    overlapped = 0;
    unattributed = 0;
    return json({ ok: true });
  }
  if (path === "/__meter/size" && request.method === "GET") return json(await sizes(env));
  if (path === "/__meter/row-bytes" && request.method === "POST") {
    const { familyId, copies } = (await request.json()) as { familyId: string; copies: number };
    try {
      return json(await rowBytesAtScale(bindingsOf(env), familyId, copies));
    } catch (err) {
      // Another checkout (--app) may have another schema or token format: bytes per row are then not measured.
      return json({ error: String((err as Error)?.message ?? err) });
    }
  }
  if (path === "/__meter/replay" && request.method === "POST") {
    const { count } = (await request.json()) as { count: number };
    const sent = tallies.get("POST /auth/refresh")?.lastSent ?? [];
    const d1 = bindingsOf(env).find(([name]) => name === sent.at(-1)?.database)?.[1];
    return json(d1 ? await replayRotations(d1, sent, count) : { error: "no rotation was seen" });
  }
  return json({ error: "not_found" }, 404);
}

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path.startsWith("/__meter")) return meterEndpoint(request, env, path);
    const tally = tallyOf(`${request.method} ${path}`);
    inFlight++;
    if (inFlight > 1) overlapped++;
    current = { tally, statements: 0, wallMs: 0 };
    const mine = current;
    // Work the service hands to waitUntil (a verification email's token, say) is part of the
    // request's cost: it is awaited here, so its statements are counted with the request's.
    const background: Promise<unknown>[] = [];
    const meteredCtx = Object.assign(Object.create(ctx) as ExecutionContext, {
      waitUntil: (task: Promise<unknown>) => void background.push(task),
      passThroughOnException: () => ctx.passThroughOnException(),
    });
    try {
      const response = await service.fetch(request, meteredEnv(env), meteredCtx);
      await Promise.allSettled(background);
      tally.statuses[response.status] = (tally.statuses[response.status] ?? 0) + 1;
      return response;
    } finally {
      inFlight--;
      tally.requests++;
      tally.statementsPerRequest[mine.statements] = (tally.statementsPerRequest[mine.statements] ?? 0) + 1;
      tally.wallMsPerRequest.push(mine.wallMs);
      if (current === mine) current = undefined;
    }
  },
} satisfies ExportedHandler<Env>;
