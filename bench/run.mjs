#!/usr/bin/env node
/**
 * `npm run bench`: every endpoint of the service against the platform's own floor, side by side.
 *
 *   npm run bench                 full run (~4 min on 2 cores), writes bench/RESULTS.md
 *   npm run bench -- --quick      CI smoke (~40 s): every endpoint and reference, fails only on errors
 *
 * The service runs from a snapshot of this working tree in `wrangler dev` (local D1/KV, a fresh key,
 * its own --persist-to), next to the reference workers of bench/workers; the load goes to the socket
 * of the workerd that runs each worker (wrangler's own port adds its ProxyWorker: see RESULTS.md).
 *   options: --only jwks,me,refresh,login   --app <dir> (another checkout of the service)
 *            --out <file>   --strict (also fail on a missed target of the first table)   --port-base 8790
 *            --duration <seconds per run>   --rounds <n>
 *            --without-rate-limits (drop the local Rate Limiting simulation from the service's config)
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { openPool, runLoad, send } from "./lib/load.mjs";
import { BUNDLE_GZIP_TARGET_KB, compare, extrasTable, limitedTable, resultsMarkdown, sidesOfRow, table } from "./lib/report.mjs";
import { PAIRS, login, makeClients, setupUsers, sidesOf } from "./lib/scenarios.mjs";
import { machineBusySeconds, measureBundle, measureCpuPerRequest, snapshotService, versions } from "./lib/measure.mjs";
import { startDev, stopAll, stopAllNow, wrangler } from "./lib/wrangler.mjs";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(BENCH_DIR, "..");
const { values: opts } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string", default: PAIRS.map((p) => p.key).join(",") },
    app: { type: "string", default: REPO },
    out: { type: "string" },
    strict: { type: "boolean", default: false },
    "port-base": { type: "string", default: "8790" },
    duration: { type: "string" },
    rounds: { type: "string" },
    "without-rate-limits": { type: "boolean", default: false },
  },
});
const QUICK = opts.quick;
const SETTINGS = QUICK
  ? { concurrency: 16, warmupMs: 300, durationMs: 1000, rounds: 1, loginSamples: 2 }
  : { concurrency: 16, warmupMs: 1000, durationMs: 4000, rounds: 4, loginSamples: 6 };
if (opts.duration) SETTINGS.durationMs = Number(opts.duration) * 1000;
if (opts.rounds) SETTINGS.rounds = Number(opts.rounds);
const PAIR_KEYS = opts.only.split(",").map((s) => s.trim());
const APP = resolve(opts.app);
// bench/RESULTS.md holds full runs of this checkout only; anything else goes to --out if given.
const DEFAULT_RUN = !QUICK && !opts["without-rate-limits"] && !opts.duration && !opts.rounds && resolve(opts.app) === REPO && opts.only === PAIRS.map((p) => p.key).join(",");
const OUT = opts.out ? resolve(opts.out) : DEFAULT_RUN ? join(BENCH_DIR, "RESULTS.md") : undefined;
const PORT = Number(opts["port-base"]);
const REFERENCES = ["hello", "verify", "rotate", "sign"];

const log = (msg) => console.log(`[bench ${((performance.now() - T0) / 1000).toFixed(1)}s] ${msg}`);
const T0 = performance.now();
const TMP = mkdtempSync(join(tmpdir(), "edge-bench-"));

let cleanedUp = false;
function cleanupNow() {
  if (cleanedUp) return;
  cleanedUp = true;
  stopAllNow();
  rmSync(TMP, { recursive: true, force: true });
}
process.on("exit", cleanupNow);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(signal, () => {
    console.error(`\n[bench] ${signal}: stopping the dev servers`);
    cleanupNow();
    process.exit(130);
  });
}

async function main() {
  if (Number(process.versions.node.split(".")[0]) < 22) throw new Error(`Node 22+ required (this is ${process.version}): run it as \`npm run bench\``);
  for (const key of PAIR_KEYS) if (!PAIRS.some((p) => p.key === key)) throw new Error(`--only: unknown ${key}`);
  log(`${QUICK ? "quick" : "full"} run of ${APP}, temp dir ${TMP}`);

  // 1. A fresh signing key in our own secrets file and a snapshot of the service. The references start
  //    while the service's migrations are applied and its bundle is built.
  const { generateRefreshTokenKey, generateSigningKey } = await import(join(REPO, "scripts", "generate-key.mjs"));
  const envFile = join(TMP, "bench.env");
  writeFileSync(envFile, `SIGNING_KEY='${JSON.stringify(generateSigningKey().privateJwk)}'\nREFRESH_TOKEN_KEY='${generateRefreshTokenKey()}'\n`, { mode: 0o600 });
  const app = snapshotService(APP, TMP, { withoutRateLimits: opts["without-rate-limits"] });
  const statePath = (name) => join(TMP, `state-${name}`);
  const [refs, bundle] = await Promise.all([
    startReferences(app, envFile, statePath),
    measureBundle(app.dir, app.config, join(TMP, "dist")),
    wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", statePath("service"), "-c", app.config], { cwd: app.dir }),
  ]);
  log(`references up; migrations applied; bundle ${bundle.rawKB.toFixed(1)} KB raw, ${bundle.gzipKB.toFixed(1)} KB gzip`);

  // 2. The service last and alone, so that its start-up and first request are measured on a quiet machine.
  const service = await startDev({
    name: "service", cwd: app.dir, config: app.config, port: PORT, inspectorPort: PORT + 1000, persistTo: statePath("service"), envFile,
    // Its own name in wrangler's dev registry, so that a developer's `npm run dev` keeps its entry.
    extraArgs: ["--name", "edge-token-service-bench"],
  });
  const servicePool = openPool(service.directUrl, SETTINGS.concurrency);
  await sleep(500);
  const [first, second] = await firstRequests(service.url, "/.well-known/jwks.json");
  if (first.status !== 200) throw new Error(`first JWKS request: ${first.status} ${first.body.slice(0, 300)}\n${service.log.slice(-2000)}`);
  const [helloFirst, helloSecond] = await firstRequests(refs.hello.server.url, "/");
  log(`service ready in ${service.readyMs.toFixed(0)} ms; first JWKS ${first.ms.toFixed(1)} ms, then ${second.ms.toFixed(1)} ms`);
  log(`service at ${service.directUrl} (wrangler port ${PORT}); references: ${REFERENCES.map((n) => `${n} ${refs[n].server.directUrl}`).join(", ")}`);
  const servers = [service, ...Object.values(refs).map((r) => r.server)];

  // 3. One account per virtual client, then CPU per login and per password hash (sequential, quiet).
  const users = await setupUsers(servicePool, SETTINGS.concurrency, Date.now().toString(36));
  log(`${users.length} accounts registered and logged in`);
  const loginCpu = await measureCpuPerRequest(service, SETTINGS.loginSamples, () => login(servicePool, users[0].email));
  const hashCpu = await measureCpuPerRequest(refs.sign.server, SETTINGS.loginSamples, () => send(refs.sign.pool, { path: "/pbkdf2" }));
  log(`CPU per login ${loginCpu.cpuMs.toFixed(1)} ms (password hash alone ${hashCpu.cpuMs.toFixed(1)} ms)`);

  // 4. Round after round, each endpoint and its floor (and the floor + limit()), in an order that rotates.
  const results = {};
  const clients = {};
  const sides = (pair, round = 1) => sidesOf(pair, { withLimiter: app.rateLimited, round });
  for (const key of PAIR_KEYS) {
    const pair = PAIRS.find((p) => p.key === key);
    const ctx = { users, servicePool, referencePool: refs[pair.reference].pool };
    results[key] = {};
    clients[key] = {};
    for (const side of sides(pair)) {
      results[key][side] = [];
      clients[key][side] = await makeClients(key, side, ctx);
    }
  }
  for (let round = 1; round <= SETTINGS.rounds; round++) {
    for (const key of PAIR_KEYS) {
      const pair = PAIRS.find((p) => p.key === key);
      for (const side of sides(pair, round)) {
        const server = side === "endpoint" ? service : refs[pair.reference].server;
        const pool = side === "endpoint" ? servicePool : refs[pair.reference].pool;
        const marks = {};
        const run = await runLoad({
          pool, clients: clients[key][side], warmupMs: SETTINGS.warmupMs, durationMs: durationOf(key),
          onWindow: (edge) => (marks[edge] = sample(server, servers)),
        });
        run.cpuWorker = marks.end.worker - marks.start.worker;
        run.foreignCores = (marks.end.busy - marks.start.busy - (marks.end.ours - marks.start.ours)) / ((marks.end.t - marks.start.t) / 1000);
        if (run.requests === 0) {
          run.errors++;
          run.firstError ??= "no response completed in the measured window";
        }
        results[key][side].push(run);
        const label = side === "endpoint" ? pair.endpoint : `floor ${pair.reference}${side === "limited" ? "+limit" : ""}`;
        log(`round ${round} ${label}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms, errors ${run.errors}, other processes ${run.foreignCores.toFixed(2)} cores${run.firstError ? ` (first error: ${run.firstError})` : ""}`);
      }
    }
  }

  // 5. What wrangler's own port (its ProxyWorker in front of the worker) would have measured instead.
  let proxy;
  if (!QUICK) {
    const pool = openPool(refs.hello.server.url, SETTINGS.concurrency);
    const clientsViaProxy = await makeClients("jwks", "reference", { users });
    proxy = await runLoad({ pool, clients: clientsViaProxy, warmupMs: 1000, durationMs: 3000 });
    await pool.close();
    log(`hello through wrangler's port: ${proxy.rps.toFixed(0)} req/s, p50 ${proxy.p50.toFixed(2)} ms, errors ${proxy.errors}`);
  }

  // 6. Report.
  const rows = compare(results, PAIR_KEYS);
  const extras = {
    bundle,
    startup: { readyMs: service.readyMs, firstMs: first.ms, secondMs: second.ms, helloFirstMs: helloFirst.ms, helloSecondMs: helloSecond.ms },
    login: { count: loginCpu.count, cpuMs: loginCpu.cpuMs, wallMs: loginCpu.wallMs, hashCpuMs: hashCpu.cpuMs },
    proxy: proxy && { ...proxy, directRps: results.jwks ? results.jwks.reference.reduce((a, r) => a + r.rps, 0) / results.jwks.reference.length : NaN },
  };
  const errors = rows.flatMap(sidesOfRow).reduce((a, side) => a + side.summary.errors, 0);
  const missedAgainst = (comparisonOf, floorSuffix) =>
    rows
      .filter((r) => comparisonOf(r)?.met === false)
      .map((r) => `${r.pair.endpoint} at ${comparisonOf(r).ratio.toFixed(3)} of ${r.pair.reference}${floorSuffix} (target ${r.pair.target})`);
  const missed = missedAgainst((r) => r, "");
  const anyLimited = rows.some((r) => r.limited);
  const missedWithLimit = missedAgainst((r) => r.limited, "+limit");
  if (bundle.gzipKB >= BUNDLE_GZIP_TARGET_KB) missed.push(`gzipped bundle ${bundle.gzipKB.toFixed(1)} KB (target < ${BUNDLE_GZIP_TARGET_KB} KB)`);
  const notes = [...app.notes];
  for (const { name, summary } of rows.flatMap(sidesOfRow)) {
    if (summary.errors) notes.push(`errors on ${name}: ${summary.errors}, first: \`${summary.firstError}\``);
  }
  const meta = {
    ...versions(APP), mode: QUICK ? "quick" : "full", concurrency: SETTINGS.concurrency, rounds: SETTINGS.rounds,
    warmupS: SETTINGS.warmupMs / 1000, durationS: SETTINGS.durationMs / 1000, totalS: ((performance.now() - T0) / 1000).toFixed(0),
    cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, date: new Date().toISOString(),
    foreign: foreignLoad(results),
  };
  const withLimit = anyLimited ? `\n\nagainst floors that make the same per-IP limit() call:\n${limitedTable(rows)}` : "";
  console.log(`\n${table(rows)}${withLimit}\n\n${extrasTable(extras)}\n`);
  for (const n of notes) console.log(`note: ${n}`);
  if (OUT) {
    writeFileSync(OUT, resultsMarkdown({ meta, rows, extras, notes }));
    log(`wrote ${OUT}`);
  }
  console.log(missed.length ? `targets missed:\n  ${missed.join("\n  ")}` : "all targets met");
  if (anyLimited) {
    console.log(missedWithLimit.length ? `against floors + limit(), missed:\n  ${missedWithLimit.join("\n  ")}` : "against floors + limit(): all targets met");
  }
  await Promise.all([servicePool.close(), ...Object.values(refs).map((r) => r.pool.close())]);
  await stopAll();
  log(`done: ${errors} errors`);
  if (errors > 0) return 1;
  if (opts.strict && missed.length) return 2;
  return 0;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** In quick mode a login takes ~0.1 s of CPU: 16 of them need a few seconds to show up at all. */
