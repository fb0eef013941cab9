/**
 * The D1 phase of `npm run bench`: the service wrapped by bench/workers/meter (every D1 statement's
 * meta summed per request path), driven one request at a time: registrations, one login each, then
 * one family walked through many rotations with the token in the body. Then bytes per row at scale.
 */
import { cpSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openPool, send } from "./load.mjs";
import { machineBusySeconds } from "./measure.mjs";
import { PASSWORD } from "./scenarios.mjs";
import { startDev } from "./wrangler.mjs";

const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Where the meter worker sits in the snapshot: its `../../../src/index` is the snapshot's service. */
const METER_ENTRY = "bench/workers/meter/index.ts";
/** A browser's User-Agent: the service stores it (truncated to 256) with every family and event. */
const USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const JSON_HEADERS = { "content-type": "application/json", "user-agent": USER_AGENT };

/**
 * Puts the meter worker into the snapshot and writes its config: the service's own (as the snapshot
 * has it, with `databases` D1 bindings) with `main` pointing at the meter.
 */
export function prepareMeter(app, configText) {
  cpSync(join(BENCH_DIR, "workers", "meter"), join(app.dir, "bench", "workers", "meter"), { recursive: true });
  const config = join(app.dir, "wrangler.meter.toml");
  writeFileSync(config, configText.replace(/^main\s*=.*$/m, `main = "${METER_ENTRY}"`));
  return config;
}

const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : NaN;
};

/**
 * Runs the phase and returns what it measured. `server` options are startDev's; `plan` is
 * { registrations, rotations, replays, copies }: that many users registered then logged in once
 * each, that many rotations of the last login's family, that many more replayed in one batch
 * (replay.ts), that many row copies for bytes per row (row-bytes.ts).
 */
export async function runMeterPhase({ server, plan, runId, log }) {
  const meter = await startDev(server);
  const pool = openPool(meter.directUrl, 1);
  const call = async (request, expected) => {
    const res = await send(pool, request);
    if (res.status !== expected) throw new Error(`meter ${request.method ?? "GET"} ${request.path}: ${res.status} ${res.body.slice(0, 300)}`);
    return res;
  };
  const size = async () => JSON.parse((await call({ path: "/__meter/size" }, 200)).body);
  try {
    await call({ method: "POST", path: "/__meter/reset" }, 200);
    const sizes = [await size()];
    const emails = Array.from({ length: plan.registrations }, (_, i) => `meter-${runId}-${i}@example.com`);
    for (const email of emails) {
      await call({ method: "POST", path: "/auth/register", headers: JSON_HEADERS, body: JSON.stringify({ email, password: PASSWORD }) }, 201);
    }
    sizes.push(await size());
    let cookie;
    for (const email of emails) {
      const res = await call({ method: "POST", path: "/auth/login", headers: JSON_HEADERS, body: JSON.stringify({ email, password: PASSWORD }) }, 200);
      cookie = [res.headers["set-cookie"] ?? []].flat().map((c) => /^__Host-refresh_token=([^;]+)/.exec(c)?.[1]).find(Boolean);
    }
    sizes.push(await size());
    log(`meter: ${plan.registrations} registrations and logins; now ${plan.rotations} rotations of one family`);
    let token = cookie;
    const familyId = token.split(".")[0];
    const rotationMs = [];
    const before = busyMark(meter);
    for (let i = 0; i < plan.rotations; i++) {
      const res = await call({ method: "POST", path: "/auth/refresh", headers: JSON_HEADERS, body: JSON.stringify({ refresh_token: token }) }, 200);
      token = JSON.parse(res.body).refresh_token;
      rotationMs.push(res.ms);
    }
    const foreignCores = foreignCoresSince(before, busyMark(meter));
    sizes.push(await size());
    const report = JSON.parse((await call({ path: "/__meter" }, 200)).body);
    const replay = JSON.parse((await call({ method: "POST", path: "/__meter/replay", headers: JSON_HEADERS, body: JSON.stringify({ count: plan.replays }) }, 200)).body);
    const rowBytes = JSON.parse((await call({ method: "POST", path: "/__meter/row-bytes", headers: JSON_HEADERS, body: JSON.stringify({ familyId, copies: plan.copies }) }, 200)).body);
    return { ...summarize({ report, sizes, plan, rotationMs, rowBytes, replay, databases: Object.keys(sizes[0]) }), foreignCores };
  } finally {
    await pool.close();
    await meter.stop();
  }
}

