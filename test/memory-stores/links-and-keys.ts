/** Email links, the email sender and API keys in memory. */
import type {
  ApiKeyOwner,
  ApiKeyRecord,
  ApiKeyState,
  ApiKeyStore,
  EmailSender,
  LinkTokenPurpose,
  LinkTokenRecord,
  LinkTokenStore,
  SecurityEvent,
} from "../../src/stores/types";
import { EmailUnavailableError } from "../../src/domain-errors";
import { credentialsAndSessionHold, deleteLinks, MemoryStorage, revokeInScope, sessionNotRevoked } from "./storage";
import { isUsable } from "../../src/api-keys/usable";

/** Email links: each consuming method applies its change only if the token is still there, like the D1 batch. */
export class MemoryLinkTokenStore implements LinkTokenStore {
  constructor(private readonly storage: MemoryStorage) {}

  async issue(token: LinkTokenRecord, event?: SecurityEvent, onlyIf?: { verifiedHash: string; familyId: string }) {
    if (onlyIf && !credentialsAndSessionHold(this.storage, { userId: token.userId, ...onlyIf })) return false;
    deleteLinks(this.storage, (t) => t.userId === token.userId && t.purpose === token.purpose);
    this.storage.linkTokens.set(token.tokenHash, { ...token });
    if (event) this.storage.events.push({ ...event, at: token.createdAt });
    return true;
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
    for (const key of this.storage.apiKeys.values()) if (key.userId === userId && key.revokedAt === null) key.revokedAt = now;
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

  async create({ key, maxLive, event, ownerSessionId }: { key: ApiKeyRecord; maxLive: number; event: SecurityEvent; ownerSessionId?: string }) {
    const owner: ApiKeyOwner = key.userId !== null ? { userId: key.userId } : { serviceAccount: key.serviceAccount! };
    const user = key.userId === null ? undefined : this.storage.users.get(key.userId);
    if (key.userId !== null && (!user || user.disabledAt !== null)) return "owner_gone" as const;
    if (ownerSessionId !== undefined && !sessionNotRevoked(this.storage, ownerSessionId, key.userId)) return "owner_gone" as const;
    const live = [...this.storage.apiKeys.values()].filter((k) => ownedBy(owner)(k) && isUsable(this.#state(k), key.createdAt));
    if (live.length >= maxLive) return "too_many" as const;
    this.storage.apiKeys.set(key.id, { ...key, scopes: [...key.scopes] });
    this.storage.apiKeyWrites++;
    this.storage.events.push({ ...event, at: key.createdAt });
    return "created" as const;
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