const durationOf = (key) => (QUICK && key === "login" ? 3000 : SETTINGS.durationMs);

function foreignLoad(results) {
  const loads = Object.values(results).flatMap((r) => Object.values(r).flat()).map((run) => run.foreignCores);
  return { mean: loads.reduce((a, b) => a + b, 0) / loads.length, max: Math.max(...loads) };
}

/** CPU counters at a window edge: the measured worker's workerd, ours (client + every server), the machine's. */
function sample(server, servers) {
  const own = process.cpuUsage();
  const ours = (own.user + own.system) / 1e6 + servers.reduce((a, s) => a + s.cpuSeconds().total, 0);
  return { t: performance.now(), worker: server.cpuSeconds().worker, ours, busy: machineBusySeconds() };
}

/** The reference workers, in parallel, each on the port after the service's; `rotate` gets its table. */
async function startReferences(app, envFile, statePath) {
  const refs = Object.fromEntries(
    await Promise.all(
      REFERENCES.map(async (name, i) => {
        const server = await startDev({
          name, cwd: join(BENCH_DIR, "workers", name), config: join(BENCH_DIR, "workers", name, "wrangler.toml"),
          port: PORT + 1 + i, inspectorPort: PORT + 1001 + i, persistTo: statePath(name), envFile,
          vars: { ISSUER: app.issuer, AUDIENCE: app.audience }, extraArgs: ["--compatibility-date", app.compatibilityDate],
        });
        return [name, { server, pool: openPool(server.directUrl, SETTINGS.concurrency) }];
      }),
    ),
  );
  const setup = await send(refs.rotate.pool, { method: "POST", path: "/setup" });
  if (setup.status !== 200) throw new Error(`rotate /setup: ${setup.status} ${setup.body}`);
  return refs;
}

/** The first two requests after start, through wrangler's own port as a user's would go. */
async function firstRequests(url, path) {
  const pool = openPool(url, 1);
  const results = [await send(pool, { path }), await send(pool, { path })];
  await pool.close();
  return results;
}

main().then(
  (code) => {
    cleanupNow();
    process.exit(code);
  },
  (err) => {
    console.error(`[bench] failed: ${err?.stack ?? err}`);
    cleanupNow();
    process.exit(1);
  },
);
