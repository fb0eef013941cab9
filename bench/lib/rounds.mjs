/**
 * The throughput rounds of `npm run bench`: round after round, each endpoint and its floors (plain,
 * and + limit() where the service makes that call), in an order that rotates from round to round;
 * within a round, the sides of a pair take turns in short slices.
 */
import { percentile, runLoad } from "./load.mjs";
import { cpuOfGroups } from "./wrangler.mjs";
import { PAIRS, copyName, inTurn, makeClients, sidesOf } from "./scenarios.mjs";
import { machineBusySeconds } from "./measure.mjs";

/**
 * Runs `settings.rounds` rounds over `pairKeys`; returns { [pair]: { endpoint|reference|limited: run[] } }
 * and `discardedRounds`. Each run carries the worker's CPU seconds in its window and the cores other
 * processes used meanwhile. `workers` maps `service` and each reference to its { server, pool };
 * `restart`, if given, starts them afresh (updating `workers`) before every round after the first.
 */
export async function runRounds({ pairKeys, settings, workers, users, withLimiter, durationOf, slicesOf, restart, log }) {
  const sides = (pair, round = 1) => sidesOf(pair, { withLimiter, round });
  const results = {};
  const clients = {};
  for (const key of pairKeys) {
    const pair = PAIRS.find((p) => p.key === key);
    const ctx = { users, servicePool: workers.service.pool, referencePool: workers[pair.reference].pool };
    results[key] = {};
    clients[key] = {};
    for (const side of sides(pair)) {
      results[key][side] = [];
      clients[key][side] = await makeClients(key, side, ctx);
    }
  }
  let discarded = 0;
  for (let round = 1, attempt = 1; round <= settings.rounds; attempt++) {
    if (attempt > 1 && restart) await restart();
    const servers = Object.values(workers).map((w) => w.server);
    const runs = [];
    // The pairs rotate too, so that no pair is always measured first, on the round's youngest
    // processes, or last (bench/RESULTS.md, "When in a round a pair runs").
    for (const key of inTurn(pairKeys, attempt)) {
      const pair = PAIRS.find((p) => p.key === key);
      const endpoint = workers[pair.copyOf ? copyName(pair) : "service"];
      const order = sides(pair, attempt).map((side) => ({ side, ...(side === "endpoint" ? endpoint : workers[pair.reference]), clients: clients[key][side] }));
      for (const { side, run } of await measurePair(order, settings, durationOf(key), slicesOf(key), servers)) {
        runs.push({ key, side, run });
        const label = side === "endpoint" ? pair.endpoint : `floor ${pair.reference}${side === "limited" ? "+limit" : ""}`;
        log(`round ${round} ${label}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms, errors ${run.errors}, other processes ${run.foreignCores.toFixed(2)} cores${run.firstError ? ` (first error: ${run.firstError})` : ""}`);
      }
    }
    // A round during which other processes took more than settings.disturbedCores while a judged
    // endpoint or its floor ran is measured again (settings.retries times at most in a run): one
    // side measured on half the machine skews its ratio.
    const judged = runs.filter((r) => PAIRS.find((p) => p.key === r.key).target !== undefined);
    const worst = Math.max(0, ...judged.map((r) => r.run.foreignCores));
    if (worst > settings.disturbedCores && discarded < settings.retries) {
      discarded++;
      log(`round ${round} discarded: other processes took ${worst.toFixed(2)} cores during one of its runs; measuring it again`);
      continue;
    }
    for (const { key, side, run } of runs) results[key][side].push(run);
    round++;
  }
  results.discardedRounds = discarded;
  return results;
}

/** Mean and max cores that other processes used during the measured windows. */
export function foreignLoad(results) {
  const loads = Object.entries(results)
    .filter(([key]) => key !== "discardedRounds")
    .flatMap(([, r]) => Object.values(r).flat())
    .map((run) => run.foreignCores);
  return loads.length ? { mean: loads.reduce((a, b) => a + b, 0) / loads.length, max: Math.max(...loads) } : { mean: NaN, max: NaN };
}

/**
 * One round of one pair: each side warmed up in turn, then `slices` measured slices per side,
 * interleaved (A B C A B C ...), `durationMs` of measured time per side in all. The machine's speed
 * drifts by tens of percent over seconds; sides measured in alternating short slices share that drift,
 * where one long window each would not. Returns one run per side, its slices folded together.
 */
async function measurePair(order, settings, durationMs, slices, servers) {
  const folded = new Map(order.map(({ side }) => [side, { latencies: [], errors: 0, firstError: undefined, wallSeconds: 0, cpuWorker: 0, foreignSeconds: 0 }]));
  const load = async ({ side, pool, clients, server }, warmupMs, windowMs) => {
    const marks = {};
    const run = await runLoad({ pool, clients, warmupMs, durationMs: windowMs, onWindow: windowMs ? (edge) => (marks[edge] = sample(server, servers)) : undefined });
    const into = folded.get(side);
    into.errors += run.errors;
    into.firstError ??= run.firstError;
    if (!windowMs) return;
    for (const ms of run.latencies) into.latencies.push(ms);
    into.wallSeconds += (marks.end.t - marks.start.t) / 1000;
    into.cpuWorker += marks.end.worker - marks.start.worker;
    into.foreignSeconds += marks.end.busy - marks.start.busy - (marks.end.ours - marks.start.ours);
  };
  for (const side of order) await load(side, settings.warmupMs, 0);
  for (let slice = 0; slice < slices; slice++) {
    for (const side of order) await load(side, settings.sliceWarmupMs, durationMs / slices);
  }
  return [...folded].map(([side, { latencies, errors, firstError, cpuWorker, foreignSeconds, wallSeconds }]) => {
    latencies.sort((a, b) => a - b);
    const run = {
      requests: latencies.length, rps: latencies.length / (durationMs / 1000), p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99),
      errors, firstError, cpuWorker, foreignCores: foreignSeconds / wallSeconds,
    };
    if (run.requests === 0) {
      run.errors++;
      run.firstError ??= "no response completed in the measured window";
    }
    return { side, run };
  });
}

/** CPU counters at a window edge: the measured worker's workerd, ours (client + every server), the machine's. */
function sample(server, servers) {
  const own = process.cpuUsage();
  const groups = cpuOfGroups(servers);
  const ours = (own.user + own.system) / 1e6 + [...groups.values()].reduce((a, g) => a + g.total, 0);
  return { t: performance.now(), worker: groups.get(server).worker, ours, busy: machineBusySeconds() };
}
