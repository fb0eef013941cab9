/**
 * In-memory stores with the same contract as the D1 and KV ones, for unit tests of the services
 * (beside their code) with an injected clock. Each applies, atomically, what its D1 counterpart
 * does in one statement or batch; the liveness rule is the services' own `isLive`, which
 * src/stores/d1/liveness.test.ts checks against the SQL. Test code only: never imported by src/.
 */
import { isUsable } from "../src/api-keys/usable";
import { EmailUnavailableError } from "../src/domain-errors";
import { isLive } from "../src/sessions/liveness";
import type {
  ApiKeyOwner,
  ApiKeyRecord,
  ApiKeyState,
  ApiKeyStore,
  EmailMessage,
  EmailSender,
  EventStore,
  FamilyRecord,
  FamilyScope,
  FamilyStore,
  HousekeepingStore,
  Limiter,
  LinkTokenPurpose,
  LinkTokenRecord,
  LinkTokenStore,
  LivenessBounds,
  LockoutStore,
  NewFamily,
  RefreshDataPoint,
  RefreshTelemetry,
  RevocationStore,
  RoleGrant,
  RoleStore,
  Rotation,
  SecurityEvent,
  UserCutoff,
  UserRecord,
  UserStore,
} from "../src/stores/types";

interface StoredFamily extends FamilyRecord {
  revokedReason: string | null;
  ip: string | null;
}

/** Everything the memory stores hold, open for tests to look into (and tamper with). */
export class MemoryStorage {
  /** Users without their roles, which are in `roles`. */
  readonly users = new Map<string, Omit<UserRecord, "roles">>();
  /** User id -> its role grants, oldest first. */
  readonly roles = new Map<string, RoleGrant[]>();
  readonly families = new Map<string, StoredFamily>();
  readonly events: (SecurityEvent & { at: number })[] = [];
  /** Hash of a pre-upgrade refresh token -> its family. */
  readonly legacyTokens = new Map<string, string>();
  readonly kv = new Map<string, { value: string; expiresAt: number }>();
  kvWrites = 0;
  readonly telemetry: RefreshDataPoint[] = [];
  readonly linkTokens = new Map<string, LinkTokenRecord>();
  /** What the memory email sender accepted, in order. */
  readonly outbox: EmailMessage[] = [];
  readonly apiKeys = new Map<string, ApiKeyRecord>();
  /** Rows the API-key store wrote, as D1 counts `rows_written` (the last-used update included). */
  apiKeyWrites = 0;

  constructor(readonly now: () => number) {}

  /** A stored user with its roles, as a fresh copy (D1 returns fresh rows too). */
  userWithRoles(id: string): UserRecord | undefined {
    const user = this.users.get(id);
    return user && { ...user, roles: (this.roles.get(id) ?? []).map((grant) => grant.role) };
  }

  kvGet(key: string): string | null {
    const entry = this.kv.get(key);
    return entry && entry.expiresAt > this.now() ? entry.value : null;
  }

  kvPut(key: string, value: string, ttlSeconds: number) {
    this.kvWrites++;
    this.kv.set(key, { value, expiresAt: this.now() + Math.max(60, ttlSeconds) * 1000 });
  }
}

function familyRow(family: NewFamily): StoredFamily {
  return { ...family, generation: 0, previousHash: null, sealedToken: null, rotatedAt: family.createdAt, revokedAt: null, revokedReason: null };
}

function revokeInScope(storage: MemoryStorage, scope: FamilyScope, reason: string, now: number): string[] {
  const revoked: string[] = [];
  for (const family of storage.families.values()) {
    const inScope =
      "familyId" in scope
        ? family.id === scope.familyId && (!scope.userId || family.userId === scope.userId)
        : family.userId === scope.userId && family.id !== scope.exceptFamilyId;
    if (!inScope || family.revokedAt !== null) continue;
    Object.assign(family, { revokedAt: now, revokedReason: reason, tokenHash: null, previousHash: null, sealedToken: null });
    revoked.push(family.id);
  }
  return revoked;
}

