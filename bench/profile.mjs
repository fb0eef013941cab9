#!/usr/bin/env node
/**
 * `npm run bench:profile -- <jwks|me|refresh|login> [--reference [--limited]] [--seconds 6] [--app <dir>] [--without-rate-limits]`
 * Runs one endpoint (or its reference; with --limited, the reference's `+limit` variant, the judged
 * floor of /auth/me and /auth/refresh) under the benchmark's load with the CPU profiler of the worker's
 * isolate on, and prints where the time goes: by module, by function (self), and the service's own
 * functions inclusive of what they call. The worker runs from a snapshot, exactly as in `npm run bench`.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { openPool, runLoad, send } from "./lib/load.mjs";
import { snapshotService } from "./lib/measure.mjs";
import { summarizeProfile, withProfile } from "./lib/profiler.mjs";
import { PAIRS, makeClients, setupUsers } from "./lib/scenarios.mjs";
import { startDev, stopAll, stopAllNow, wrangler } from "./lib/wrangler.mjs";

const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(BENCH_DIR, "..");
const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    reference: { type: "boolean", default: false },
    limited: { type: "boolean", default: false },
    seconds: { type: "string", default: "6" },
    app: { type: "string", default: REPO },
    "port-base": { type: "string", default: "8797" },
    out: { type: "string" },
    "without-rate-limits": { type: "boolean", default: false },
  },
});
const ENDPOINTS = PAIRS.filter((p) => !p.copyOf);
const pair = ENDPOINTS.find((p) => p.key === positionals[0]);
if (!pair) {
  console.error(`usage: npm run bench:profile -- <${ENDPOINTS.map((p) => p.key).join("|")}> [--reference [--limited]] [--seconds N] [--app DIR] [--without-rate-limits]`);
  process.exit(2);
}
const PORT = Number(opts["port-base"]);
const TMP = mkdtempSync(join(tmpdir(), "edge-profile-"));
const cleanup = () => {
  stopAllNow();
  rmSync(TMP, { recursive: true, force: true });
};
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

async function main() {
  const { generateRefreshTokenKey, generateSigningKey } = await import(join(REPO, "scripts", "generate-key.mjs"));
  const envFile = join(TMP, "bench.env");
  writeFileSync(envFile, `SIGNING_KEY='${JSON.stringify(generateSigningKey().privateJwk)}'\nREFRESH_TOKEN_KEY='${generateRefreshTokenKey()}'\n`, { mode: 0o600 });
  const app = snapshotService(resolve(opts.app), TMP, { withoutRateLimits: opts["without-rate-limits"] });
  await wrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", join(TMP, "state-service"), "-c", app.config], { cwd: app.dir });
  const service = await startDev({
    name: "service", cwd: app.dir, config: app.config, port: PORT, inspectorPort: PORT + 1000,
    persistTo: join(TMP, "state-service"), envFile, extraArgs: ["--name", "edge-token-service-profile"],
  });
  const refDir = join(BENCH_DIR, "workers", pair.reference);
  const reference = opts.reference
    ? await startDev({
        name: pair.reference, cwd: refDir, config: join(refDir, "wrangler.toml"), port: PORT + 1, inspectorPort: PORT + 1001,
        persistTo: join(TMP, "state-ref"), envFile, vars: { ISSUER: app.issuer, AUDIENCE: app.audience },
        extraArgs: ["--compatibility-date", app.compatibilityDate],
      })
    : undefined;
  const servicePool = openPool(service.directUrl, 16);
  const referencePool = reference && openPool(reference.directUrl, 16);
  if (pair.reference === "rotate" && referencePool) await send(referencePool, { method: "POST", path: "/setup" });
  const users = await setupUsers(servicePool, 16, Date.now().toString(36));
  const side = opts.reference ? (opts.limited ? "limited" : "reference") : "endpoint";
  const clients = await makeClients(pair.key, side, { users, servicePool, referencePool });
  const target = opts.reference ? reference : service;
  const pool = opts.reference ? referencePool : servicePool;
  await runLoad({ pool, clients, warmupMs: 0, durationMs: 1500 }); // JIT warm-up, not profiled
  const before = target.cpuSeconds().worker;
  const { result: run, profile } = await withProfile(target.port + 1000, 200, () =>
    runLoad({ pool, clients, warmupMs: 0, durationMs: Number(opts.seconds) * 1000 }),
  );
  const cpuMs = ((target.cpuSeconds().worker - before) * 1000) / run.requests;
  const projectDir = opts.reference ? refDir : app.dir;
  const devDirs = readdirSync(join(projectDir, ".wrangler", "tmp")).filter((d) => d.startsWith("dev-"));
  const bundleDir = devDirs.map((d) => join(projectDir, ".wrangler", "tmp", d)).find((d) => existsSync(join(d, "index.js.map")));
  const summary = summarizeProfile(profile, bundleDir ?? projectDir);
  console.log(`\n${opts.reference ? `reference ${pair.reference}${opts.limited ? "+limit" : ""}` : pair.endpoint}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50.toFixed(2)} ms, errors ${run.errors}`);
  console.log(`workerd CPU ${cpuMs.toFixed(2)} ms/req (profiled, so higher than in npm run bench); ${summary.total} samples of the isolate`);
  console.log(`\nby module (self):\n  ${summary.modules.join("\n  ")}`);
  console.log(`\nby function (self):\n  ${summary.self.join("\n  ")}`);
  console.log(`\nsrc/ functions (inclusive of synchronous callees):\n  ${summary.inclusive.join("\n  ") || "(none)"}`);
  if (opts.out) writeFileSync(resolve(opts.out), JSON.stringify(profile));
  await Promise.all([servicePool.close(), referencePool?.close()]);
  await stopAll();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`[profile] failed: ${err?.stack ?? err}`);
    process.exit(1);
  },
);
