/** Security events in D1 (`auth_events`), plus the JSON log line each one also produces. */
import { sql, type SQL } from "drizzle-orm";
import type { EventStore, SecurityEvent } from "../types";
import type { Database, Databases } from "./databases";
import { guardStorage } from "../guard";
import { authEvents } from "./schema";

/** An INSERT to run in the batch of the change it records, so both commit together. */
export function insertEvent(db: Database, event: SecurityEvent, now: number) {
  return db.insert(authEvents).values({
    type: event.type,
    userId: event.userId ?? null,
    sessionId: event.sessionId ?? null,
    ip: event.ip ?? null,
    userAgent: event.userAgent?.slice(0, 256) ?? null,
    detail: event.detail ?? null,
    actorId: event.actorId ?? null,
    createdAt: now,
  });
}

/** Like {@link insertEvent}, but the row is written only if `condition` holds in the same statement (run with d1Statement). */
export function insertEventIf(event: SecurityEvent, now: number, condition: SQL): SQL {
  return sql`insert into ${authEvents} (type, user_id, session_id, ip, user_agent, detail, actor_id, created_at)
    select ${event.type}, ${event.userId ?? null}, ${event.sessionId ?? null}, ${event.ip ?? null},
      ${event.userAgent?.slice(0, 256) ?? null}, ${event.detail ?? null}, ${event.actorId ?? null}, ${now}
    where ${condition}`;
}

/** One JSON line per committed security event, for Workers Logs / Logpush. No email, token or hash. */
export function logEvent(event: SecurityEvent, now: number) {
  console.log(
    JSON.stringify({
      level: event.type === "reuse_detected" || event.type === "login_failed" ? "warn" : "info",
      event: `auth.${event.type}`,
      at: new Date(now).toISOString(),
      user_id: event.userId ?? undefined,
      session_id: event.sessionId ?? undefined,
      ip: event.ip ?? undefined,
      detail: event.detail ?? undefined,
      actor_id: event.actorId ?? undefined,
    }),
  );
}

export class D1EventStore implements EventStore {
  constructor(private readonly databases: Databases) {}

  async record(event: SecurityEvent, now: number, placementKey: string): Promise<void> {
    await guardStorage(() => insertEvent(this.databases.forKey(placementKey), event, now).run());
    logEvent(event, now);
  }
}
