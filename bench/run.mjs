#!/usr/bin/env node
/**
 * `npm run bench`: every endpoint of the service against the platform's own floor, side by side, then
 * what D1 does per request (rows, bytes, time) and the capacity of one database. See bench/README.md.
 *
 *   npm run bench                      full run (~8 min on 2 cores, up to 11 when disturbed rounds are
 *                                      measured again), writes bench/RESULTS.md
 *   npm run bench -- --quick           CI smoke (~40 s): every endpoint and floor, and the D1 phase on
 *                                      two databases; fails on errors and D1 contract violations only
 *   npm run bench -- --databases 2     the service spreads its users over two D1 databases (DB, DB_2)
 *
 * The service runs from a snapshot of this working tree in `wrangler dev` (local D1/KV, a fresh key,
 * its own --persist-to), next to the reference workers of bench/workers; the load goes to the socket
 * of the workerd that runs each worker (wrangler's own port adds its ProxyWorker: see RESULTS.md).
 *   options: --only jwks,me,refresh,login,d1   --app <dir> (another checkout of the service)
 *            --out <file>   --strict (also fail on a missed target)   --port-base 8790
 *            --duration <measured seconds per side and round>   --rounds <n>   --databases <n>
 *            --slices <n> (the measured time of each side in a round, cut into n interleaved slices)
 *            --keep-workers (the same worker processes for every round, rather than fresh ones)
 *            --without-rate-limits (drop the local Rate Limiting simulation from the service's config)
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { openPool, retargetablePool, runLoad, send } from "./lib/load.mjs";
import { applyMigrations, machineBusySeconds, measureBundle, measureCpuPerRequest, snapshotService, userDatabasesOf, versions, withUserDatabases } from "./lib/measure.mjs";
import { prepareMeter, runMeterPhase } from "./lib/meter.mjs";
import { BUNDLE_GZIP_TARGET_KB, compare, extrasTable, limitCallCpuMs, missedTargets, resultsMarkdown, sidesOfRow, table } from "./lib/report.mjs";
import { d1Console, d1Violations } from "./lib/report-d1.mjs";
import { foreignLoad, runRounds } from "./lib/rounds.mjs";
import { PAIRS, copyName, login, makeClients, setupUsers } from "./lib/scenarios.mjs";
import { startDev, stopAll, stopAllNow } from "./lib/wrangler.mjs";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(BENCH_DIR, "..");
/** What --only can name: the endpoints of PAIRS, and `d1` for the D1 phase. */
const ALL_KEYS = [...PAIRS.map((p) => p.key), "d1"].join(",");
const { values: opts } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string", default: ALL_KEYS },
    app: { type: "string", default: REPO },
    out: { type: "string" },
    strict: { type: "boolean", default: false },
    "port-base": { type: "string", default: "8790" },
    duration: { type: "string" },
    rounds: { type: "string" },
    slices: { type: "string" },
    "keep-workers": { type: "boolean", default: false },
    databases: { type: "string", default: "1" },
    "without-rate-limits": { type: "boolean", default: false },
  },
});
const QUICK = opts.quick;
// A round during which other processes took more than `disturbedCores` is measured again, `retries` times at most.
const SETTINGS = QUICK
  ? { concurrency: 16, warmupMs: 300, durationMs: 1000, slices: 2, sliceWarmupMs: 50, rounds: 1, loginSamples: 2, retries: 0, disturbedCores: 1 }
  : { concurrency: 16, warmupMs: 1000, durationMs: 2000, slices: 4, sliceWarmupMs: 100, rounds: 8, loginSamples: 6, retries: 3, disturbedCores: 0.5 };
