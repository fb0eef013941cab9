/** One-off measurements (bundle size, CPU per request, versions) and the service's bench config. */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { wrangler } from "./wrangler.mjs";

const require = createRequire(import.meta.url);

/** What of the service is copied into the snapshot (node_modules is linked). */
const SNAPSHOT_ENTRIES = ["wrangler.toml", "package.json", "tsconfig.json", "src", "drizzle", "public"];

/**
 * A snapshot of the service's working tree (uncommitted changes included) in the temp dir, so that
 * edits made while the benchmark runs neither reload the worker nor change what is measured.
 * Also reads what the reference workers must share with it (issuer, audience, compatibility date).
 * If wrangler.toml declares rate limits, the snapshot's limits are raised far above the load: all of
 * it comes from one IP, which production never sees. `databases` > 1 spreads users over that many
 * D1 bindings (withUserDatabases).
 */
export function snapshotService(appDir, tmpDir, { withoutRateLimits = false, databases = 1 } = {}) {
  const dir = join(tmpDir, "service");
  mkdirSync(dir);
  for (const entry of SNAPSHOT_ENTRIES) {
    if (existsSync(join(appDir, entry))) cpSync(join(appDir, entry), join(dir, entry), { recursive: true });
  }
  symlinkSync(join(appDir, "node_modules"), join(dir, "node_modules"));
  const config = join(dir, "wrangler.toml");
  let text = readFileSync(config, "utf8");
  const value = (key, fallback) => new RegExp(`^\\s*${key}\\s*=\\s*"([^"]*)"`, "m").exec(text)?.[1] ?? fallback;
  const notes = [];
  const declaresRateLimits = /^\s*\[\[ratelimits\]\]/m.test(text);
  if (withoutRateLimits && declaresRateLimits) {
    // Every [[ratelimits]] block runs up to the next table header (or the end of the file).
    text = text.replace(/^\s*\[\[ratelimits\]\][\s\S]*?(?=^\s*\[|(?![\s\S]))/gm, "");
    writeFileSync(config, text);
    notes.push(
      "--without-rate-limits: the benchmark's copy of wrangler.toml declares no rate limits, so no `limit()` call is made. " +
        "Locally each call goes to a Durable Object simulator (SQLite) inside the worker's workerd (a default run measures its CPU: the +limit floors); " +
        "in production the binding is a counter cached on the same machine, so this run is the closer estimate of the code's own overhead.",
    );
  } else if (declaresRateLimits) {
    text = text.replace(/(\blimit\s*=\s*)\d+/g, (_, key) => `${key}1000000000`);
    writeFileSync(config, text);
    notes.push("wrangler.toml declares rate limits: the benchmark's copy raises every `limit` to 1e9 (all load comes from one IP).");
  }
  const serviceText = withUserDatabases(text, databases);
  if (serviceText !== text) writeFileSync(config, serviceText);
  return {
    dir,
    config,
    /** The config text before withUserDatabases (for other workers run from the snapshot). */
    configText: text,
    /** The D1 bindings the service spreads users over, each with its own migrations. */
    userDatabases: userDatabasesOf(serviceText),
    /** Whether the service's copy makes Rate Limiting calls (then the floors are also measured with one). */
    rateLimited: declaresRateLimits && !withoutRateLimits,
    issuer: value("ISSUER", "http://localhost:8787"),
    audience: value("AUDIENCE", "http://localhost:8787"),
    compatibilityDate: value("compatibility_date", "2026-11-01"),
    notes,
  };
}

/** The D1 binding names a config spreads users over (its USER_DATABASES var, default DB). */
export const userDatabasesOf = (configText) =>
  (/^\s*USER_DATABASES\s*=\s*"([^"]*)"/m.exec(configText)?.[1] ?? "DB")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * The config text with `count` user databases: DB, DB_2, ... (each a local D1 of its own with the
 * service's migrations), named in USER_DATABASES. Count 1: unchanged.
 */
export function withUserDatabases(configText, count) {
  if (count === 1) return configText;
  const names = Array.from({ length: count }, (_, i) => (i === 0 ? "DB" : `DB_${i + 1}`));
  const blocks = names
    .slice(1)
    .map((name, i) => `\n[[d1_databases]]\nbinding = "${name}"\ndatabase_name = "edge-token-service-bench-${i + 2}"\ndatabase_id = "00000000-0000-0000-0000-0000000000${String(i + 2).padStart(2, "0")}"\nmigrations_dir = "drizzle"\n`)
    .join("");
  const list = `USER_DATABASES = "${names.join(",")}"`;
  const text = /^\s*USER_DATABASES\s*=.*$/m.test(configText)
    ? configText.replace(/^\s*USER_DATABASES\s*=.*$/m, list)
    : configText.replace(/^\[vars\]\s*$/m, `[vars]\n${list}`);
  return `${text}${blocks}`;
}

/** Applies the service's migrations to each of `databases` in the local state at `persistTo`. */
export function applyMigrations(dir, config, databases, persistTo) {
  return Promise.all(databases.map((db) => wrangler(["d1", "migrations", "apply", db, "--local", "--persist-to", persistTo, "-c", config], { cwd: dir })));
}

/** `wrangler deploy --dry-run --outdir`: the uploaded JavaScript, raw and gzipped (level 9, what the upload limit counts). */
export async function measureBundle(appDir, config, outDir) {
  const out = await wrangler(["deploy", "--dry-run", "--outdir", outDir, "-c", config], { cwd: appDir });
  const files = readdirSync(outDir).filter((f) => /\.(m?js|wasm)$/.test(f));
  const bytes = Buffer.concat(files.map((f) => readFileSync(join(outDir, f))));
  const wranglerLine = /Total Upload:\s*([^\n]+)/.exec(out)?.[1]?.trim() ?? "";
  return { files, rawKB: bytes.length / 1024, gzipKB: gzipSync(bytes, { level: 9 }).length / 1024, wranglerLine };
}

/** Sequential requests on a quiet server: workerd CPU time and wall time per request. */
export async function measureCpuPerRequest(server, count, request) {
  await request(); // not counted: warms the path
  const before = server.cpuSeconds().worker;
  const started = performance.now();
  for (let i = 0; i < count; i++) await request();
  const wallMs = (performance.now() - started) / count;
  return { count, cpuMs: ((server.cpuSeconds().worker - before) * 1000) / count, wallMs };
}

export function versions(appDir) {
  const run = (cmd, args, cwd) => {
    try {
      return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return "unknown";
    }
  };
  // The workerd that wrangler dev runs: miniflare's dependency, resolved from wrangler's own.
  const fromWrangler = createRequire(require.resolve("wrangler/package.json"));
  const workerdPkg = createRequire(fromWrangler.resolve("miniflare")).resolve("workerd/package.json");
  const dirty = run("git", ["status", "--porcelain", "--", "src", "wrangler.toml", "drizzle"], appDir) ? " + uncommitted changes in src/" : "";
  return {
    node: process.version,
    workerd: `${require(workerdPkg).version} (${run(join(workerdPkg, "..", "bin", "workerd"), ["--version"])})`,
    wrangler: fromWrangler("./package.json").version,
    commit: `${run("git", ["rev-parse", "--short", "HEAD"], appDir)}${dirty}`,
  };
}

/** CPU seconds all processes of the machine have used (from /proc/stat): with our own, what others took. */
export function machineBusySeconds() {
  const [, ...ticks] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = ticks;
  void idle, iowait;
  return (user + nice + system + irq + softirq + steal) / 100;
}