export class MemoryUserStore implements UserStore {
  constructor(private readonly storage: MemoryStorage) {}

  // Copies, as D1 returns fresh rows: a later change must not show through a record already read.
  async findByEmail(email: string) {
    const normalized = email.trim().toLowerCase();
    const user = [...this.storage.users.values()].find((candidate) => candidate.email === normalized);
    return user && this.storage.userWithRoles(user.id);
  }

  async findById(id: string) {
    return this.storage.userWithRoles(id);
  }

  async register(user: UserRecord, family: NewFamily | undefined, event: SecurityEvent) {
    if (await this.findByEmail(user.email)) return "email_taken" as const;
    const { roles, ...columns } = user;
    this.storage.users.set(user.id, columns);
    this.storage.roles.set(user.id, roles.map((role) => ({ role, grantedAt: user.createdAt, grantedBy: null })));
    if (family) this.storage.families.set(family.id, familyRow(family));
    this.storage.events.push({ ...event, at: user.createdAt });
    return "created" as const;
  }

  async startFamily({ family, verifiedHash, rehash, event }: { family: NewFamily; verifiedHash: string; rehash?: string; event: SecurityEvent }) {
    const user = this.storage.users.get(family.userId);
    if (!user || user.passwordHash !== verifiedHash || user.disabledAt !== null) return false;
    this.storage.families.set(family.id, familyRow(family));
    this.storage.events.push({ ...event, at: family.createdAt });
    if (rehash) Object.assign(user, { passwordHash: rehash, updatedAt: family.createdAt });
    return true;
  }

  async changePassword({ userId, passwordHash, keepFamilyId, event, now }: { userId: string; passwordHash: string; keepFamilyId: string; event: SecurityEvent; now: number }) {
    const user = this.storage.users.get(userId);
    if (user) Object.assign(user, { passwordHash, updatedAt: now });
    revokeInScope(this.storage, { userId, exceptFamilyId: keepFamilyId }, "password_changed", now);
    deleteLinks(this.storage, (t) => t.userId === userId && (t.purpose === "reset_password" || t.purpose === "change_email"));
    this.storage.events.push({ ...event, at: now });
  }

  async setDisabled({ userId, disabled, event, now }: { userId: string; disabled: boolean; event: SecurityEvent; now: number }) {
    const user = this.storage.users.get(userId);
    if (!user) return false;
    Object.assign(user, { disabledAt: disabled ? now : null, updatedAt: now });
    if (disabled) revokeInScope(this.storage, { userId }, "user_disabled", now);
    this.storage.events.push({ ...event, at: now });
    return true;
  }
}

export class MemoryFamilyStore implements FamilyStore {
  constructor(private readonly storage: MemoryStorage) {}

  private stateOf(family: StoredFamily) {
    const user = this.storage.userWithRoles(family.userId);
    return {
      userDisabledAt: user?.disabledAt ?? null,
      subject: { userId: family.userId, roles: user?.roles ?? [], emailVerified: (user?.emailVerifiedAt ?? null) !== null },
    };
  }

  async rotate({ familyId, generation, presentedHash, childHash, sealedChild, live, clientId }: Rotation) {
    const family = this.storage.families.get(familyId);
    if (!family || family.generation !== generation || family.tokenHash !== presentedHash) return undefined;
    if (clientId !== undefined && family.clientId !== clientId) return undefined;
    const state = this.stateOf(family);
    if (!isLive({ ...family, userDisabledAt: state.userDisabledAt }, live)) return undefined;
    Object.assign(family, { generation: generation + 1, previousHash: family.tokenHash, tokenHash: childHash, sealedToken: sealedChild, rotatedAt: live.now });
    return { subject: state.subject, clientId: family.clientId, expiresAt: family.expiresAt };
  }

  async find(familyId: string) {
    const family = this.storage.families.get(familyId);
    return family && { ...family, ...this.stateOf(family) };
  }

