// Child processes of the e2e run: started detached (own process group) so that stopping one stops
// everything it spawned (wrangler -> workerd), and always stopped on exit, also after a failure.
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** @typedef {{ name: string, child: import("node:child_process").ChildProcess, exited: Promise<number | null>, logFile: string }} Proc */

/** @type {Set<Proc>} */
const running = new Set();

/**
 * Spawns `command args` in its own process group, output appended to `logFile`.
 * @param {string} name
 * @param {string} command
 * @param {string[]} args
 * @param {{ cwd?: string, env?: NodeJS.ProcessEnv, logFile: string, pipeStdio?: boolean }} options
 *   pipeStdio: the caller talks to the process over stdin/stdout (only stderr goes to the log)
 * @returns {Proc}
 */
export function start(name, command, args, { cwd, env, logFile, pipeStdio = false }) {
  const log = createWriteStream(logFile, { flags: "a" });
  log.write(`\n$ ${command} ${args.join(" ")}\n`);
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", ...env },
    detached: true,
    stdio: [pipeStdio ? "pipe" : "ignore", "pipe", "pipe"],
  });
  if (!pipeStdio) child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  const proc = { name, child, exited, logFile };
  running.add(proc);
  exited.then(() => running.delete(proc));
  return proc;
}

/**
 * Stops a process group: SIGINT first (wrangler ignores SIGTERM and restarts workerd), SIGKILL
 * to the group if it is still there after `graceMs`.
 * @param {Proc} proc
 */
export async function stop(proc, graceMs = 8000) {
  const pid = proc.child.pid;
  if (pid === undefined || proc.child.exitCode !== null || proc.child.signalCode !== null) {
    killGroup(pid, "SIGKILL"); // leftovers of the group (workerd) if the leader already exited
    return;
  }
  killGroup(pid, "SIGINT");
  const done = await Promise.race([proc.exited.then(() => true), sleep(graceMs).then(() => false)]);
  killGroup(pid, "SIGKILL");
  if (!done) await proc.exited;
}

export async function stopAll() {
  await Promise.all([...running].map((proc) => stop(proc)));
}

/** Synchronous last resort for `process.on("exit")`. */
export function killAllNow() {
  for (const proc of running) killGroup(proc.child.pid, "SIGKILL");
}

/** @param {number | undefined} pid @param {NodeJS.Signals} signal */
function killGroup(pid, signal) {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is already gone
  }
}

/**
 * Polls `url` until it answers 2xx, the process exits, or the timeout passes.
 * @param {Proc} proc
 * @param {string} url
 */
export async function waitForHttp(proc, url, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let exitCode;
  proc.exited.then((code) => (exitCode = code));
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`${proc.name} exited with ${exitCode} before ${url} answered; see ${proc.logFile}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(250);
  }
  throw new Error(`${proc.name}: ${url} did not answer within ${timeoutMs} ms; see ${proc.logFile}`);
}

/** Fails fast if a port is taken, instead of testing someone else's server. */
export async function assertPortFree(port) {
  for (const host of ["127.0.0.1", "::1"]) {
    const open = await new Promise((resolve) => {
      const socket = connect({ host, port });
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (open) throw new Error(`port ${port} is already in use on ${host}; stop that server first`);
  }
}
