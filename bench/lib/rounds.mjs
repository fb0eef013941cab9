/**
 * The throughput rounds of `npm run bench`: round after round, each endpoint and its floors (plain,
 * and + limit() where the service makes that call), in an order that rotates from round to round.
 */
import { runLoad } from "./load.mjs";
import { PAIRS, copyName, makeClients, sidesOf } from "./scenarios.mjs";
import { machineBusySeconds } from "./measure.mjs";

/**
 * Runs `settings.rounds` rounds over `pairKeys`; returns { [pair]: { endpoint|reference|limited: run[] } }
 * and `discardedRounds`. Each run carries the worker's CPU seconds in its window and the cores other
 * processes used meanwhile.
 */
export async function runRounds({ pairKeys, settings, service, servicePool, refs, users, withLimiter, durationOf, log }) {
  const servers = [service, ...Object.values(refs).map((r) => r.server)];
  const sides = (pair, round = 1) => sidesOf(pair, { withLimiter, round });
  const results = {};
  const clients = {};
  for (const key of pairKeys) {
    const pair = PAIRS.find((p) => p.key === key);
    const ctx = { users, servicePool, referencePool: refs[pair.reference].pool };
    results[key] = {};
    clients[key] = {};
    for (const side of sides(pair)) {
      results[key][side] = [];
      clients[key][side] = await makeClients(key, side, ctx);
    }
  }
  let discarded = 0;
  for (let round = 1, attempt = 1; round <= settings.rounds; attempt++) {
    const runs = [];
    for (const key of pairKeys) {
      const pair = PAIRS.find((p) => p.key === key);
      const endpoint = pair.copyOf ? refs[copyName(pair)] : { server: service, pool: servicePool };
      for (const side of sides(pair, attempt)) {
        const { server, pool } = side === "endpoint" ? endpoint : refs[pair.reference];
        const marks = {};
        const run = await runLoad({
          pool, clients: clients[key][side], warmupMs: settings.warmupMs, durationMs: durationOf(key),
          onWindow: (edge) => (marks[edge] = sample(server, servers)),
        });
        run.cpuWorker = marks.end.worker - marks.start.worker;
        run.foreignCores = (marks.end.busy - marks.start.busy - (marks.end.ours - marks.start.ours)) / ((marks.end.t - marks.start.t) / 1000);
        if (run.requests === 0) {
          run.errors++;
          run.firstError ??= "no response completed in the measured window";
        }
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

/** CPU counters at a window edge: the measured worker's workerd, ours (client + every server), the machine's. */
function sample(server, servers) {
  const own = process.cpuUsage();
  const ours = (own.user + own.system) / 1e6 + servers.reduce((a, s) => a + s.cpuSeconds().total, 0);
  return { t: performance.now(), worker: server.cpuSeconds().worker, ours, busy: machineBusySeconds() };
}
