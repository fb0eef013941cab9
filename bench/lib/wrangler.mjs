/**
 * Running wrangler as a user would: `wrangler dev` (local D1/KV), `d1 migrations apply --local`,
 * `deploy --dry-run`. Every dev server is spawned detached in its own process group and stopped
 * with SIGINT to that group (wrangler ignores SIGTERM and would keep restarting workerd).
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
export const WRANGLER_JS = join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");

// X_LOCAL_OBSERVABILITY=false: wrangler's local trace collector (dev tooling, not the platform) attaches
// to every worker and throws under concurrent load; it would only add the same noise to both sides.
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", X_LOCAL_OBSERVABILITY: "false", NO_COLOR: "1", FORCE_COLOR: "0", CI: "true" };
/** Printed at debug level once the worker is up: where wrangler's proxy forwards to. */
const USER_WORKER_URL = /"userWorkerUrl":\{"protocol":"http:","hostname":"([^"]+)","port":"(\d+)"\}/g;
const running = new Set();

/** Runs a wrangler command to completion; rejects with its output on a non-zero exit. */
export function wrangler(args, { cwd, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRANGLER_JS, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`wrangler ${args.slice(0, 3).join(" ")} exited ${code}:\n${out.slice(-3000)}`));
    });
  });
}

/**
 * Starts `wrangler dev` and resolves once it prints "Ready on", with the time that took.
 * Returns a handle with `url` (wrangler's own port, served by its ProxyWorker), `directUrl` (the
 * socket of the workerd that runs the worker, which the proxy forwards to), `stop()`, `cpuSeconds()`.
 */
export function startDev({ name, cwd, config, port, inspectorPort, persistTo, envFile, vars = {}, extraArgs = [], readyTimeoutMs = 90_000 }) {
  const args = [WRANGLER_JS, "dev", "-c", config, "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort)];
  args.push("--persist-to", persistTo, "--show-interactive-dev-session=false", "--log-level", "debug", ...extraArgs);
  if (envFile) args.push("--env-file", envFile);
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const server = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    directUrl: undefined,
    pid: child.pid,
    log: "",
    readyMs: NaN,
    exited: false,
    stop: () => stopGroup(child),
    /** CPU seconds of the workerd running the worker itself (`worker`) and of the whole group (`total`). */
    cpuSeconds: () => cpuOfGroups([server]).get(server),
  };
  running.add(child);
  const append = (d) => {
    server.log += d;
    if (server.log.length > 400_000) server.log = server.log.slice(-200_000);
  };
  child.stdout.on("data", append);
  child.stderr.on("data", append);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`${name}: not ready after ${readyTimeoutMs} ms`)), readyTimeoutMs);
    const poll = setInterval(() => {
      const direct = [...server.log.matchAll(USER_WORKER_URL)].at(-1);
      if (Number.isNaN(server.readyMs) && /Ready on http/.test(server.log)) server.readyMs = performance.now() - started;
      if (!Number.isNaN(server.readyMs) && direct) {
        server.directUrl = `http://${direct[1]}:${direct[2]}`;
        clearInterval(poll);
        clearTimeout(timer);
        resolve(server);
      }
    }, 25);
    const fail = (err) => {
      clearInterval(poll);
      clearTimeout(timer);
      stopGroup(child);
      reject(new Error(`${err.message}\n--- ${name} log ---\n${server.log.slice(-3000)}`));
    };
    child.on("exit", (code) => {
      server.exited = true;
      running.delete(child);
      if (Number.isNaN(server.readyMs)) fail(new Error(`${name}: wrangler dev exited ${code} before it was ready`));
    });
  });
}

/** SIGINT to the process group, then waits for the group leader to exit (SIGKILL as a last resort). */
async function stopGroup(child) {
  if (child.exitCode !== null || child.signalCode !== null) return killGroup(child.pid, "SIGKILL");
  const exited = new Promise((resolve) => child.once("exit", resolve));
  killGroup(child.pid, "SIGINT");
  const timeout = new Promise((resolve) => setTimeout(() => resolve("timeout"), 8000));
  if ((await Promise.race([exited, timeout])) === "timeout") killGroup(child.pid, "SIGKILL");
  else setTimeout(() => killGroup(child.pid, "SIGKILL"), 200).unref(); // stray workerd children, if any
  running.delete(child);
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/** Synchronous last-chance cleanup (process exit, uncaught errors): SIGINT then SIGKILL every group we started. */
export function stopAllNow() {
  for (const child of running) killGroup(child.pid, "SIGINT");
  const deadline = Date.now() + 3000;
  while ([...running].some((c) => c.exitCode === null && c.signalCode === null && alive(c.pid)) && Date.now() < deadline) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
  for (const child of running) killGroup(child.pid, "SIGKILL");
  running.clear();
}

export async function stopAll() {
  await Promise.all([...running].map((child) => stopGroup(child)));
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const TICKS_PER_SECOND = 100; // Linux USER_HZ
/** The command line of each pid seen (it never changes while the process lives). */
const commandLines = new Map();

/**
 * CPU seconds (utime+stime) of every process group in `servers`, read in one pass over /proc:
 * `total` of the whole group, `worker` of the workerd that is not wrangler's proxy on the server's port.
 * One pass, because the rounds sample every server at the edge of each measured slice.
 */
export function cpuOfGroups(servers) {
  const byGroup = new Map(servers.map((s) => [s.pid, { server: s, total: 0, worker: 0 }]));
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const group = byGroup.get(Number(fields[2])); // field 5: pgrp
      if (!group) continue;
      const seconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime
      group.total += seconds;
      const key = `${entry}:${fields[19]}`; // pid and start time: a reused pid is another process
      if (!commandLines.has(key)) commandLines.set(key, readFileSync(`/proc/${entry}/cmdline`, "utf8"));
      const cmd = commandLines.get(key);
      if (cmd.includes("workerd") && !cmd.includes(`entry=127.0.0.1:${group.server.port}\0`)) group.worker += seconds;
    } catch {
      // the process exited while we read it
    }
  }
  return new Map([...byGroup.values()].map(({ server, total, worker }) => [server, { total, worker }]));
}
