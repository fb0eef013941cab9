/**
 * What the services need from storage, as small interfaces: D1 and KV implement them
 * (src/stores/d1, src/stores/kv), in-memory fakes do in unit tests (src/stores/memory).
 * Stores persist and look up; every decision (liveness, TTLs, who may do what) is the services'.
 * Every store method fails with StorageUnavailableError when its storage does.
 */
import type { LinkTokenPurpose, SecurityEventType } from "./d1/schema";

export type { LinkTokenPurpose, SecurityEventType };

export interface UserRecord {
  id: string;
  email: string;
  passwordHash: string;
  createdAt: number;
  updatedAt: number;
  disabledAt: number | null;
  /** The user's roles (`user_roles`), in no particular order. */
  roles: string[];
  /** When the user proved to own `email`; null while unverified. */
  emailVerifiedAt: number | null;
}

/** What an access token says about its user, read together with the family on every rotation. */
export interface TokenSubject {
  userId: string;
  /** The user's roles now, in no particular order. */
  roles: string[];
  emailVerified: boolean;
}

/** One role of a user. */
export interface RoleGrant {
  role: string;
  grantedAt: number;
  /** An admin's user id, "admin-api-token", "migration", or null (given at registration). */
  grantedBy: string | null;
}

export interface NewFamily {
  id: string;
  userId: string;
  clientId: string;
  createdAt: number;
  expiresAt: number;
  /** SHA-256 of the family's first refresh token (generation 0). */
  tokenHash: string;
  userAgent: string | null;
  ip: string | null;
}

export interface FamilyRecord {
  id: string;
  userId: string;
  clientId: string;
  createdAt: number;
  expiresAt: number;
  generation: number;
  tokenHash: string | null;
  previousHash: string | null;
  /** Only families last rotated before children were derived: the current token, sealed under its parent. */
  sealedToken: string | null;
  /** The nonce the current token was derived with from its parent; null at generation 0. */
  childNonce: string | null;
  rotatedAt: number;
  revokedAt: number | null;
  userAgent: string | null;
}

/** A family with what deciding about it needs: its user's state. */
export interface FamilyState extends FamilyRecord {
  userDisabledAt: number | null;
  subject: TokenSubject;
}

/**
 * The one definition of a live family, as bounds (src/sessions/liveness.ts computes them): not
 * revoked, `expiresAt > now`, `rotatedAt > lastUsedAfter`, and its user not disabled.
 */
export interface LivenessBounds {
  now: number;
  lastUsedAfter: number;
}

export interface Rotation {
  familyId: string;
  /** The presented token's generation and hash: the family's current ones, or nothing happens. */
  generation: number;
  presentedHash: string;
  childHash: string;
  /** Random, new at each rotation: the child is derived from the parent with it. */
  childNonce: string;
  live: LivenessBounds;
  /** When given, the family must belong to this client (RFC 6749 section 6). */
  clientId?: string;
}

export interface SecurityEvent {
  type: SecurityEventType;
  userId?: string | null;
  sessionId?: string | null;
  ip?: string | null;
  userAgent?: string | null;
  /** Short machine-readable detail (e.g. a reason, a role). Never a token, password, hash or email. */
  detail?: string | null;
  /** Who made the change when it is not the user: an admin's user id or "admin-api-token". */
  actorId?: string | null;
}

export type FamilyScope = { familyId: string; userId?: string } | { userId: string; exceptFamilyId?: string };

export interface FamilyStore {
  /**
   * The rotation: one conditional statement that advances the family to the child only if the
   * presented token is its current one and the family is live. Undefined when nothing changed.
   */
  rotate(rotation: Rotation): Promise<{ subject: TokenSubject; clientId: string; expiresAt: number } | undefined>;
  find(familyId: string): Promise<FamilyState | undefined>;
  /** The family of a refresh token issued before the upgrade (stored one row per token). */
  findLegacyToken(tokenHash: string): Promise<{ familyId: string } | undefined>;
  /** Revokes the unrevoked families in scope and, if there were any, records the event, atomically; returns their ids. */
  revoke(scope: FamilyScope, reason: string, event: SecurityEvent, now: number): Promise<string[]>;
  listLive(userId: string, live: LivenessBounds): Promise<FamilyRecord[]>;
}

