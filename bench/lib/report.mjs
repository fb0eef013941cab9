/** The benchmark's table (printed and written to bench/RESULTS.md) and the target checks. */
import { PAIRS } from "./scenarios.mjs";

export const BUNDLE_GZIP_TARGET_KB = 120;
export const WORKERS_CPU_LIMITS = "Free plan 10 ms; Paid plan 30 s by default (configurable up to 5 min)";

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a");

/** Folds the runs of one side (one per round) into mean rps/p50/p99, summed errors and CPU per request. */
export function summarize(runs) {
  const requests = runs.reduce((a, r) => a + r.requests, 0);
  const cpu = runs.reduce((a, r) => a + r.cpuWorker, 0);
  return {
    rps: mean(runs.map((r) => r.rps)),
    p50: mean(runs.map((r) => r.p50)),
    p99: mean(runs.map((r) => r.p99)),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    cpuMsPerRequest: requests ? (cpu * 1000) / requests : NaN,
    firstError: runs.find((r) => r.firstError)?.firstError,
  };
}

/** The endpoint's ratio to one floor: mean req/s ratio, per round, and CPU per request. */
function ratioTo(endpointRuns, floorRuns, target) {
  const endpoint = summarize(endpointRuns);
  const floor = summarize(floorRuns);
  const ratio = endpoint.rps / floor.rps;
  return {
    floor,
    ratio,
    roundRatios: endpointRuns.map((run, i) => run.rps / floorRuns[i].rps),
    cpuRatio: floor.cpuMsPerRequest / endpoint.cpuMsPerRequest,
    met: target === undefined ? undefined : ratio >= target,
  };
}

/**
 * Rows of the comparison: the endpoint against its floor and, for endpoints that make a per-IP
 * Rate Limiting call, against the same floor making that call (`limited`, undefined otherwise).
 */
export function compare(results, pairKeys) {
  return PAIRS.filter((p) => pairKeys.includes(p.key)).map((pair) => {
    const runs = results[pair.key];
    const { floor: reference, ...vsFloor } = ratioTo(runs.endpoint, runs.reference, pair.target);
    const limited = runs.limited && ratioTo(runs.endpoint, runs.limited, pair.target);
    return { pair, endpoint: summarize(runs.endpoint), reference, ...vsFloor, limited };
  });
}

/** Every side measured in a row: the endpoint, its floor, and the floor + limit() if measured. */
export const sidesOfRow = (row) => [
  { name: row.pair.endpoint, summary: row.endpoint },
  { name: row.pair.reference, summary: row.reference },
  ...(row.limited ? [{ name: `${row.pair.reference}+limit`, summary: row.limited.floor }] : []),
];

/** `**mean**` and the ratio of each round, then the target verdict: the cells every ratio row shares. */
const ratioCell = ({ ratio, roundRatios }) => `**${fmt(ratio, 3)}** (${roundRatios.map((x) => fmt(x, 3)).join(", ")})`;
const targetCell = (target, met) => (target === undefined ? "reported" : `>= ${target.toFixed(2)} ${met ? "met" : "**MISSED**"}`);

export function table(rows) {
  const lines = [
    "| endpoint, and its floor | req/s | p50 ms | p99 ms | errors | worker CPU ms/req | req/s ratio to floor (per round) | target | CPU/req ratio |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |",
  ];
  for (const row of rows) {
    const { pair, endpoint: e, reference: r } = row;
    lines.push(`| ${pair.endpoint} | ${fmt(e.rps, 0)} | ${fmt(e.p50, 2)} | ${fmt(e.p99, 2)} | ${e.errors} | ${fmt(e.cpuMsPerRequest, 2)} | ${ratioCell(row)} | ${targetCell(pair.target, row.met)} | ${fmt(row.cpuRatio, 3)} |`);
    lines.push(`| &nbsp;&nbsp;floor: \`${pair.reference}\` | ${fmt(r.rps, 0)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${r.errors} | ${fmt(r.cpuMsPerRequest, 2)} | | | |`);
  }
  return lines.join("\n");
}

/** The endpoints that make one per-IP `limit()` call, against their floor making the same call. */
export function limitedTable(rows) {
  const lines = [
    "| endpoint | floor + one `limit()` call | its req/s | its p50 ms | its errors | its worker CPU ms/req | one local `limit()` call, CPU ms | endpoint req/s ratio to it (per round) | target | CPU/req ratio |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |",
  ];
  for (const { pair, reference, limited } of rows.filter((r) => r.limited)) {
    const f = limited.floor;
    const callCost = f.cpuMsPerRequest - reference.cpuMsPerRequest;
    lines.push(
      `| ${pair.endpoint} | \`${pair.reference}+limit\` | ${fmt(f.rps, 0)} | ${fmt(f.p50, 2)} | ${f.errors} | ${fmt(f.cpuMsPerRequest, 2)} | ${fmt(callCost, 2)} | ${ratioCell(limited)} | ${targetCell(pair.target, limited.met)} | ${fmt(limited.cpuRatio, 3)} |`,
    );
  }
  return lines.join("\n");
}

