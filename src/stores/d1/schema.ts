/**
 * The D1 schema (Drizzle). Every table, column and index is described in docs/storage.md;
 * migrations in drizzle/ are generated from this file by `npm run db:generate`.
 * All timestamps are Unix epoch milliseconds.
 */
import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  /** Lower-cased and trimmed before it is stored or looked up. */
  email: text("email").notNull().unique(),
  /** PHC-style string, see src/passwords. */
  passwordHash: text("password_hash").notNull(),
  /**
   * DEPRECATED, no longer read or written (roles are in `user_roles`). Kept for one release so
   * that a rollback to the previous code still finds it; dropped together with the `role` claim.
   */
  legacyRole: text("role").notNull().default("user"),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
  disabledAt: integer("disabled_at"),
  /** When the user proved to own `email` (a verification, reset or email-change link); null: unverified. */
  emailVerifiedAt: integer("email_verified_at"),
});

/**
 * A user's roles, one row each (a user may hold several; at most 16, see src/roles). The access
 * token's `roles` claim, and through ROLE_PERMISSIONS its `scope`. The primary key (user_id, role)
 * is also the index by user: every read is by user id.
 */
export const userRoles = sqliteTable(
  "user_roles",
  {
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: text("role").notNull(),
    grantedAt: integer("granted_at").notNull(),
    /** Who granted it: an admin's user id, "admin-api-token", "migration" (copied from users.role), or null (at registration). */
    grantedBy: text("granted_by"),
  },
  (t) => [primaryKey({ columns: [t.userId, t.role] })],
);

/**
 * A refresh-token family (a session, one login on one device): one row whatever the number of
 * rotations. A rotation rewrites `generation`, `token_hash`, `previous_hash`, `child_nonce` and
 * `rotated_at` (and clears `sealed_token`) of this row in one conditional UPDATE. Its id is the access token's `sid`.
 */
export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    clientId: text("client_id").notNull().default("web"),
    createdAt: integer("created_at").notNull(),
    /** Absolute end of the family, whatever the refreshes. */
    expiresAt: integer("expires_at").notNull(),
    /** Generation of the current refresh token: 0 at login, +1 per rotation. */
    generation: integer("generation").notNull().default(0),
    /** SHA-256 of the current (unused) refresh token; null when the family has none. */
    tokenHash: text("token_hash"),
    /** SHA-256 of its parent, which may retry inside the grace window. */
    previousHash: text("previous_hash"),
    /** Only in families last rotated before children were derived (src/sessions/refresh-token.ts): the current token, sealed (AES-GCM) under a key derived from its parent token. The next rotation clears it. */
    sealedToken: text("sealed_token"),
    /** The random nonce the current token was derived with (from its parent), for a grace retry; null at generation 0. */
    childNonce: text("child_nonce"),
    /** When the current token was issued: the family's last use. */
    rotatedAt: integer("rotated_at").notNull().default(0),
    revokedAt: integer("revoked_at"),
    revokedReason: text("revoked_reason"),
    userAgent: text("user_agent"),
    ip: text("ip"),
  },
  (t) => [index("sessions_user_id_idx").on(t.userId), index("sessions_expires_at_idx").on(t.expiresAt)],
);

/**
 * Read-only since the one-row-per-family upgrade: refresh tokens issued before it, one row each,
 * kept so that those tokens rotate once more (and their replay is still recognised) until they
 * expire. Housekeeping empties it; a later migration drops it.
 */
export const legacyRefreshTokens = sqliteTable(
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
    accessJti: text("access_jti").notNull(),
    accessExpiresAt: integer("access_expires_at").notNull(),
  },
  (t) => [
    index("refresh_tokens_session_created_idx").on(t.sessionId, t.createdAt),
    index("refresh_tokens_expires_at_idx").on(t.expiresAt),
  ],
);

/** Security events only; routine refreshes go to Analytics Engine (src/telemetry.ts). */
export const securityEventTypes = [
  "register",
  "login",
  "login_failed",
  "reuse_detected",
  "logout",
  "logout_all",
  "session_revoked",
  "password_changed",
  "user_disabled",
  "user_enabled",
  "role_granted",
  "role_revoked",
  "email_verified",
  "password_reset_requested",
  "password_reset",
  "email_change_requested",
  "email_changed",
  "api_key_created",
  "api_key_revoked",
] as const;
export type SecurityEventType = (typeof securityEventTypes)[number];

