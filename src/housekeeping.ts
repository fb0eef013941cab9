/**
 * The Cron Trigger's job: delete what can never be used again. Live families and their tokens are
 * never touched. Used tokens of live families are kept until they expire: they are what lets a
 * replayed ancestor be recognised as reuse.
 */
import { and, isNotNull, lt, or, sql } from "drizzle-orm";
import type { Database } from "./db/client";
import { authEvents, refreshTokens, sessions } from "./db/schema";
import { lastUsedAtOf } from "./db/sessions";
import { guardStorage } from "./storage";

/** Ended families are kept this long for the audit trail and for "session revoked" answers. */
export const ENDED_SESSION_RETENTION_MS = 7 * 24 * 3600 * 1000;
export const AUTH_EVENT_RETENTION_MS = 90 * 24 * 3600 * 1000;

export interface HousekeepingReport {
  refreshTokens: number;
  sessions: number;
  authEvents: number;
}

export async function runHousekeeping(db: Database, idleTimeoutMs: number, now = Date.now()): Promise<HousekeepingReport> {
  const endedBefore = now - ENDED_SESSION_RETENTION_MS;
  const endedSessions = or(
    and(isNotNull(sessions.revokedAt), lt(sessions.revokedAt, endedBefore)),
    lt(sessions.expiresAt, endedBefore),
    lt(lastUsedAtOf(sessions.id), endedBefore - idleTimeoutMs),
  );
  const [tokensOfEnded, expiredTokens, ended, events] = await guardStorage(() =>
    db.batch([
      db
        .delete(refreshTokens)
        .where(sql`${refreshTokens.sessionId} in (select ${sessions.id} from ${sessions} where ${endedSessions})`)
        .returning({ id: refreshTokens.id }),
      db.delete(refreshTokens).where(lt(refreshTokens.expiresAt, now)).returning({ id: refreshTokens.id }),
      db.delete(sessions).where(endedSessions).returning({ id: sessions.id }),
      db.delete(authEvents).where(lt(authEvents.createdAt, now - AUTH_EVENT_RETENTION_MS)).returning({ id: authEvents.id }),
    ]),
  );
  const report = { refreshTokens: tokensOfEnded.length + expiredTokens.length, sessions: ended.length, authEvents: events.length };
  console.log(JSON.stringify({ level: "info", event: "housekeeping", ...report }));
  return report;
}
