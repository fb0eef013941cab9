/**
 * API keys of machine clients (README.md, "API keys"): create (the key is shown once), list and
 * revoke a user's or a service account's keys, and exchange a key at the token endpoint
 * (client_credentials) for an ordinary short-lived access token, which downstream services verify
 * offline like any other. Only this service ever sees a key. No HTTP here: results, or DomainErrors.
 */
import type { ClientInfo } from "../client-info";
import { CLOCK_TOLERANCE_SECONDS, type Config } from "../config";
import { DomainError, invalidRequest, invalidToken, notFound, rateLimited } from "../domain-errors";
import type { RevocationService } from "../revocation";
import { permissionsOf, scopesOf } from "../roles/claims";
import type { ApiKeyOwner, ApiKeyRecord, ApiKeyState, ApiKeyStore, Limiter, SecurityEvent } from "../stores/types";
import type { AccessTokenClaims, TokenService } from "../tokens";
import { API_KEY_SHAPE, hashApiKey, mintApiKey, sameHash } from "./key";
import { isUsable } from "./usable";

/** Usable keys an owner may hold at once. */
export const MAX_KEYS_PER_OWNER = 20;
/** `last_used_at` moves at most once per key in this long: a busy CI key costs one D1 write an hour. */
export const LAST_USED_GRAIN_MS = 3600 * 1000;
export const MAX_EXPIRES_IN_DAYS = 3650;
/** A service account's name; its tokens' `sub` is `svc:<name>`. */
export const SERVICE_ACCOUNT_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
export const SERVICE_ACCOUNT_SUBJECT_PREFIX = "svc:";
const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DAY_MS = 24 * 3600 * 1000;

/** Who a new key is for: a user with the roles it holds now, or a service account. */
export type NewKeyOwner = { userId: string; roles: readonly string[] } | { serviceAccount: string };

/** Who makes a change, for its event: the user in a session, or an admin for a service account. */
export interface KeyActor extends ClientInfo {
  /** The caller's session (the access token's `sid`). */
  sessionId?: string;
  /** An admin's user id or "admin-api-token" (service accounts). */
  actorId?: string;
}

export interface NewKeyRequest {
  name: string;
  /** Default (a user's key only): every permission the user has now. */
  scopes?: readonly string[];
  /** Default: the key does not expire. */
  expiresInDays?: number;
}

/** What lists show of a key: never the key, nor its hash. */
export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number | null;
}

/** A new key: the only time the key itself is returned. */
export interface CreatedApiKey extends ApiKeyView {
  key: string;
}

export interface KeyExchange {
  /** The key's id, presented as `client_id`. */
  clientId: string | undefined;
  /** The key, presented as the client secret. */
  secret: string | undefined;
  /** RFC 6749 section 3.3: a subset of the key's permissions to ask for; default all of them. */
  scope?: string;
}

export interface IssuedKeyToken {
  accessToken: string;
  expiresIn: number;
  scopes: string[];
}

export interface ApiKeyDeps {
  keys: ApiKeyStore;
  tokens: Pick<TokenService, "issue" | "verify">;
  revocation: Pick<RevocationService, "revokeFamily" | "revokeAccessToken">;
  config: Pick<Config, "rolePermissions" | "accessTokenTtlSeconds">;
  now: () => number;
  /** A new key id that lands in the owner's database. */
  newKeyId: (owner: ApiKeyOwner) => string;
  /** Exchanges per key id. */
  limiter: Limiter;
}

export type ApiKeyService = ReturnType<typeof createApiKeyService>;

/** 401 `invalid_client`, the same for an unknown id, a wrong key, and a revoked or expired one. */
const invalidClient = () => new DomainError("invalid_client", "The API key is invalid, expired or revoked.", { challenge: 'Basic realm="token"' });

/** Never the hash, nor (for lists) the owner, which the caller named. */
const view = ({ id, name, prefix, scopes, createdAt, lastUsedAt, expiresAt }: ApiKeyRecord): ApiKeyView => ({ id, name, prefix, scopes, createdAt, lastUsedAt, expiresAt });

const identityOf = (owner: NewKeyOwner): ApiKeyOwner => ("userId" in owner ? { userId: owner.userId } : { serviceAccount: owner.serviceAccount });

/** The `sub` of a key's tokens, and the user id of its events: the user, or `svc:<name>`. */
export const subjectOfOwner = (owner: ApiKeyOwner) => ("userId" in owner ? owner.userId : SERVICE_ACCOUNT_SUBJECT_PREFIX + owner.serviceAccount);

const ownerOfKey = (key: ApiKeyRecord): ApiKeyOwner => (key.userId !== null ? { userId: key.userId } : { serviceAccount: key.serviceAccount! });

const eventOf = (type: "api_key_created" | "api_key_revoked", owner: ApiKeyOwner, actor: KeyActor) => ({
  type,
  userId: subjectOfOwner(owner),
  sessionId: actor.sessionId ?? null,
  ip: actor.ip,
  userAgent: actor.userAgent,
  actorId: actor.actorId ?? null,
});