export function extrasTable(extras) {
  const { bundle, startup, login, proxy } = extras;
  const lines = ["| measure | value | limit / target |", "| --- | --- | --- |"];
  if (bundle) {
    const met = bundle.gzipKB < BUNDLE_GZIP_TARGET_KB ? "met" : "**MISSED**";
    lines.push(`| bundle (\`wrangler deploy --dry-run\`), raw | ${fmt(bundle.rawKB, 1)} KB | |`);
    lines.push(`| bundle, gzip | ${fmt(bundle.gzipKB, 1)} KB (wrangler says: ${bundle.wranglerLine || "n/a"}) | < ${BUNDLE_GZIP_TARGET_KB} KB ${met} |`);
  }
  if (startup) {
    lines.push(`| \`wrangler dev\` start to "Ready" | ${fmt(startup.readyMs, 0)} ms | |`);
    lines.push(`| first request after start: JWKS (isolate cold, key import included) | ${fmt(startup.firstMs, 1)} ms (next one: ${fmt(startup.secondMs, 1)} ms) | |`);
    lines.push(`| first request after start: \`hello\` reference | ${fmt(startup.helloFirstMs, 1)} ms (next one: ${fmt(startup.helloSecondMs, 1)} ms) | |`);
  }
  if (login) {
    lines.push(`| CPU per login (workerd CPU time, ${login.count} sequential logins) | ${fmt(login.cpuMs, 1)} ms (wall ${fmt(login.wallMs, 1)} ms) | ${WORKERS_CPU_LIMITS}: ${fmt(login.cpuMs / 10, 1)}x the Free limit |`);
    lines.push(`| CPU of the password hash alone (6 chained PBKDF2-SHA256 calls of 100,000 iterations, in the \`sign\` worker) | ${fmt(login.hashCpuMs, 1)} ms = ${fmt((login.hashCpuMs / login.cpuMs) * 100, 0)}% of a login | a single call above 100,000 iterations is refused in production |`);
  }
  if (proxy) {
    lines.push(`| \`hello\` through wrangler dev's own port (its ProxyWorker), for comparison | ${fmt(proxy.rps, 0)} req/s, p50 ${fmt(proxy.p50, 2)} ms, ${proxy.errors} errors (direct: ${fmt(proxy.directRps, 0)} req/s) | not measured through it: see Method |`);
  }
  return lines.join("\n");
}

export function resultsMarkdown({ meta, rows, extras, notes }) {
  return `# Benchmark results

Produced by \`npm run bench\` (bench/run.mjs); see "Benchmark" in the README. Every endpoint runs in
\`wrangler dev\` (local D1 and KV) next to a reference worker under \`bench/workers/\` that does only the
platform's irreducible work for it; the ratio is endpoint req/s over reference req/s, measured in
alternating runs (each round measures every side once, in an order that rotates from round to round)
so that machine noise hits all sides.

- date: ${meta.date}
- machine: ${meta.cpu}, ${meta.cores} cores; Node ${meta.node}, workerd ${meta.workerd}, wrangler ${meta.wrangler}
- service: commit ${meta.commit}
- load: ${meta.concurrency} virtual clients on keep-alive connections over loopback, ${meta.warmupS} s warm-up + ${meta.durationS} s measured per run, ${meta.rounds} rounds (each side once per round); mode ${meta.mode}; total ${meta.totalS} s
- other processes on the machine (not the client, not wrangler/workerd of this run) used ${fmt(meta.foreign.mean, 2)} cores on average during the measured windows (${fmt(meta.foreign.max, 2)} at most)
- "worker CPU ms/req": CPU time of the workerd process that runs the worker (its isolate plus local D1/KV/rate-limit simulators; not wrangler's proxy), divided by the requests completed in the window; "CPU/req ratio" is floor CPU over endpoint CPU, a cross-check that other processes on the machine disturb less than req/s

## Method

- Each worker runs in its own \`wrangler dev\` (local D1, KV and rate limiting, a fresh RS256 key, a
  temporary --persist-to); the service runs from a snapshot of the working tree, with migrations applied.
- The load goes to the socket of the workerd that runs the worker, which is where wrangler's own port
  forwards to. Through wrangler's port every request also crosses its ProxyWorker, which caps any worker
  at a few hundred req/s here (last row of the "Bundle, start-up" table) and would hide the difference measured.
- \`X_LOCAL_OBSERVABILITY=false\`: wrangler's local trace collector is dev tooling, not the platform, and
  it throws under concurrent load.
- Local bindings are simulated in the same workerd process and their CPU is counted: a D1 query, a KV
  read or a Rate Limiting \`limit()\` call (a SQLite write in a Durable Object locally) each cost the
  service CPU here that production spends off the worker. The floors pay the same for what they do.
- Floors (\`bench/workers/\`): \`hello\` a constant JSON; \`verify\` one RS256 jwtVerify + one KV get;
  \`rotate\` one D1 batch of a conditional UPDATE and an INSERT + one RS256 sign; \`sign\` one RS256 SignJWT.
  \`verify+limit\` and \`rotate+limit\`: the same floors, each request first making the one per-IP Rate
  Limiting call that \`/auth/me\` and \`/auth/refresh\` make (second table).
  \`/auth/refresh\` clients each walk their own rotation chain from their own login (JSON body mode).

## Throughput and latency

${table(rows)}

${rows.some((r) => r.limited) ? `## Against floors that make the same Rate Limiting call

DESIGN.md asks for a per-IP limit on every auth request, so \`/auth/me\` and \`/auth/refresh\` each make one
\`limit()\` call; their floors above make none. Under \`wrangler dev\` that call goes to a Durable Object
simulator (a SQLite write) in the same workerd, and its CPU counts against the worker. Each floor is
therefore also measured making exactly that call first (\`/limited\`, bench/workers/shared/limit.ts), in
the same rounds: the difference is what one local call costs, and the ratio below is the endpoint's own
overhead over the platform's work for it. These targets are reported; \`--strict\` fails only on the first table's.

${limitedTable(rows)}

` : ""}## Bundle, start-up, CPU per login

${extrasTable(extras)}
${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n}`).join("\n")}\n` : ""}`;
}