  async findLegacyToken(tokenHash: string) {
    const familyId = this.storage.legacyTokens.get(tokenHash);
    return familyId === undefined ? undefined : { familyId };
  }

  async revoke(scope: FamilyScope, reason: string, event: SecurityEvent, now: number) {
    const revoked = revokeInScope(this.storage, scope, reason, now);
    this.storage.events.push({ ...event, at: now });
    return revoked;
  }

  async listLive(userId: string, live: LivenessBounds) {
    return [...this.storage.families.values()]
      .filter((family) => family.userId === userId && isLive({ ...family, userDisabledAt: this.stateOf(family).userDisabledAt }, live))
      .sort((a, b) => b.rotatedAt - a.rotatedAt);
  }
}

export class MemoryRevocationStore implements RevocationStore {
  constructor(private readonly storage: MemoryStorage) {}

  async revokeAccessToken(jti: string, ttlSeconds: number) {
    this.storage.kvPut(`revoked-jti:${jti}`, "1", ttlSeconds);
  }

  async revokeFamily(familyId: string, ttlSeconds: number) {
    this.storage.kvPut(`revoked-sid:${familyId}`, "1", ttlSeconds);
  }

  async setUserCutoff(userId: string, cutoff: UserCutoff, ttlSeconds: number) {
    this.storage.kvPut(`user-cutoff:${userId}`, JSON.stringify(cutoff), ttlSeconds);
  }

  async lookup(token: { jti: string; sid: string; sub: string }) {
    const cutoff = this.storage.kvGet(`user-cutoff:${token.sub}`);
    return {
      jtiRevoked: this.storage.kvGet(`revoked-jti:${token.jti}`) !== null,
      familyRevoked: this.storage.kvGet(`revoked-sid:${token.sid}`) !== null,
      userCutoff: cutoff === null ? null : (JSON.parse(cutoff) as UserCutoff),
    };
  }
}

export class MemoryRoleStore implements RoleStore {
  constructor(private readonly storage: MemoryStorage) {}

  async list(userId: string) {
    if (!this.storage.users.has(userId)) return undefined;
    return (this.storage.roles.get(userId) ?? []).map((grant) => ({ ...grant }));
  }

  async grant({ userId, grant, maxRoles, event }: { userId: string; grant: RoleGrant; maxRoles: number; event: SecurityEvent }) {
    const held = this.storage.roles.get(userId) ?? [];
    if (!this.storage.users.has(userId) || held.some((g) => g.role === grant.role) || held.length >= maxRoles) return false;
    this.storage.roles.set(userId, [...held, { ...grant }]);
    this.storage.events.push({ ...event, at: grant.grantedAt });
    return true;
  }

  async revoke({ userId, role, event, now }: { userId: string; role: string; event: SecurityEvent; now: number }) {
    const held = this.storage.roles.get(userId) ?? [];
    if (!held.some((g) => g.role === role)) return false;
    this.storage.roles.set(userId, held.filter((g) => g.role !== role));
    this.storage.events.push({ ...event, at: now });
    return true;
  }
}

export const memoryEventStore = (storage: MemoryStorage): EventStore => ({
  async record(event, now) {
    storage.events.push({ ...event, at: now });
  },
});

export const memoryLockoutStore = (storage: MemoryStorage): LockoutStore => ({
  async isLocked(key) {
    return storage.kvGet(`login-lock:${key}`) !== null;
  },
  async lock(key, ttlSeconds) {
    storage.kvPut(`login-lock:${key}`, "1", ttlSeconds);
  },
});

export const memoryTelemetry = (storage: MemoryStorage): RefreshTelemetry => ({
  record(point) {
    storage.telemetry.push(point);
  },
});

/** A fixed-window limiter: `limit` counts per key per `windowMs` of the storage's clock. */
export function memoryLimiter(storage: MemoryStorage, limit = Infinity, windowMs = 60_000): Limiter {
  const windows = new Map<string, { start: number; count: number }>();
  return {
    async allows(key) {
      const now = storage.now();
      const window = windows.get(key);
      if (!window || now - window.start >= windowMs) {
        windows.set(key, { start: now, count: 1 });
        return limit >= 1;
      }
      return ++window.count <= limit;
    },
  };
}

