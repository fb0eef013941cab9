/**
 * A small closed-loop load client on undici: a fixed number of virtual clients, each with its own
 * state, over keep-alive connections (one per client). Warm-up first, then a fixed measured window:
 * throughput counts the responses completed inside the window, latencies are theirs, and errors
 * count every failed request of the run, warm-up included.
 */
import { Pool } from "undici";

/**
 * @typedef {{ method?: string, path: string, headers?: Record<string,string>, body?: string }} BenchRequest
 * @typedef {{ request(): BenchRequest, accept(status: number, body: string, headers: Record<string, string|string[]>): boolean, recover?(): Promise<void> }} VirtualClient
 */

export function openPool(origin, connections) {
  return new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 60_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
}

/**
 * A pool that can be pointed at another origin (its worker restarted on a new socket): whoever holds
 * it, virtual clients included, sends to the current one.
 */
export function retargetablePool(origin, connections) {
  let pool = openPool(origin, connections);
  return {
    request: (options) => pool.request(options),
    async retarget(to) {
      await pool.close();
      pool = openPool(to, connections);
    },
    close: () => pool.close(),
  };
}

/** Sends one request through the pool and returns status, body text and latency in ms. */
export async function send(pool, { method = "GET", path, headers = {}, body }) {
  const started = performance.now();
  const res = await pool.request({ method, path, headers, body });
  const text = await res.body.text();
  return { status: res.statusCode, body: text, headers: res.headers, ms: performance.now() - started };
}

/**
 * Runs `clients` concurrently for warmupMs + durationMs.
 * @param {{ pool: Pool, clients: VirtualClient[], warmupMs: number, durationMs: number, onWindow?: (edge: "start"|"end") => void }} options
 */
export async function runLoad({ pool, clients, warmupMs, durationMs, onWindow }) {
  const t0 = performance.now();
  const windowStart = t0 + warmupMs;
  const windowEnd = windowStart + durationMs;
  const latencies = [];
  let errors = 0;
  let firstError;
  const fired = new Set();
  const edge = (name) => fired.has(name) || (fired.add(name), onWindow?.(name));
  const startTimer = setTimeout(() => edge("start"), warmupMs);
  const endTimer = setTimeout(() => edge("end"), Math.max(0, windowEnd - performance.now()));

  async function loop(client) {
    while (performance.now() < windowEnd) {
      const started = performance.now();
      let ok = false;
      try {
        const req = client.request();
        const res = await pool.request({ method: req.method ?? "GET", path: req.path, headers: req.headers, body: req.body });
        const text = await res.body.text();
        ok = client.accept(res.statusCode, text, res.headers);
        if (!ok) firstError ??= `${req.method ?? "GET"} ${req.path} -> ${res.statusCode} ${text.slice(0, 200)}`;
      } catch (err) {
        firstError ??= String(err?.message ?? err);
      }
      const done = performance.now();
      if (!ok) {
        errors++;
        if (client.recover) await client.recover().catch(() => {});
        else await new Promise((r) => setTimeout(r, 10));
      } else if (done >= windowStart && done <= windowEnd) {
        latencies.push(done - started);
      }
    }
  }

  await Promise.all(clients.map(loop));
  clearTimeout(startTimer);
  clearTimeout(endTimer);
  edge("start");
  edge("end"); // the last responses can beat the timer by a millisecond
  latencies.sort((a, b) => a - b);
  return {
    latencies,
    requests: latencies.length,
    rps: latencies.length / (durationMs / 1000),
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    errors,
    firstError,
  };
}

/** The q-quantile of an ascending array (NaN if empty). */
export function percentile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