/** A service account's name must follow {@link SERVICE_ACCOUNT_NAME}: 400 naming `service_account` otherwise. */
function checkOwner(owner: ApiKeyOwner) {
  if ("serviceAccount" in owner && !SERVICE_ACCOUNT_NAME.test(owner.serviceAccount)) {
    throw invalidRequest("service_account", "must match ^[a-z][a-z0-9_-]{0,31}$");
  }
}

const sorted = (scopes: Iterable<string>) => [...new Set(scopes)].sort();

export function createApiKeyService(deps: ApiKeyDeps) {
  const { keys, tokens, revocation, config, now } = deps;

  /** Every permission ROLE_PERMISSIONS names: what a service account may be given. */
  const everyPermission = () => sorted([...config.rolePermissions.values()].flat());

  /** What the owner may grant a key now: the user's roles' permissions, or any permission for a service account. */
  const grantable = (owner: NewKeyOwner) => ("userId" in owner ? permissionsOf(owner.roles, config.rolePermissions) : everyPermission());

  /** What a stored key may use now: its scopes that its owner still has (roles may have shrunk since). */
  function permissionsNow(key: ApiKeyState): string[] {
    const held = key.userId !== null ? permissionsOf(key.user?.roles ?? [], config.rolePermissions) : everyPermission();
    return key.scopes.filter((scope) => held.includes(scope));
  }

  async function ownedKey(owner: ApiKeyOwner, id: string): Promise<ApiKeyState> {
    const key = KEY_ID.test(id) ? await keys.find(id) : undefined;
    if (!key || subjectOfOwner(ownerOfKey(key)) !== subjectOfOwner(owner)) throw notFound("No API key with this id.");
    return key;
  }

  /** Records a use; a failure is one log line (the exchange it belongs to has succeeded). */
  function touch(use: Parameters<ApiKeyStore["touch"]>[0]): Promise<void> {
    return keys.touch(use).then(
      () => undefined,
      (err: unknown) => console.error(JSON.stringify({ level: "error", event: "api_key_last_used_failed", key_id: use.id, error: { name: err instanceof Error ? err.name : typeof err } })),
    );
  }

  /**
   * Revokes keys: KV first (every access token a key issued is refused), then D1 with one event each.
   * A key that expired longer ago than a token lives has no token left to refuse: no KV entry.
   */
  async function revokeKeys(owner: ApiKeyOwner, revoked: ApiKeyRecord[], actor: KeyActor): Promise<string[]> {
    const at = now();
    const tokensEndedBefore = at - (config.accessTokenTtlSeconds + CLOCK_TOLERANCE_SECONDS) * 1000;
    const mayHaveTokens = revoked.filter((key) => key.expiresAt === null || key.expiresAt > tokensEndedBefore);
    await Promise.all(mayHaveTokens.map((key) => revocation.revokeFamily(key.id)));
    return keys.revoke({ owner, ids: revoked.map((key) => key.id), now: at, event: eventOf("api_key_revoked", owner, actor) });
  }

  /** The usable key that `request` names and proves, or 401 `invalid_client`; counted per key id. */
  async function authenticate({ clientId, secret }: KeyExchange, at: number) {
    if (clientId === undefined || !KEY_ID.test(clientId) || secret === undefined || !API_KEY_SHAPE.test(secret)) throw invalidClient();
    if (!(await deps.limiter.allows(clientId))) throw rateLimited();
    const secretHash = await hashApiKey(secret);
    const key = await keys.find(clientId);
    if (!key || !sameHash(secretHash, key.secretHash) || !isUsable(key, at)) throw invalidClient();
    return { key, secretHash };
  }

  return {
    /**
     * Creates a key with `scopes` (each one a permission the owner has now; default all of them).
     * At most {@link MAX_KEYS_PER_OWNER} usable keys per owner. The key is in the answer, and never again.
     */
    async create(owner: NewKeyOwner, request: NewKeyRequest, actor: KeyActor): Promise<CreatedApiKey> {
      checkOwner(owner);
      const name = request.name.trim();
      if (name.length === 0 || name.length > 64 || /[\u0000-\u001f\u007f]/.test(name)) throw invalidRequest("name", "must be 1 to 64 characters, no control characters");
      if ("serviceAccount" in owner && request.scopes === undefined) throw invalidRequest("scopes", "required for a service account's key");
      const allowed = grantable(owner);
      const scopes = sorted(request.scopes ?? allowed);
      const beyond = scopes.filter((scope) => !allowed.includes(scope));
      if (beyond.length > 0) throw invalidRequest("scopes", `names permissions the owner does not have: ${beyond.join(" ")}`);
      const days = request.expiresInDays;
      if (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= MAX_EXPIRES_IN_DAYS)) {
        throw invalidRequest("expires_in_days", `must be a whole number from 1 to ${MAX_EXPIRES_IN_DAYS}`);
      }
      const identity = identityOf(owner);
      const at = now();
      const { key, prefix, secretHash } = await mintApiKey();
      const record: ApiKeyRecord = {
        id: deps.newKeyId(identity),
        userId: "userId" in identity ? identity.userId : null,
        serviceAccount: "serviceAccount" in identity ? identity.serviceAccount : null,
        name,
        prefix,
        secretHash,
        scopes,
        createdAt: at,
        expiresAt: days === undefined ? null : at + days * DAY_MS,
        lastUsedAt: null,
        revokedAt: null,
      };
      const event: SecurityEvent = { ...eventOf("api_key_created", identity, actor), detail: record.id };
      // A user's key is made through one of the user's sessions: it must still be live when the key is
      // stored, or a key asked for just before a reset (or a disable) would outlive it.
      const ownerSessionId = "userId" in identity ? actor.sessionId : undefined;
      const outcome = await keys.create({ key: record, maxLive: MAX_KEYS_PER_OWNER, event, ownerSessionId });
      if (outcome === "owner_gone") throw invalidToken("The session of this access token has ended.");
      if (outcome === "too_many") throw invalidRequest("name", `the owner already has the most API keys allowed (${MAX_KEYS_PER_OWNER})`);
      return { ...view(record), key };
    },

    /** The owner's keys that are not revoked (expired ones until housekeeping deletes them), newest first. */
    async list(owner: ApiKeyOwner): Promise<ApiKeyView[]> {
      checkOwner(owner);
      return (await keys.list(owner)).map(view);
    },

    /** Revokes one of the owner's keys and every access token it issued; `not_found` for anybody else's. Idempotent. */
    async revoke(owner: ApiKeyOwner, id: string, actor: KeyActor): Promise<void> {
      checkOwner(owner);
      const key = await ownedKey(owner, id);
      if (key.revokedAt === null) await revokeKeys(owner, [key], actor);
    },

    /** Revokes every key of the owner ("revoke all at once"); returns how many were revoked. */
    async revokeAll(owner: ApiKeyOwner, actor: KeyActor): Promise<number> {
      checkOwner(owner);
      return (await revokeKeys(owner, await keys.list(owner), actor)).length;
    },

    /**
     * RFC 6749 section 4.4: the key for an access token with `sub` = its owner, `client_id` and `sid` =
     * the key id, `scope` = the key's scopes its owner still has (or the subset asked for), no roles
     * and no refresh token. One D1 read; `last_used_at` is written in the background, and only when
     * it is more than an hour old (a busy key costs one write an hour, and a write failure no exchange).
     */
    async exchange(request: KeyExchange, background: (task: Promise<void>) => void): Promise<IssuedKeyToken> {
      const at = now();
      const { key, secretHash } = await authenticate(request, at);
      const usable = permissionsNow(key);
      let scopes = usable;
      if (request.scope !== undefined) {
        scopes = sorted(scopesOf(request.scope));
        const beyond = scopes.filter((scope) => !usable.includes(scope));
        if (beyond.length > 0) throw new DomainError("invalid_scope", `The API key does not grant: ${beyond.join(" ")}.`);
      }
      const subject = { userId: subjectOfOwner(ownerOfKey(key)), roles: [], emailVerified: key.user?.emailVerified ?? false };
      const issued = await tokens.issue({ subject, familyId: key.id, clientId: key.id, jti: crypto.randomUUID(), issuedAt: at, scopes });
      const usedBefore = at - LAST_USED_GRAIN_MS;
      if (key.lastUsedAt === null || key.lastUsedAt < usedBefore) background(touch({ id: key.id, secretHash, now: at, usedBefore }));
      return { ...issued, scopes };
    },

    /**
     * RFC 7009 for a key as a confidential client: an access token the key itself was issued is
     * refused from now on; any other token (another key's, a session's, an unknown one) changes nothing.
     */
    async revokeOwnToken(request: KeyExchange, token: string): Promise<void> {
      const { key } = await authenticate(request, now());
      const claims = await tokens.verify(token).catch(() => undefined);
      if (claims?.client_id === key.id && claims.sid === key.id) await revocation.revokeAccessToken(claims);
    },

    /**
     * Introspection of a key's access token: its key is usable in D1 now, belongs to its `sub`, and
     * still grants every permission of its `scope`. False for anything else.
     */
    async isTokenActive(claims: AccessTokenClaims): Promise<boolean> {
      const key = await keys.find(claims.sid);
      if (!key || key.id !== claims.client_id || !isUsable(key, now())) return false;
      if (subjectOfOwner(ownerOfKey(key)) !== claims.sub || claims.roles.length > 0) return false;
      const usable = permissionsNow(key);
      return scopesOf(claims.scope).every((scope) => usable.includes(scope));
    },
  };
}