if (opts.duration) SETTINGS.durationMs = Number(opts.duration) * 1000;
if (opts.rounds) SETTINGS.rounds = Number(opts.rounds);
if (opts.slices) SETTINGS.slices = Number(opts.slices);
/** The D1 phase: registrations (then one login each), rotations of one family, row copies, replayed rotations. */
const METER_PLAN = QUICK ? { registrations: 3, rotations: 200, copies: 2000, replays: 500 } : { registrations: 20, rotations: 1000, copies: 10000, replays: 1000 };
const KEYS = opts.only.split(",").map((s) => s.trim());
const PAIR_KEYS = KEYS.filter((k) => k !== "d1");
const METER = KEYS.includes("d1");
const DATABASES = Number(opts.databases);
/** --quick's D1 phase spreads users over two databases, so CI covers that path under wrangler dev too. */
const METER_DATABASES = QUICK ? Math.max(2, DATABASES) : DATABASES;
const APP = resolve(opts.app);
// bench/RESULTS.md holds full default runs of this checkout only; anything else goes to --out if given.
const DEFAULT_RUN = !QUICK && !opts["without-rate-limits"] && !opts.duration && !opts.rounds && !opts.slices && !opts["keep-workers"] && DATABASES === 1 && APP === REPO && opts.only === ALL_KEYS;
const OUT = opts.out ? resolve(opts.out) : DEFAULT_RUN ? join(BENCH_DIR, "RESULTS.md") : undefined;
const PORT = Number(opts["port-base"]);
/** The reference workers (bench/workers/<name>), and the copy the noise check measures against `hello`. */
const REFERENCES = ["hello", "verify", "rotate", "sign", ...PAIRS.filter((p) => p.copyOf).map(copyName)];
const copiedWorker = (name) => PAIRS.find((p) => copyName(p) === name)?.copyOf;
/** Cores used by other processes during the measured windows above which a run is called disturbed. */
const DISTURBED_CORES = 0.3;

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
  for (const key of KEYS) if (!ALL_KEYS.split(",").includes(key)) throw new Error(`--only: unknown ${key}`);
  if (!(DATABASES >= 1 && DATABASES <= 9)) throw new Error("--databases: 1 to 9");
  log(`${QUICK ? "quick" : "full"} run of ${APP}, ${DATABASES} user database(s), temp dir ${TMP}`);

  // 1. A fresh signing key in our own secrets file and a snapshot of the service (and of the D1 meter
  //    around it). The references start while migrations are applied and the bundle is built.
  const { generateRefreshTokenKey, generateSigningKey } = await import(join(REPO, "scripts", "generate-key.mjs"));
  const envFile = join(TMP, "bench.env");
  writeFileSync(envFile, `SIGNING_KEY='${JSON.stringify(generateSigningKey().privateJwk)}'\nREFRESH_TOKEN_KEY='${generateRefreshTokenKey()}'\n`, { mode: 0o600 });
  const app = snapshotService(APP, TMP, { withoutRateLimits: opts["without-rate-limits"], databases: DATABASES });
  const statePath = (name) => join(TMP, `state-${name}`);
  const meterText = withUserDatabases(app.configText, METER_DATABASES);
  const meterConfig = METER ? prepareMeter(app, meterText) : undefined;
  const [refs, bundle] = await Promise.all([
    PAIR_KEYS.length ? startReferences(app, envFile, statePath) : {},
    measureBundle(app.dir, app.config, join(TMP, "dist")),
    migrateDatabases(app, meterConfig, meterText, statePath("service")),
  ]);
  log(`references up; migrations applied; bundle ${bundle.rawKB.toFixed(1)} KB raw, ${bundle.gzipKB.toFixed(1)} KB gzip`);

  const throughput = PAIR_KEYS.length ? await measureThroughput(app, envFile, statePath, refs) : { rows: [], extras: {} };
  await stopAll();

  // The D1 phase, on the quiet machine, in the service's port.
  let meter;
  if (METER) {
    meter = await runMeterPhase({
      server: {
        name: "meter", cwd: app.dir, config: meterConfig, port: PORT, inspectorPort: PORT + 1000, persistTo: statePath("service"), envFile,
        extraArgs: ["--name", "edge-token-service-bench-meter"],
      },
      plan: METER_PLAN, runId: Date.now().toString(36), log,
    });
    console.log(`\n${d1Console(meter)}\n`);
  }

  // Report.
  const { rows, extras } = throughput;
  extras.bundle = bundle;
  const errors = rows.flatMap(sidesOfRow).reduce((a, side) => a + side.summary.errors, 0);
  const violations = meter ? d1Violations(meter) : [];
  const missed = missedTargets(rows);
  if (bundle.gzipKB >= BUNDLE_GZIP_TARGET_KB) missed.push(`gzipped bundle ${bundle.gzipKB.toFixed(1)} KB (target < ${BUNDLE_GZIP_TARGET_KB} KB)`);
  const notes = [...app.notes];
  if (DATABASES > 1) notes.push(`--databases ${DATABASES}: the service spreads its users over ${app.userDatabases.join(", ")} (USER_DATABASES), each a local D1 with the migrations applied.`);
  for (const { name, summary } of rows.flatMap(sidesOfRow)) {
    if (summary.errors) notes.push(`errors on ${name}: ${summary.errors}, first: \`${summary.firstError}\``);
  }
  for (const v of violations) notes.push(`D1 contract: ${v}`);
  const foreign = throughput.foreign ?? { mean: NaN, max: NaN };
  if (throughput.discardedRounds) {
    notes.push(`${throughput.discardedRounds} round(s) discarded and measured again: other processes took more than ${SETTINGS.disturbedCores} core(s) during one of their runs.`);
  }
  if (foreign.mean > DISTURBED_CORES) {
    notes.push(`other processes used ${foreign.mean.toFixed(2)} cores on average during the measured windows (more than ${DISTURBED_CORES}): the ratios of this run are disturbed; compare runs made on a quiet machine.`);
  }
  const meta = {
    ...versions(APP), mode: QUICK ? "quick" : "full", concurrency: SETTINGS.concurrency, rounds: SETTINGS.rounds,
    warmupS: SETTINGS.warmupMs / 1000, durationS: SETTINGS.durationMs / 1000, slices: SETTINGS.slices, sliceWarmupS: SETTINGS.sliceWarmupMs / 1000,
    freshWorkers: !opts["keep-workers"] && SETTINGS.rounds > 1, totalS: ((performance.now() - T0) / 1000).toFixed(0),
    cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, date: new Date().toISOString(),
    foreign, databases: app.userDatabases,
  };
  if (rows.length) console.log(`\n${table(rows)}\n`);
  console.log(`${extrasTable(extras)}\n`);
  for (const n of notes) console.log(`note: ${n}`);
  if (OUT) {
    writeFileSync(OUT, resultsMarkdown({ meta, rows, extras, notes, meter }) + keptHistory(OUT));
    log(`wrote ${OUT}`);
  }
  console.log(missed.length ? `targets missed:\n  ${missed.join("\n  ")}` : "all targets met");
  if (violations.length) console.log(`D1 contract violated:\n  ${violations.join("\n  ")}`);
  log(`done: ${errors} errors${meter ? `, ${violations.length} D1 contract violations` : ""}`);
  if (errors > 0 || violations.length > 0) return 1;
  if (opts.strict && missed.length) return 2;
  return 0;
}

