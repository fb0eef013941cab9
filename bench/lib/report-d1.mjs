/** The D1 phase's tables (rows, bytes, timing), its contract checks and the capacity section. */
import { capacityLines, capacityOf } from "./capacity.mjs";

const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : "n/a");
const int = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "n/a");
const LABELS = { refresh: "POST /auth/refresh", login: "POST /auth/login", register: "POST /auth/register" };

/**
 * The issue's contract for a rotation, checked on every metered refresh: exactly one D1 statement
 * (so no read before it), one row changed, no page added. Deterministic, so a failure is an error.
 */
export function d1Violations(meter) {
  const r = meter.perPath.refresh;
  const out = [];
  const counts = Object.entries(r.statementsPerRequest).filter(([n]) => n !== "1");
  if (counts.length) out.push(`refreshes with other than one D1 statement: ${counts.map(([n, k]) => `${k} with ${n}`).join(", ")}`);
  if (r.changes !== 1) out.push(`a refresh changes ${fmt(r.changes, 2)} rows on average (one wanted)`);
  if (r.growth.bytes > 0) out.push(`${r.growth.bytes} bytes added to the database by ${r.requests} refreshes (none wanted)`);
  if (r.statuses["200"] !== r.requests) out.push(`refresh answers ${JSON.stringify(r.statuses)}`);
  if (meter.overlapped) out.push(`${meter.overlapped} metered requests overlapped (counts may be misattributed)`);
  if (meter.unattributed) out.push(`${meter.unattributed} D1 statements ran outside any request`);
  if (meter.replay?.error) out.push(`rotation replay: ${meter.replay.error}`);
  return out;
}

function bytesCell(key, meter) {
  const { growth } = meter.perPath[key];
  const row = meter.rowBytes;
  const measured = `${int(growth.bytes)} B added over these ${meter.perPath[key].requests}`;
  if (key === "refresh") return `**${fmt(growth.perRequest, 1)}** (${measured}; one ${meter.pageSize} B page is ${fmt(meter.pageSize / meter.perPath[key].requests, 1)} B each)`;
  if (row.error) return `${measured}, page-granular (bytes per row not measured)`;
  const login = row.sessions.bytesPerRow + row.auth_events.bytesPerRow;
  if (key === "login") return `**${fmt(login, 0)}** at scale: family row ${fmt(row.sessions.bytesPerRow, 0)} + login event ${fmt(row.auth_events.bytesPerRow, 0)} (${measured}, page-granular)`;
  return `**${fmt(row.users.bytesPerRow + login, 0)}** at scale: user row ${fmt(row.users.bytesPerRow, 0)} + family + event (${measured}, page-granular)`;
}

export function d1Table(meter) {
  const lines = [
    "| request (one at a time) | count | D1 statements per request | rows written per request (`meta.rows_written`) | rows read per request | rows changed per request | bytes added to the database per request | per database: statements / rows written |",
    "| --- | ---: | --- | ---: | ---: | ---: | --- | --- |",
  ];
  for (const key of ["refresh", "login", "register"]) {
    const p = meter.perPath[key];
    const histogram = Object.entries(p.statementsPerRequest).map(([n, k]) => `${n} in ${k}`).join(", ");
    const where = Object.entries(p.byDatabase).map(([d, x]) => `${d}: ${x.statements} / ${x.rowsWritten}`).join("; ");
    lines.push(`| ${LABELS[key]} | ${p.requests} | **${fmt(p.statements, 2)}** (${histogram}) | **${fmt(p.rowsWritten, 2)}** | ${fmt(p.rowsRead, 2)} | ${fmt(p.changes, 2)} | ${bytesCell(key, meter)} | ${where} |`);
  }
  return lines.join("\n");
}

export function d1TimingTable(meter) {
  const r = meter.perPath.refresh;
  const lines = [`| the rotation statement (other processes used ${fmt(meter.foreignCores, 2)} cores meanwhile) | ms |`, "| --- | ---: |"];
  lines.push(`| D1 call as the worker sees it: Date.now() around it over ${r.requests} sequential rotations, median of the means of 10 blocks (Date.now() counts whole ms in workerd: mean of all ${fmt(r.d1WallMsMean, 3)}, median ${fmt(r.d1WallMsMedian, 0)}) | **${fmt(r.d1WallMsBlockMedian, 3)}** |`);
  if (meter.replay && !meter.replay.error) {
    lines.push(`| inside D1: ${meter.replay.count} further rotations of the family replayed in one batch (no round trip per statement, one commit) | ${fmt(meter.replay.msPerStatement, 3)} |`);
  }
  lines.push(`| D1's own \`meta.timings.sql_duration_ms\`, mean (the local simulator's clock only moves on I/O, so it reads mostly 0) | ${fmt(r.sqlDurationMsMean, 3)} |`);
  lines.push(`| the whole \`POST /auth/refresh\` as the client sees it, one at a time (median; mean ${fmt(meter.rotationWallMs.mean, 2)}) | ${fmt(meter.rotationWallMs.median, 2)} |`);
  return lines.join("\n");
}

export function rowBytesTable(meter) {
  const r = meter.rowBytes;
  if (r.error) return `Bytes per row not measured: ${r.error}`;
  return [
    `| row (${int(r.copies)} copies of one the service wrote, fresh random keys, in ${r.database}) | bytes per row, indexes and page overhead included |`,
    "| --- | ---: |",
    `| \`users\` (one account) | ${fmt(r.users.bytesPerRow, 0)} |`,
    `| \`sessions\` (one family, after rotations: both hashes and the child's nonce set) | ${fmt(r.sessions.bytesPerRow, 0)} |`,
    `| \`auth_events\` (one \`login\` event, browser user agent) | ${fmt(r.auth_events.bytesPerRow, 0)} |`,
  ].join("\n");
}

/** The printed (console) form: tables and capacity lines. */
export function d1Console(meter) {
  const capacity = capacityLines(capacityOf(meter));
  return `D1 per request (${meter.databases.join(", ")}):\n${d1Table(meter)}\n\n${d1TimingTable(meter)}\n\n${rowBytesTable(meter)}\n\ncapacity:\n${capacity.join("\n")}`;
}

/** The RESULTS.md section. */
export function d1Markdown(meter) {
  const { plan } = meter;
  return `## D1: rows, bytes and time per request

A separate phase, after the throughput rounds: the service wrapped by \`bench/workers/meter\` (every
D1 binding in USER_DATABASES counted per request path from each statement's \`meta\`), on the local
D1 state the rounds left (${meter.databases.join(", ")}; every figure is a difference), driven one request at a time: ${plan.registrations} registrations, one login each, then
${int(plan.rotations)} rotations of one family with the token in the body. Bytes per row come from ${int(plan.copies)} copies of rows
the service wrote, each with fresh random keys (the database's growth from D1's \`meta.size_after\`).

${d1Table(meter)}

${d1TimingTable(meter)}

${rowBytesTable(meter)}

## Capacity of one D1 database

${capacityLines(capacityOf(meter)).join("\n")}
`;
}
