/** The benchmark's tables (printed and written to bench/RESULTS.md) and the target checks. */
import { d1Markdown } from "./report-d1.mjs";
import { PAIRS } from "./scenarios.mjs";

export const BUNDLE_GZIP_TARGET_KB = 100;
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
function ratioTo(endpointRuns, floorRuns) {
  const endpoint = summarize(endpointRuns);
  const floor = summarize(floorRuns);
  return {
    summary: floor,
    ratio: endpoint.rps / floor.rps,
    roundRatios: endpointRuns.map((run, i) => run.rps / floorRuns[i].rps),
    cpuRatio: floor.cpuMsPerRequest / endpoint.cpuMsPerRequest,
  };
}

/**
 * Rows of the comparison: each endpoint with its floors. The judged floor (the one `target` applies
 * to) is `<floor>+limit` where it was measured (the service makes that per-IP limit() call), the plain
 * floor otherwise; the plain floor is always listed.
 */
export function compare(results, pairKeys) {
  return PAIRS.filter((p) => pairKeys.includes(p.key)).map((pair) => {
    const runs = results[pair.key];
    const floors = [];
    if (runs.limited) floors.push({ side: "limited", name: `${pair.reference}+limit`, ...ratioTo(runs.endpoint, runs.limited) });
    floors.push({ side: "reference", name: pair.reference, ...ratioTo(runs.endpoint, runs.reference) });
    floors[0].judged = true;
    const judged = floors[0];
    // A floor that answered nothing (all errors) gives no ratio: the target is not met.
    judged.met = pair.target === undefined ? undefined : Number.isFinite(judged.ratio) && judged.ratio >= pair.target;
    return { pair, endpoint: summarize(runs.endpoint), floors, judged };
  });
}

/** Every side measured in a row: the endpoint and each of its floors. */
export const sidesOfRow = (row) => [{ name: row.pair.endpoint, summary: row.endpoint }, ...row.floors.map((f) => ({ name: f.name, summary: f.summary }))];

/** The judged targets missed, one line each (the bundle's is added by the caller). */
export const missedTargets = (rows) =>
  rows.filter((r) => r.judged.met === false).map((r) => `${r.pair.endpoint} at ${r.judged.ratio.toFixed(3)} of ${r.judged.name} (target ${r.pair.target.toFixed(2)})`);

/** CPU of one local limit() call: the `+limit` floor's CPU per request minus the plain floor's. */
export const limitCallCpuMs = (row) => {
  const limited = row.floors.find((f) => f.side === "limited");
  const plain = row.floors.find((f) => f.side === "reference");
  return limited && plain ? limited.summary.cpuMsPerRequest - plain.summary.cpuMsPerRequest : undefined;
};

/** `**mean**` and the ratio of each round: the cell every ratio shares. */
const ratioCell = ({ ratio, roundRatios }, bold) => `${bold ? "**" : ""}${fmt(ratio, 3)}${bold ? "**" : ""} (${roundRatios.map((x) => fmt(x, 3)).join(", ")})`;
const targetCell = (target, met) => (target === undefined ? "reported" : `>= ${target.toFixed(2)} ${met ? "met" : "**MISSED**"}`);
const stats = (s) => `${fmt(s.rps, 0)} | ${fmt(s.p50, 2)} | ${fmt(s.p99, 2)} | ${s.errors} | ${fmt(s.cpuMsPerRequest, 2)}`;

export function table(rows) {
  const lines = [
    "| endpoint, then its floors | req/s | p50 ms | p99 ms | errors | worker CPU ms/req | endpoint req/s ÷ floor req/s (per round) | target | floor CPU ÷ endpoint CPU |",
    "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: |",
  ];
  for (const row of rows) {
    lines.push(`| ${row.pair.endpoint} | ${stats(row.endpoint)} | | | |`);
    for (const floor of row.floors) {
      const kind = !floor.judged ? "plain floor" : row.pair.target === undefined ? "floor" : "judged floor";
      const label = `${kind}: \`${floor.name}\``;
      const target = floor.judged ? targetCell(row.pair.target, floor.met) : "reported";
      lines.push(`| &nbsp;&nbsp;${label} | ${stats(floor.summary)} | ${ratioCell(floor, floor.judged)} | ${target} | ${fmt(floor.cpuRatio, 3)} |`);
    }
  }
  return lines.join("\n");
}

export function extrasTable(extras) {
  const { bundle, startup, login, proxy, limitCalls = [] } = extras;
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
  for (const { floor, cpuMs } of limitCalls) {
    lines.push(`| one local Rate Limiting \`limit()\` call: CPU per request of \`${floor}+limit\` minus \`${floor}\` | ${fmt(cpuMs, 2)} ms | |`);
  }
  if (proxy) {
    lines.push(`| \`hello\` through wrangler dev's own port (its ProxyWorker), for comparison | ${fmt(proxy.rps, 0)} req/s, p50 ${fmt(proxy.p50, 2)} ms, ${proxy.errors} errors (direct: ${fmt(proxy.directRps, 0)} req/s) | not measured through it: see Method |`);
  }
  return lines.join("\n");
}

export function resultsMarkdown({ meta, rows, extras, notes, meter }) {
  const throughput = rows.length
    ? `## Throughput and latency

Each endpoint against its **judged floor**, the reference worker doing the same platform work
(for \`/auth/me\` and \`/auth/refresh\` that includes the one per-IP Rate Limiting \`limit()\` call they
make: \`verify+limit\`, \`rotate+limit\`), and its **plain floor** (reported). Targets apply to the judged
floor; \`--strict\` fails on a missed one. The noise check measures two identical \`hello\` workers
against each other in the same rounds: how far its ratio strays from 1.000 is how far this run's
ratios can stray with no difference in the code.

${table(rows)}

`
    : "";
  return `# Benchmark results

Produced by \`npm run bench\` (bench/run.mjs); how it works and how to read it: bench/README.md.

- date: ${meta.date}
- machine: ${meta.cpu}, ${meta.cores} cores; Node ${meta.node}, workerd ${meta.workerd}, wrangler ${meta.wrangler}
- service: commit ${meta.commit}; user databases: ${meta.databases.join(", ")}
- load: ${meta.concurrency} virtual clients on keep-alive connections over loopback; ${meta.rounds} rounds${meta.freshWorkers ? ", each on freshly started workers" : ""}; in a round, each side of a pair gets ${meta.warmupS} s of warm-up, then ${meta.durationS} s measured in ${meta.slices} slices taking turns with the other sides (${meta.sliceWarmupS} s warm-up each; login: one window); the order of the pairs and of their sides rotates from round to round; mode ${meta.mode}; total ${meta.totalS} s
- other processes on the machine (not the client, not wrangler/workerd of this run) used ${fmt(meta.foreign.mean, 2)} cores on average during the measured windows (${fmt(meta.foreign.max, 2)} at most)
- "worker CPU ms/req": CPU time of the workerd process that runs the worker (its isolate plus local D1/KV/rate-limit simulators; not wrangler's proxy), divided by the requests completed in the window

${throughput}## Bundle, start-up, CPU per login

${extrasTable(extras)}

${meter ? d1Markdown(meter) : ""}${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n}`).join("\n")}\n` : ""}`;
}
