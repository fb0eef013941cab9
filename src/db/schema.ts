import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** All timestamps are Unix epoch milliseconds. */

export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  /** Lower-cased and trimmed before it is stored or looked up. */
  email: text("email").notNull().unique(),
  /** PHC-style string, see src/passwords. */
  passwordHash: text("password_hash").notNull(),
  role: text("role").notNull().default("user"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  disabledAt: integer("disabled_at"),
});

/** A refresh-token family: one login on one device. Its id is the access token's `sid`. */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: integer("created_at").notNull(),
    // No last_used_at column: a family was last used when its newest refresh token was created
    // (see lastUsedAtOf in src/db/sessions.ts), so a rotation never has to update this row.
    /** Absolute end of the family, whatever the refreshes. */
    expiresAt: integer("expires_at").notNull(),
    revokedAt: integer("revoked_at"),
    revokedReason: text("revoked_reason"),
    userAgent: text("user_agent"),
    ip: text("ip"),
  },
  (t) => [index("sessions_user_id_idx").on(t.userId), index("sessions_expires_at_idx").on(t.expiresAt)],
);

/**
 * One row per refresh token ever issued in a family. Only the SHA-256 of the token is stored.
 * When a token is consumed, its single child is sealed (AES-GCM) under a key derived from the
 * parent token itself, so an idempotent retry within the grace window can be answered with the
 * same child without the server ever holding a usable token.
 */
export const refreshTokens = sqliteTable(
  "refresh_tokens",
  {
    id: text("id").primaryKey(),
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull().unique(),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    usedAt: integer("used_at"),
    childId: text("child_id"),
    sealedChild: text("sealed_child"),
    /** The access token issued together with this refresh token: what to deny-list on revocation. */
    accessJti: text("access_jti").notNull(),
    accessExpiresAt: integer("access_expires_at").notNull(),
  },
  (t) => [
    index("refresh_tokens_session_created_idx").on(t.sessionId, t.createdAt),
    index("refresh_tokens_expires_at_idx").on(t.expiresAt),
  ],
);

export const authEventTypes = [
  "register",
  "login",
  "login_failed",
  "refresh",
  "reuse_detected",
  "logout",
  "logout_all",
  "session_revoked",
  "password_changed",
  "user_disabled",
  "user_enabled",
] as const;
export type AuthEventType = (typeof authEventTypes)[number];

/** Security audit trail. Never holds tokens, passwords or hashes. */
export const authEvents = sqliteTable(
  "auth_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    type: text("type", { enum: authEventTypes }).notNull(),
    userId: text("user_id"),
    sessionId: text("session_id"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    detail: text("detail"),
    createdAt: integer("created_at").notNull().default(sql`(unixepoch() * 1000)`),
  },
  (t) => [index("auth_events_created_at_idx").on(t.createdAt), index("auth_events_user_id_idx").on(t.userId)],
);

export type User = typeof users.$inferSelect;
export type Session = typeof sessions.$inferSelect;