export const memoryHousekeeping = (storage: MemoryStorage): HousekeepingStore => ({
  async deleteEnded({ endedBefore, idleBefore, eventsBefore }) {
    let families = 0;
    for (const [id, family] of storage.families) {
      if ((family.revokedAt !== null && family.revokedAt < endedBefore) || family.expiresAt < endedBefore || family.rotatedAt < idleBefore) {
        storage.families.delete(id);
        families++;
      }
    }
    const before = storage.events.length;
    storage.events.splice(0, storage.events.length, ...storage.events.filter((event) => event.at >= eventsBefore));
    let linkTokens = 0;
    for (const [hash, token] of storage.linkTokens) if (token.expiresAt < storage.now()) linkTokens += Number(storage.linkTokens.delete(hash));
    let apiKeys = 0;
    for (const [id, key] of storage.apiKeys) {
      const ended = (key.revokedAt !== null && key.revokedAt < endedBefore) || (key.expiresAt !== null && key.expiresAt < endedBefore);
      if (ended) apiKeys += Number(storage.apiKeys.delete(id));
    }
    return { families, legacyTokens: 0, events: before - storage.events.length, linkTokens, apiKeys };
  },
});

function deleteLinks(storage: MemoryStorage, which: (token: LinkTokenRecord) => boolean) {
  for (const [hash, token] of storage.linkTokens) if (which(token)) storage.linkTokens.delete(hash);
}

/** Email links: each consuming method applies its change only if the token is still there, like the D1 batch. */
export class MemoryLinkTokenStore implements LinkTokenStore {
  constructor(private readonly storage: MemoryStorage) {}

  async issue(token: LinkTokenRecord, event?: SecurityEvent) {
    deleteLinks(this.storage, (t) => t.userId === token.userId && t.purpose === token.purpose);
    this.storage.linkTokens.set(token.tokenHash, { ...token });
    if (event) this.storage.events.push({ ...event, at: token.createdAt });
  }

  async find(tokenHash: string, purpose: LinkTokenPurpose, now: number) {
    const token = this.storage.linkTokens.get(tokenHash);
    return token && token.purpose === purpose && token.expiresAt > now ? { ...token } : undefined;
  }

  async discard(tokenHash: string) {
    this.storage.linkTokens.delete(tokenHash);
  }