/** Steps 2 to 5: the service alone first, accounts and CPU per login, the rounds, wrangler's proxy. */
async function measureThroughput(app, envFile, statePath, refs) {
  // 2. The service last and alone, so that its start-up and first request are measured on a quiet machine.
  const service = await startService(app, envFile, statePath);
  const servicePool = retargetablePool(service.directUrl, SETTINGS.concurrency);
  await sleep(500);
  const [first, second] = await firstRequests(service.url, "/.well-known/jwks.json");
  if (first.status !== 200) throw new Error(`first JWKS request: ${first.status} ${first.body.slice(0, 300)}\n${service.log.slice(-2000)}`);
  const [helloFirst, helloSecond] = await firstRequests(refs.hello.server.url, "/");
  log(`service ready in ${service.readyMs.toFixed(0)} ms; first JWKS ${first.ms.toFixed(1)} ms, then ${second.ms.toFixed(1)} ms`);
  log(`service at ${service.directUrl} (wrangler port ${PORT}); references: ${REFERENCES.map((n) => `${n} ${refs[n].server.directUrl}`).join(", ")}`);

  // 3. One account per virtual client, then CPU per login and per password hash (sequential, quiet).
  const users = await setupUsers(servicePool, SETTINGS.concurrency, Date.now().toString(36));
  log(`${users.length} accounts registered and logged in`);
  const loginCpu = await measureCpuPerRequest(service, SETTINGS.loginSamples, () => login(servicePool, users[0].email));
  const hashCpu = await measureCpuPerRequest(refs.sign.server, SETTINGS.loginSamples, () => send(refs.sign.pool, { path: "/pbkdf2" }));
  log(`CPU per login ${loginCpu.cpuMs.toFixed(1)} ms (password hash alone ${hashCpu.cpuMs.toFixed(1)} ms)`);

  // 4. Round after round, each endpoint and its floors, in an order that rotates.
  // Every round after the first on fresh processes (unless --keep-workers): see restartWorkers.
  const workers = { service: { server: service, pool: servicePool }, ...refs };
  const restart = opts["keep-workers"]
    ? undefined
    : async () => {
        await restartWorkers(app, envFile, statePath, workers);
        // Fresh access tokens, so that a long run (retried rounds) never outlives ACCESS_TOKEN_TTL_SECONDS.
        await Promise.all(users.map(async (u) => (u.accessToken = (await login(servicePool, u.email)).accessToken)));
      };
  const results = await runRounds({
    pairKeys: PAIR_KEYS, settings: SETTINGS, workers, users, withLimiter: app.rateLimited, durationOf, slicesOf, restart, log,
  });

  // 5. What wrangler's own port (its ProxyWorker in front of the worker) would have measured instead.
  let proxy;
  if (!QUICK) {
    const pool = openPool(refs.hello.server.url, SETTINGS.concurrency);
    const clientsViaProxy = await makeClients("jwks", "reference", { users });
    proxy = await runLoad({ pool, clients: clientsViaProxy, warmupMs: 1000, durationMs: 3000 });
    await pool.close();
    log(`hello through wrangler's port: ${proxy.rps.toFixed(0)} req/s, p50 ${proxy.p50.toFixed(2)} ms, errors ${proxy.errors}`);
  }
  await Promise.all([servicePool.close(), ...Object.values(refs).map((r) => r.pool.close())]);

  const rows = compare(results, PAIR_KEYS);
  const extras = {
    startup: { readyMs: service.readyMs, firstMs: first.ms, secondMs: second.ms, helloFirstMs: helloFirst.ms, helloSecondMs: helloSecond.ms },
    login: { count: loginCpu.count, cpuMs: loginCpu.cpuMs, wallMs: loginCpu.wallMs, hashCpuMs: hashCpu.cpuMs },
    proxy: proxy && { ...proxy, directRps: results.jwks ? results.jwks.reference.reduce((a, r) => a + r.rps, 0) / results.jwks.reference.length : NaN },
    limitCalls: rows.map((row) => ({ floor: row.pair.reference, cpuMs: limitCallCpuMs(row) })).filter((x) => x.cpuMs !== undefined),
  };
  return { rows, extras, foreign: foreignLoad(results), discardedRounds: results.discardedRounds };
}

