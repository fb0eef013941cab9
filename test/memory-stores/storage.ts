/** What the memory stores hold, open for tests to look into (and tamper with). */
import type {
  ApiKeyRecord,
  EmailMessage,
  FamilyRecord,
  FamilyScope,
  LinkTokenRecord,
  NewFamily,
  RefreshDataPoint,
  RoleGrant,
  SecurityEvent,
  UserRecord,
} from "../../src/stores/types";

export interface StoredFamily extends FamilyRecord {
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

export function familyRow(family: NewFamily): StoredFamily {
  return { ...family, generation: 0, previousHash: null, sealedToken: null, childNonce: null, rotatedAt: family.createdAt, revokedAt: null, revokedReason: null };
}

export function revokeInScope(storage: MemoryStorage, scope: FamilyScope, reason: string, now: number): string[] {
  const revoked: string[] = [];
  for (const family of storage.families.values()) {
    const inScope =
      "familyId" in scope
        ? family.id === scope.familyId && (!scope.userId || family.userId === scope.userId)
        : family.userId === scope.userId && family.id !== scope.exceptFamilyId;
    if (!inScope || family.revokedAt !== null) continue;
    Object.assign(family, { revokedAt: now, revokedReason: reason, tokenHash: null, previousHash: null, sealedToken: null, childNonce: null });
    revoked.push(family.id);
  }
  return revoked;
}

/** Deletes the email links `which` selects. */
export function deleteLinks(storage: MemoryStorage, which: (token: LinkTokenRecord) => boolean) {
  for (const [hash, token] of storage.linkTokens) if (which(token)) storage.linkTokens.delete(hash);
}

/** Family `familyId` is the user's and not revoked (the D1 stores' `sessionNotRevoked`). */
export function sessionNotRevoked(storage: MemoryStorage, familyId: string, userId: string | null): boolean {
  const family = storage.families.get(familyId);
  return family?.userId === userId && family.revokedAt === null;
}

/** The user still has `verifiedHash`, is not disabled, and `familyId` stands (the D1 stores' `credentialsAndSessionHold`). */
export function credentialsAndSessionHold(storage: MemoryStorage, { userId, verifiedHash, familyId }: { userId: string; verifiedHash: string; familyId: string }): boolean {
  const user = storage.users.get(userId);
  return user?.passwordHash === verifiedHash && user.disabledAt === null && sessionNotRevoked(storage, familyId, userId);
}
