/**
 * The Cron Trigger's job: delete what can never be used again, in every database. Live families are
 * never touched; ended ones are kept a week for the audit trail and for "session revoked" answers.
 */
import type { Config } from "./config";
import { livenessBounds } from "./sessions/liveness";
import type { HousekeepingStore } from "./stores/types";

export const ENDED_SESSION_RETENTION_MS = 7 * 24 * 3600 * 1000;
export const AUTH_EVENT_RETENTION_MS = 90 * 24 * 3600 * 1000;

export async function runHousekeeping(store: HousekeepingStore, config: Config, now = Date.now()) {
  const endedBefore = now - ENDED_SESSION_RETENTION_MS;
  // A family idle for longer than the liveness bound ended then: keep it the same week.
  const idleBefore = livenessBounds(config, endedBefore).lastUsedAfter;
  const report = await store.deleteEnded({ now, endedBefore, idleBefore, eventsBefore: now - AUTH_EVENT_RETENTION_MS });
  console.log(JSON.stringify({ level: "info", event: "housekeeping", ...report }));
  return report;
}
