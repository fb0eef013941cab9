/** Users, roles, families and revocations in memory. */
import type {
  FamilyScope,
  FamilyStore,
  LivenessBounds,
  NewFamily,
  RevocationStore,
  RoleGrant,
  RoleStore,
  Rotation,
  SecurityEvent,
  UserCutoff,
  UserRecord,
  UserStore,
} from "../../src/stores/types";
import { credentialsAndSessionHold, deleteLinks, familyRow, MemoryStorage, revokeInScope, type StoredFamily } from "./storage";
import { isLive } from "../../src/sessions/liveness";

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

  async changePassword({ userId, verifiedHash, passwordHash, keepFamilyId, event, now }: { userId: string; verifiedHash: string; passwordHash: string; keepFamilyId: string; event: SecurityEvent; now: number }) {
    const user = this.storage.users.get(userId);
    if (!user || !credentialsAndSessionHold(this.storage, { userId, verifiedHash, familyId: keepFamilyId })) return false;
    Object.assign(user, { passwordHash, updatedAt: now });
    revokeInScope(this.storage, { userId, exceptFamilyId: keepFamilyId }, "password_changed", now);
    deleteLinks(this.storage, (t) => t.userId === userId && (t.purpose === "reset_password" || t.purpose === "change_email"));
    this.storage.events.push({ ...event, at: now });
    return true;
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

  async rotate({ familyId, generation, presentedHash, childHash, childNonce, live, clientId }: Rotation) {
    const family = this.storage.families.get(familyId);
    if (!family || family.generation !== generation || family.tokenHash !== presentedHash) return undefined;
    if (clientId !== undefined && family.clientId !== clientId) return undefined;
    const state = this.stateOf(family);
    if (!isLive({ ...family, userDisabledAt: state.userDisabledAt }, live)) return undefined;
    Object.assign(family, { generation: generation + 1, previousHash: family.tokenHash, tokenHash: childHash, sealedToken: null, childNonce, rotatedAt: live.now });
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
    this.storage.kvPut(`${cutoff.exceptFamilyId ? "user-cutoff-except" : "user-cutoff"}:${userId}`, JSON.stringify(cutoff), ttlSeconds);
  }

  async lookup(token: { jti: string; sid: string; sub: string }) {
    const cutoffs = [this.storage.kvGet(`user-cutoff:${token.sub}`), this.storage.kvGet(`user-cutoff-except:${token.sub}`)];
    return {
      jtiRevoked: this.storage.kvGet(`revoked-jti:${token.jti}`) !== null,
      familyRevoked: this.storage.kvGet(`revoked-sid:${token.sid}`) !== null,
      userCutoffs: cutoffs.filter((cutoff) => cutoff !== null).map((cutoff) => JSON.parse(cutoff) as UserCutoff),
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