/** CPU seconds of the machine, of this process and of the meter's wrangler/workerd group, now. */
function busyMark(server) {
  const own = process.cpuUsage();
  return { t: performance.now(), busy: machineBusySeconds(), ours: (own.user + own.system) / 1e6 + server.cpuSeconds().total };
}

/**
 * Cores other processes used between two marks. The machine's counters tick every 10 ms and ours
 * do not, so on a quiet machine the difference can come out a little below zero: that reads 0.
 */
const foreignCoresSince = (a, b) => Math.max(0, (b.busy - a.busy - (b.ours - a.ours)) / ((b.t - a.t) / 1000));

/**
 * The median of the means of `blocks` consecutive blocks: Date.now() counts whole milliseconds, so
 * only a mean over many calls resolves a 1-2 ms call, and the median of block means ignores the
 * blocks that other processes on the machine slowed down.
 */
function blockMedian(values, blocks) {
  const size = Math.floor(values.length / blocks);
  if (size < 10) return values.reduce((a, b) => a + b, 0) / values.length;
  const means = Array.from({ length: blocks }, (_, i) => values.slice(i * size, (i + 1) * size).reduce((a, b) => a + b, 0) / size);
  return median(means);
}

const PATHS = { register: "POST /auth/register", login: "POST /auth/login", refresh: "POST /auth/refresh" };

function summarize({ report, sizes, plan, rotationMs, rowBytes, replay, databases }) {
  const totalBytes = (s) => Object.values(s).reduce((a, d) => a + d.bytes, 0);
  const growth = (from, to, count) => ({
    bytes: totalBytes(sizes[to]) - totalBytes(sizes[from]),
    perRequest: (totalBytes(sizes[to]) - totalBytes(sizes[from])) / count,
    byDatabase: Object.fromEntries(databases.map((d) => [d, sizes[to][d].bytes - sizes[from][d].bytes])),
  });
  const growths = { register: growth(0, 1, plan.registrations), login: growth(1, 2, plan.registrations), refresh: growth(2, 3, plan.rotations) };
  const perPath = Object.fromEntries(
    Object.entries(PATHS).map(([key, path]) => {
      const t = report.paths[path];
      if (!t) throw new Error(`meter: no request to ${path} was counted`);
      const per = (x) => x / t.requests;
      return [
        key,
        {
          requests: t.requests,
          statuses: t.statuses,
          statementsPerRequest: t.statementsPerRequest,
          statements: per(t.total.statements),
          rowsWritten: per(t.total.rowsWritten),
          rowsRead: per(t.total.rowsRead),
          changes: per(t.total.changes),
          byDatabase: Object.fromEntries(databases.map((d) => [d, { statements: t.byDatabase[d]?.statements ?? 0, rowsWritten: t.byDatabase[d]?.rowsWritten ?? 0 }])),
          d1WallMsMean: t.total.calls ? t.total.wallMs / t.total.calls : NaN,
          d1WallMsMedian: median(t.wallMsPerRequest),
          d1WallMsBlockMedian: blockMedian(t.wallMsPerRequest, 10),
          sqlDurationMsMean: per(t.total.sqlDurationMs),
          growth: growths[key],
        },
      ];
    }),
  );
  return {
    databases,
    plan,
    perPath,
    overlapped: report.overlapped,
    unattributed: report.unattributed,
    rotationWallMs: { median: median(rotationMs), mean: rotationMs.reduce((a, b) => a + b, 0) / rotationMs.length },
    rowBytes,
    replay,
    pageSize: Object.values(sizes[0])[0]?.pageSize,
  };
}