export interface UserStore {
  findByEmail(email: string): Promise<UserRecord | undefined>;
  findById(id: string): Promise<UserRecord | undefined>;
  /** Creates the user with its roles (and its first family, unless none is given) and the event, atomically. */
  register(user: UserRecord, family: NewFamily | undefined, event: SecurityEvent): Promise<"created" | "email_taken">;
  /**
   * Starts a family (and stores `rehash`, if given) only if the user still has `verifiedHash` and
   * is not disabled, checked in the same statements: a password change or a disable that commits
   * after the password was verified wins. False when nothing was written.
   */
  startFamily(input: { family: NewFamily; verifiedHash: string; rehash?: string; event: SecurityEvent }): Promise<boolean>;
  /**
   * Stores the new hash, revokes every other family of the user and voids its reset and email-change
   * links, atomically, and only if the user still has `verifiedHash`, is not disabled and
   * `keepFamilyId` is not revoked: a reset, another change or a disable that commits after the
   * password was verified wins. False when nothing was written.
   */
  changePassword(input: { userId: string; verifiedHash: string; passwordHash: string; keepFamilyId: string; event: SecurityEvent; now: number }): Promise<boolean>;
  /** Disables (revoking every family) or re-enables a user, with the event; false for an unknown user. */
  setDisabled(input: { userId: string; disabled: boolean; event: SecurityEvent; now: number }): Promise<boolean>;
}

/** The roles of users (`user_roles`); each change commits with its event. */
export interface RoleStore {
  /** The user's roles, oldest grant first; undefined for an unknown user. */
  list(userId: string): Promise<RoleGrant[] | undefined>;
  /**
   * Grants the role, with the event, only if the user exists, does not hold it yet and holds fewer
   * than `maxRoles`, checked in the same statement. False when nothing was written.
   */
  grant(input: { userId: string; grant: RoleGrant; maxRoles: number; event: SecurityEvent }): Promise<boolean>;
  /** Takes the role away, with the event; false when the user did not hold it. */
  revoke(input: { userId: string; role: string; event: SecurityEvent; now: number }): Promise<boolean>;
}

/** Who an API key acts for: a user, or a service account (a machine principal that is no person). */
export type ApiKeyOwner = { userId: string } | { serviceAccount: string };