  /** Deletes the token if it is still valid; true when it was. */
  #consume(tokenHash: string, now: number): boolean {
    const token = this.storage.linkTokens.get(tokenHash);
    if (!token || token.expiresAt <= now) return false;
    this.storage.linkTokens.delete(tokenHash);
    return true;
  }

  async verifyEmail({ userId, tokenHash, now, event }: { userId: string; tokenHash: string; now: number; event: SecurityEvent }) {
    if (!this.#consume(tokenHash, now)) return false;
    const user = this.storage.users.get(userId)!;
    Object.assign(user, { emailVerifiedAt: user.emailVerifiedAt ?? now, updatedAt: now });
    this.storage.events.push({ ...event, at: now });
    return true;
  }

  async resetPassword({ userId, tokenHash, now, event, passwordHash }: { userId: string; tokenHash: string; now: number; event: SecurityEvent; passwordHash: string }) {
    if (!this.#consume(tokenHash, now)) return false;
    const user = this.storage.users.get(userId)!;
    Object.assign(user, { passwordHash, emailVerifiedAt: user.emailVerifiedAt ?? now, updatedAt: now });
    revokeInScope(this.storage, { userId }, "password_reset", now);
    deleteLinks(this.storage, (t) => t.userId === userId);
    this.storage.events.push({ ...event, at: now });
    return true;
  }

  async changeEmail({ userId, tokenHash, now, event, newEmail }: { userId: string; tokenHash: string; now: number; event: SecurityEvent; newEmail: string }) {
    const token = this.storage.linkTokens.get(tokenHash);
    if (!token || token.expiresAt <= now) return "token_gone" as const;
    if ([...this.storage.users.values()].some((other) => other.id !== userId && other.email === newEmail)) return "email_taken" as const;
    this.#consume(tokenHash, now);
    Object.assign(this.storage.users.get(userId)!, { email: newEmail, emailVerifiedAt: now, updatedAt: now });
    deleteLinks(this.storage, (t) => t.userId === userId);
    this.storage.events.push({ ...event, at: now });
    return "changed" as const;
  }
}

/** An email sender that keeps what it is given in `storage.outbox`; `failing` makes it refuse. */
export function memoryEmailSender(storage: MemoryStorage, options: { failing?: () => boolean } = {}): EmailSender {
  return {
    async send(message) {
      if (options.failing?.()) throw new EmailUnavailableError(new Error("refused"));
      storage.outbox.push(message);
    },
  };
}

const ownedBy = (owner: ApiKeyOwner) => (key: ApiKeyRecord) =>
  "userId" in owner ? key.userId === owner.userId : key.serviceAccount === owner.serviceAccount;

/** API keys: each method applies what its D1 batch does, atomically. */
export class MemoryApiKeyStore implements ApiKeyStore {
  constructor(private readonly storage: MemoryStorage) {}

  #state(key: ApiKeyRecord): ApiKeyState {
    const user = key.userId === null ? undefined : this.storage.userWithRoles(key.userId);
    return {
      ...key,
      scopes: [...key.scopes],
      user: user ? { disabledAt: user.disabledAt, roles: user.roles, emailVerified: user.emailVerifiedAt !== null } : null,
    };
  }

  async create({ key, maxLive, event }: { key: ApiKeyRecord; maxLive: number; event: SecurityEvent }) {
    const owner: ApiKeyOwner = key.userId !== null ? { userId: key.userId } : { serviceAccount: key.serviceAccount! };
    const user = key.userId === null ? undefined : this.storage.users.get(key.userId);
    if (key.userId !== null && (!user || user.disabledAt !== null)) return false;
    const live = [...this.storage.apiKeys.values()].filter((k) => ownedBy(owner)(k) && isUsable(this.#state(k), key.createdAt));
    if (live.length >= maxLive) return false;
    this.storage.apiKeys.set(key.id, { ...key, scopes: [...key.scopes] });
    this.storage.apiKeyWrites++;
    this.storage.events.push({ ...event, at: key.createdAt });
    return true;
  }

  async find(id: string) {
    const key = this.storage.apiKeys.get(id);
    return key && this.#state(key);
  }

  async touch({ id, secretHash, now, usedBefore }: { id: string; secretHash: string; now: number; usedBefore: number }) {
    const key = this.storage.apiKeys.get(id);
    if (!key || key.secretHash !== secretHash || !isUsable(this.#state(key), now) || (key.lastUsedAt !== null && key.lastUsedAt >= usedBefore)) return false;
    key.lastUsedAt = now;
    this.storage.apiKeyWrites++;
    return true;
  }

  async list(owner: ApiKeyOwner) {
    return [...this.storage.apiKeys.values()]
      .filter((key) => ownedBy(owner)(key) && key.revokedAt === null)
      .sort((a, b) => b.createdAt - a.createdAt)
      .map((key) => ({ ...key, scopes: [...key.scopes] }));
  }

  async revoke({ owner, ids, now, event }: { owner: ApiKeyOwner; ids: readonly string[]; now: number; event: Omit<SecurityEvent, "detail"> }) {
    const revoked: string[] = [];
    for (const id of ids) {
      const key = this.storage.apiKeys.get(id);
      if (!key || !ownedBy(owner)(key) || key.revokedAt !== null) continue;
      key.revokedAt = now;
      this.storage.apiKeyWrites++;
      this.storage.events.push({ ...event, detail: id, at: now });
      revoked.push(id);
    }
    return revoked;
  }
}