/**
 * Migrations, once per database: the service's databases (for the rounds), then the D1 phase's that
 * the service does not have. The D1 phase runs after the service stopped, on the same local state
 * (its tallies and sizes are differences, so the rounds' accounts do not count), which spares a
 * wrangler process per database.
 */
async function migrateDatabases(app, meterConfig, meterText, persistTo) {
  const migrated = PAIR_KEYS.length ? app.userDatabases : [];
  if (migrated.length) await applyMigrations(app.dir, app.config, migrated, persistTo);
  const more = METER ? userDatabasesOf(meterText).filter((db) => !migrated.includes(db)) : [];
  if (more.length) await applyMigrations(app.dir, meterConfig, more, persistTo);
}

/** Everything from HISTORY_MARKER on in the file the run replaces: the hand-written history stays. */
const HISTORY_MARKER = "<!-- history: npm run bench keeps everything from this line on -->";
function keptHistory(file) {
  const text = existsSync(file) ? readFileSync(file, "utf8") : "";
  const at = text.indexOf(HISTORY_MARKER);
  return at < 0 ? "" : `\n${text.slice(at)}`;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** A login takes ~0.1 s of CPU: 16 of them need a few seconds to show up at all (quick: 3 s, full: 4 s). */
const durationOf = (key) => (key === "login" ? (QUICK ? 3000 : 4000) : SETTINGS.durationMs);
/** A login takes ~1 s at this concurrency (no target, reported only): one window, not slices it would not fill. */
const slicesOf = (key) => (key === "login" ? 1 : SETTINGS.slices);

const startService = (app, envFile, statePath) =>
  startDev({
    name: "service", cwd: app.dir, config: app.config, port: PORT, inspectorPort: PORT + 1000, persistTo: statePath("service"), envFile,
    // Its own name in wrangler's dev registry, so that a developer's `npm run dev` keeps its entry.
    extraArgs: ["--name", "edge-token-service-bench"],
  });

/** One reference worker, on its port after the service's. */
function startReference(app, envFile, statePath, name) {
  const i = REFERENCES.indexOf(name);
  const dir = join(BENCH_DIR, "workers", copiedWorker(name) ?? name);
  return startDev({
    name, cwd: dir, config: join(dir, "wrangler.toml"),
    port: PORT + 1 + i, inspectorPort: PORT + 1001 + i, persistTo: statePath(name), envFile,
    vars: { ISSUER: app.issuer, AUDIENCE: app.audience },
    // A copy runs under its own name in wrangler's dev registry.
    extraArgs: ["--compatibility-date", app.compatibilityDate, ...(copiedWorker(name) ? ["--name", `bench-${name}`] : [])],
  });
}

/** The reference workers, in parallel; `rotate` gets its table. */
async function startReferences(app, envFile, statePath) {
  const refs = Object.fromEntries(
    await Promise.all(
      REFERENCES.map(async (name) => {
        const server = await startReference(app, envFile, statePath, name);
        return [name, { server, pool: retargetablePool(server.directUrl, SETTINGS.concurrency) }];
      }),
    ),
  );
  const setup = await send(refs.rotate.pool, { method: "POST", path: "/setup" });
  if (setup.status !== 200) throw new Error(`rotate /setup: ${setup.status} ${setup.body}`);
  return refs;
}

/**
 * Stops every worker and starts it again on the same local state (accounts, families, chains and the
 * key carry over), then waits for the machine to be quiet. Two identical workers in two processes
 * differ by up to ~7% in speed for as long as the processes live (bench/RESULTS.md, the noise check):
 * fresh processes every round turn that offset into noise that the rounds average out.
 */
async function restartWorkers(app, envFile, statePath, workers) {
  const started = performance.now();
  await stopAll();
  await Promise.all(
    Object.entries(workers).map(async ([name, worker]) => {
      worker.server = await (name === "service" ? startService(app, envFile, statePath) : startReference(app, envFile, statePath, name));
      await worker.pool.retarget(worker.server.directUrl);
    }),
  );
  const quietAfterMs = await untilQuiet();
  log(`every worker restarted in ${((performance.now() - started) / 1000).toFixed(1)} s (machine quiet after ${(quietAfterMs / 1000).toFixed(1)} s of it)`);
}

/** Waits (20 s at most) until the machine's CPUs are busy less than a fifth of one core over half a second; returns the ms waited. */
async function untilQuiet() {
  const started = performance.now();
  for (let busy = Infinity; busy > 0.2 && performance.now() - started < 20_000; ) {
    const before = machineBusySeconds();
    await sleep(500);
    busy = (machineBusySeconds() - before) / 0.5;
  }
  return performance.now() - started;
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