/** Security audit trail. Never holds tokens, passwords or hashes. */
export const authEvents = sqliteTable(
  "auth_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    type: text("type", { enum: securityEventTypes }).notNull(),
    userId: text("user_id"),
    sessionId: text("session_id"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    detail: text("detail"),
    /** Who made the change, when it is not the user: an admin's user id or "admin-api-token". */
    actorId: text("actor_id"),
    createdAt: integer("created_at").notNull().default(sql`(unixepoch() * 1000)`),
  },
  (t) => [index("auth_events_created_at_idx").on(t.createdAt), index("auth_events_user_id_idx").on(t.userId)],
);

/** What an emailed link token may do: a token of one purpose is useless for the others. */
export const linkTokenPurposes = ["verify_email", "reset_password", "change_email"] as const;
export type LinkTokenPurpose = (typeof linkTokenPurposes)[number];

/**
 * Single-use tokens sent by email (verification, password reset, email change), stored as
 * SHA-256 of `purpose:token` only. A row lives in its user's database; the token was drawn so
 * that its hash lands there too. Consuming one is a DELETE ... RETURNING in the batch it authorises.
 */
export const emailTokens = sqliteTable(
  "email_tokens",
  {
    tokenHash: text("token_hash").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    purpose: text("purpose", { enum: linkTokenPurposes }).notNull(),
    /** The address being confirmed (change_email only). */
    newEmail: text("new_email"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [index("email_tokens_user_purpose_idx").on(t.userId, t.purpose), index("email_tokens_expires_at_idx").on(t.expiresAt)],
);

/**
 * With several databases only: an address held by a user who lives in another database (users
 * are placed by the email they registered with; a changed email keeps its user, and its `sub`,
 * where it was). The row sits in the database of the address, where registrations of that address
 * look, so its primary key keeps the address unique. It counts only while the user's `email` is
 * still this address (src/stores/d1/email-directory.ts).
 */
export const emailDirectory = sqliteTable("email_directory", {
  email: text("email").primaryKey(),
  userId: text("user_id").notNull(),
  /** When the address was last claimed: a claim younger than a few minutes may be a change in progress. */
  claimedAt: integer("claimed_at").notNull(),
});

/**
 * API keys (src/api-keys): long-lived credentials of machine clients, exchanged at the token endpoint
 * (client_credentials) for ordinary access tokens. Only a SHA-256 hash of the key is stored. A key
 * belongs to a user (`user_id`) or to a service account (`service_account`), never both. Its id is
 * the OAuth `client_id` and the `sid` of the tokens it gets; it is drawn so that the row lands in the
 * database of its owner (the user id, or `svc:<service account>`).
 */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").references(() => users.id, { onDelete: "cascade" }),
    /** The service account's name (keys that belong to no person, created through the admin API). */
    serviceAccount: text("service_account"),
    name: text("name").notNull(),
    /** The first characters of the key (`etsk_` and a few more), shown in lists to recognise it. */
    prefix: text("prefix").notNull(),
    /** SHA-256 (base64url) of the whole key: 256 random bits need no slow hash. */
    secretHash: text("secret_hash").notNull(),
    /** The permissions the key may use, space-separated (at most its owner's, checked again at each exchange). */
    scopes: text("scopes").notNull(),
    createdAt: integer("created_at").notNull(),
    /** Null: the key does not expire. */
    expiresAt: integer("expires_at"),
    /** The last exchange, at a one-hour grain (at most one write per key and hour). */
    lastUsedAt: integer("last_used_at"),
    revokedAt: integer("revoked_at"),
  },
  (t) => [
    index("api_keys_user_id_idx").on(t.userId),
    index("api_keys_service_account_idx").on(t.serviceAccount),
    check("api_keys_one_owner", sql`(${t.userId} is null) <> (${t.serviceAccount} is null)`),
  ],
);

/**
 * Passwords nobody may choose (ASVS v5 6.2.4), NFC, trimmed and lower-cased like the lookup.
 * Migration 0006 fills it with the 5,000 most common passwords of 8 or more characters from
 * @zxcvbn-ts/language-common (scripts/generate-common-passwords.mjs); operators may add their own
 * (the product's name, say: README, "Troubleshooting"). In D1 rather than in the script, where it
 * cost 12 KB of the 100 KB gzipped bundle; only a new password's check reads it.
 */
export const commonPasswords = sqliteTable("common_passwords", {
  password: text("password").primaryKey(),
});