/** An API key as stored: never the key, only its hash. Times in epoch ms. */
export interface ApiKeyRecord {
  id: string;
  userId: string | null;
  serviceAccount: string | null;
  name: string;
  /** The first characters of the key, for lists. */
  prefix: string;
  secretHash: string;
  /** The permissions the key may use, sorted. */
  scopes: string[];
  createdAt: number;
  expiresAt: number | null;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

/** A key with what deciding about it needs: its user's state now (null for a service account's key). */
export interface ApiKeyState extends ApiKeyRecord {
  user: { disabledAt: number | null; roles: string[]; emailVerified: boolean } | null;
}

/**
 * API keys (`api_keys`). Stores persist and look up; whether a key may be used is the service's
 * decision (src/api-keys/usable.ts), which the SQL of the last-used update mirrors.
 */
export interface ApiKeyStore {
  /**
   * Stores the key with its event only if its owner has fewer than `maxLive` usable keys and, for a
   * user, exists, is not disabled and (with `ownerSessionId`) still has that session unrevoked,
   * checked in the same statement: a reset or a disable that commits meanwhile wins.
   */
  create(input: { key: ApiKeyRecord; maxLive: number; event: SecurityEvent; ownerSessionId?: string }): Promise<"created" | "owner_gone" | "too_many">;
  find(id: string): Promise<ApiKeyState | undefined>;
  /**
   * Sets `last_used_at = now` if `secretHash` is the key's hash, the key is usable at `now` and it
   * was last used before `usedBefore` (or never): one conditional UPDATE, so concurrent exchanges
   * write the row once. True when a row was written.
   */
  touch(input: { id: string; secretHash: string; now: number; usedBefore: number }): Promise<boolean>;
  /** The owner's keys that are not revoked (expired ones too), newest first. */
  list(owner: ApiKeyOwner): Promise<ApiKeyRecord[]>;
  /**
   * Revokes the owner's unrevoked keys among `ids`, with one event each (`detail` = the key id), in
   * one batch; returns the ids it revoked.
   */
  revoke(input: { owner: ApiKeyOwner; ids: readonly string[]; now: number; event: Omit<SecurityEvent, "detail"> }): Promise<string[]>;
}

/** A link token as stored: its hash only (SHA-256 of `purpose:token`). */
export interface LinkTokenRecord {
  tokenHash: string;
  userId: string;
  purpose: LinkTokenPurpose;
  /** The address an email change confirms. */
  newEmail: string | null;
  createdAt: number;
  expiresAt: number;
}

/** What consuming a link token authorises, applied in the same batch as the consumption. */
interface Consumption {
  userId: string;
  tokenHash: string;
  now: number;
  event: SecurityEvent;
}

/**
 * Single-use links sent by email. Each consuming method deletes the token (if it is still there
 * and unexpired) in one batch with the change it authorises, and returns false when the token was
 * gone: the change is then not applied. Under concurrent use exactly one caller gets true.
 */
export interface LinkTokenStore {
  /**
   * Stores the token and deletes the user's older ones of the same purpose (and records the event),
   * atomically; with `onlyIf`, only if the user still has that password hash, is not disabled and
   * that family is not revoked (a link asked for with the current password). False when nothing was written.
   */
  issue(token: LinkTokenRecord, event?: SecurityEvent, onlyIf?: { verifiedHash: string; familyId: string }): Promise<boolean>;
  /** The unexpired token with this hash and purpose. */
  find(tokenHash: string, purpose: LinkTokenPurpose, now: number): Promise<LinkTokenRecord | undefined>;
  /** Deletes one token (a link that could not be sent). */
  discard(tokenHash: string, userId: string): Promise<void>;
  /** Marks the user's email verified. */
  verifyEmail(input: Consumption): Promise<boolean>;
  /** Stores the new password hash, marks the email verified, revokes every family and API key of the user and voids its other links. */
  resetPassword(input: Consumption & { passwordHash: string }): Promise<boolean>;
  /**
   * Moves the user to `newEmail` (verified) and voids every link of the user. `email_taken` when
   * another user holds the address by then; the token is kept.
   */
  changeEmail(input: Consumption & { oldEmail: string; newEmail: string }): Promise<"changed" | "email_taken" | "token_gone">;
}

/** One account email: a plain-text body and an HTML body, nothing else (no tracking). */
export interface EmailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Sends account emails (Cloudflare Email Service). Fails with EmailUnavailableError. */
export interface EmailSender {
  send(message: EmailMessage): Promise<void>;
}

export interface EventStore {
  /** Records an event on its own (those that go with a change are recorded by that change). */
  record(event: SecurityEvent, now: number, placementKey: string): Promise<void>;
}

/** Access tokens of the user issued before `beforeSeconds` are refused, except those of family `except`. */
export interface UserCutoff {
  beforeSeconds: number;
  exceptFamilyId?: string;
}

/** Per-family and per-user revocation entries, in KV. TTLs are the caller's decision. */
export interface RevocationStore {
  revokeAccessToken(jti: string, ttlSeconds: number): Promise<void>;
  revokeFamily(familyId: string, ttlSeconds: number): Promise<void>;
  setUserCutoff(userId: string, cutoff: UserCutoff, ttlSeconds: number): Promise<void>;
  /**
   * One bulk read of the entries that can refuse an access token. A user has up to two cutoffs, kept
   * apart so that neither replaces the other: one for every session, one for all but one family.
   */
  lookup(token: { jti: string; sid: string; sub: string }): Promise<{ jtiRevoked: boolean; familyRevoked: boolean; userCutoffs: UserCutoff[] }>;
}

export interface LockoutStore {
  isLocked(key: string): Promise<boolean>;
  lock(key: string, ttlSeconds: number): Promise<void>;
}

/** The passwords nobody may choose, in the form `commonPasswordForm` gives (src/passwords/common.ts). */
export interface CommonPasswordStore {
  includes(password: string): Promise<boolean>;
}

/** A rate limiter (Workers Rate Limiting binding); true when `key` is within its limit. */
export interface Limiter {
  allows(key: string): Promise<boolean>;
}

export interface HousekeepingStore {
  /** Deletes families and API keys that ended before `endedBefore` (revoked, expired or idle), expired legacy tokens and email links, and old events. */
  deleteEnded(input: {
    now: number;
    endedBefore: number;
    idleBefore: number;
    eventsBefore: number;
  }): Promise<{ families: number; legacyTokens: number; events: number; linkTokens: number; apiKeys: number }>;
}

/** What one refresh did, for the telemetry dataset (never a token, hash or email). */
export interface RefreshDataPoint {
  outcome: "rotated" | "grace_retry" | "reuse_detected" | "refused";
  userId?: string;
  familyId?: string;
  clientId?: string;
  generation?: number;
  ip: string | null;
  userAgent: string | null;
}

/** Per-refresh telemetry (Workers Analytics Engine): written without waiting, never fails a request. */
export interface RefreshTelemetry {
  record(point: RefreshDataPoint): void;
}
