/**
 * What one D1 database holds and serves, from the D1 phase's measurements (bench/lib/meter.mjs).
 * Storage: bytes per active user in steady state against the 10 GB limit. Writes: one D1 database
 * runs one query at a time, so its primary serves 1000 / (ms per rotation statement) refreshes a
 * second, and an active user refreshes once per access-token TTL.
 */

/** The assumptions of the estimate; printed with every figure. */
export const ASSUMPTIONS = {
  /** D1's maximum database size (Workers Paid), in bytes: 10 GB, counted as 10^10. */
  databaseBytes: 10e9,
  /** Families stored per active user (two devices, each with its own live session). */
  familiesPerUser: 2,
  /** Logins per active user per day, each one `login` security event. */
  loginsPerDay: 2,
  /** How long security events are kept (src/housekeeping.ts, AUTH_EVENT_RETENTION_MS). */
  eventRetentionDays: 90,
  /** Access-token TTL: an active user refreshes once per TTL (wrangler.toml default). */
  accessTokenTtlSeconds: 900,
};

/**
 * The capacity figures, and the formula of each with the numbers in it. `meter` is runMeterPhase's
 * result. The write time is the rotation statement's D1 call as the worker sees it (median of the
 * means of ten blocks of the phase's sequential rotations); the in-batch execution time gives the
 * upper bound.
 */
export function capacityOf(meter, a = ASSUMPTIONS) {
  const writeMs = meter.perPath.refresh.d1WallMsBlockMedian;
  const batchMs = meter.replay?.msPerStatement;
  const refreshesPerSecond = 1000 / writeMs;
  const writes = {
    writeMs,
    refreshesPerSecond,
    activeUsers: refreshesPerSecond * a.accessTokenTtlSeconds,
    batchMs,
    refreshesPerSecondAtBatchMs: batchMs ? 1000 / batchMs : undefined,
    activeUsersAtBatchMs: batchMs ? (1000 / batchMs) * a.accessTokenTtlSeconds : undefined,
  };
  return { assumptions: a, storage: storageOf(meter.rowBytes, a), storageError: meter.rowBytes.error, writes, databases: meter.databases.length };
}

/** Steady-state bytes per active user and users per database; undefined when rows were not measured. */
function storageOf(row, a) {
  if (row.error) return undefined;
  const eventsPerUser = a.loginsPerDay * a.eventRetentionDays;
  const parts = { user: row.users.bytesPerRow, families: a.familiesPerUser * row.sessions.bytesPerRow, events: eventsPerUser * row.auth_events.bytesPerRow };
  const bytesPerUser = parts.user + parts.families + parts.events;
  return {
    bytesPerUser,
    parts,
    eventsPerUser,
    usersPerDatabase: a.databaseBytes / bytesPerUser,
    usersPerDatabaseWithoutEvents: a.databaseBytes / (parts.user + parts.families),
  };
}

const int = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "n/a");
const b = (x) => `${Number.isFinite(x) ? x.toFixed(0) : "n/a"} B`;

function storageLines({ storage: s, assumptions: a, storageError }) {
  if (!s) return [`- storage: not measured (${storageError})`];
  return [
    `- storage per active user = user row + ${a.familiesPerUser} x family row + ${s.eventsPerUser} x event row (${a.loginsPerDay} logins a day, events kept ${a.eventRetentionDays} days) = ${b(s.parts.user)} + ${a.familiesPerUser} x ${b(s.parts.families / a.familiesPerUser)} + ${s.eventsPerUser} x ${b(s.parts.events / s.eventsPerUser)} = ${b(s.bytesPerUser)}`,
    `- active users per 10 GB database = 10^10 B / ${b(s.bytesPerUser)} = **${int(s.usersPerDatabase)}** (security events are ${((s.parts.events / s.bytesPerUser) * 100).toFixed(0)}% of it; users and families alone: ${int(s.usersPerDatabaseWithoutEvents)})`,
  ];
}

/** The capacity lines, formula next to the numbers (plain text, also valid Markdown list items). */
export function capacityLines(c) {
  const { writes: w, assumptions: a } = c;
  const lines = [
    ...storageLines(c),
    `- refreshes per second per primary = 1000 / rotation statement ms = 1000 / ${w.writeMs.toFixed(3)} = **${int(w.refreshesPerSecond)}/s**; x ${a.accessTokenTtlSeconds} s (one refresh per access-token TTL) = **${int(w.activeUsers)} active users** per database`,
  ];
  if (w.batchMs) {
    lines.push(
      `- at the statement's execution time inside D1 (${w.batchMs.toFixed(3)} ms, replayed in one batch: no round trip, one commit): 1000 / ${w.batchMs.toFixed(3)} = ${int(w.refreshesPerSecondAtBatchMs)}/s, x ${a.accessTokenTtlSeconds} = ${int(w.activeUsersAtBatchMs)} active users (upper bound)`,
    );
  }
  lines.push(`- N databases (USER_DATABASES): every figure above x N; this run had ${c.databases}`);
  return lines;
}
