/** D1 queries on `auth_events`, plus the structured log line each security event also produces. */
import type { Database } from "./client";
import { authEvents, type AuthEventType } from "./schema";

export interface AuthEventInput {
  type: AuthEventType;
  userId?: string | null;
  sessionId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  /** Short machine-readable detail (e.g. a reason). Never a token, password or hash. */
  detail?: string | null;
}

/**
 * An INSERT to run inside the caller's batch, so the event commits with the change it records.
 * Call {@link logSecurityEvent} once the batch has committed.
 */
export function insertAuthEvent(db: Database, event: AuthEventInput, now = Date.now()) {
  return db.insert(authEvents).values({
    type: event.type,
    userId: event.userId ?? null,
    sessionId: event.sessionId ?? null,
    ip: event.ip ?? null,
    userAgent: event.userAgent?.slice(0, 256) ?? null,
    detail: event.detail ?? null,
    createdAt: now,
  });
}

/** One JSON line per security event, for Workers Logs / Logpush. */
export function logSecurityEvent(event: AuthEventInput, now = Date.now()) {
  console.log(
    JSON.stringify({
      level: event.type === "reuse_detected" || event.type === "login_failed" ? "warn" : "info",
      event: `auth.${event.type}`,
      at: new Date(now).toISOString(),
      user_id: event.userId ?? undefined,
      session_id: event.sessionId ?? undefined,
      ip: event.ip ?? undefined,
      detail: event.detail ?? undefined,
    }),
  );
}
