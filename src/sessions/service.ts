/**
 * Refresh-token families (sessions): open one at login, rotate it on refresh (with the idempotent
 * grace window and reuse detection), list and revoke them. No HTTP here: results, or DomainErrors.
 */
import type { ClientInfo } from "../client-info";
import type { Config } from "../config";
import { DomainError, invalidGrant, invalidToken, notFound, rateLimited } from "../domain-errors";
import type { RefreshTokenKeys } from "../keys/refresh-token-keys";
import type { RevocationService } from "../revocation";
import type { FamilyRecord, FamilyState, FamilyStore, Limiter, NewFamily, RefreshTelemetry, SecurityEvent, TokenSubject } from "../stores/types";
import { isApiKeyToken, type AccessTokenClaims, type TokenService } from "../tokens";
import { currentTokenExpiresAt, isLive, livenessBounds } from "./liveness";
import {
  accessTokenIdOf,
  deriveChildToken,
  hashRefreshToken,
  isAuthentic,
  mintRefreshToken,
  newChildNonce,
  openChildToken,
  parseRefreshToken,
  storedHashOf,
  type PresentedRefreshToken,
} from "./refresh-token";

/** A refresh token and the `jti` of the access token that goes with it. */
interface TokenPair {
  token: string;
  accessTokenId: string;
}

/** What a login or a refresh hands out. */
export interface IssuedSession {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  /** Epoch ms after which the refresh token is useless: the cookie's Max-Age never goes beyond. */
  refreshExpiresAt: number;
  familyId: string;
}

/** Who presents a refresh token: the caller, and the client it names (bound to the family when given). */
interface RefreshRequest {
  client: ClientInfo;
  clientId?: string;
}

export interface SessionView {
  id: string;
  clientId: string;
  createdAt: number;
  lastUsedAt: number;
  expiresAt: number;
  userAgent: string | null;
  current: boolean;
}

export interface SessionDeps {
  families: FamilyStore;
  tokens: TokenService;
  revocation: RevocationService;
  refreshKeys: () => Promise<RefreshTokenKeys>;
  config: Config;
  now: () => number;
  /** A new family id that lands in the user's database. */
  newFamilyId: (userId: string) => string;
  /** Counts grace retries and refused tokens per family (never a rotation, never a detected reuse). */
  familyLimiter: Limiter;
  telemetry: RefreshTelemetry;
  /** Introspection of an API key's tokens (src/api-keys): is the key usable in D1 now? */
  apiKeyTokens: { isTokenActive(claims: AccessTokenClaims): Promise<boolean> };
}

/** A session that is live in D1 now, with its user's roles now (what `requireLive` returns). */
export type LiveSession = FamilyState;

export type SessionService = ReturnType<typeof createSessionService>;

type Position = "current" | "parent" | "ancestor" | "unknown";

/** Where a presented (authentic) token stands in its family's chain. */
function positionOf(presented: PresentedRefreshToken, hash: string, family: FamilyRecord): Position {
  const legacy = presented.kind === "legacy";
  const generation = legacy ? undefined : presented.generation;
  if (hash === family.tokenHash && (legacy || generation === family.generation)) return "current";
  if (hash === family.previousHash && (legacy || generation === family.generation - 1)) return "parent";
  // A legacy token was found among the issued ones; a new one carries a verified tag.
  if (legacy || generation! < family.generation - 1) return "ancestor";
  return "unknown";
}

export function createSessionService(deps: SessionDeps) {
  const { families, tokens, revocation, config, now, telemetry } = deps;

  /** The access token that goes with a refresh token: same token (same `jti`) and time, same access token. */
  function accessTokenFor(jti: string, subject: TokenSubject, familyId: string, clientId: string, issuedAt: number) {
    return tokens.issue({ subject, familyId, clientId, jti, issuedAt });
  }

  /** Revokes one family: KV first, so a failure in between leaves its access tokens refused. */
  async function revoke(familyId: string, userId: string | undefined, reason: string, event: SecurityEvent): Promise<void> {
    await revocation.revokeFamily(familyId);
    await families.revoke({ familyId, userId }, reason, event, now());
  }

  /** The family a presented refresh token names, if the token is authentic (whatever its state). */
  async function familyNamedBy(presented: PresentedRefreshToken): Promise<string | undefined> {
    if (presented.kind === "family") return (await isAuthentic(await deps.refreshKeys(), presented)) ? presented.familyId : undefined;
    return (await families.findLegacyToken(await hashRefreshToken(presented.token)))?.familyId;
  }

  async function answerUnrotated(presented: PresentedRefreshToken, presentedHash: string, familyId: string, request: RefreshRequest, at: number): Promise<IssuedSession> {
    const { client } = request;
    const family = await families.find(familyId);
    if (!family) throw invalidGrant();
    const position = positionOf(presented, presentedHash, family);
    const point = { userId: family.userId, familyId, clientId: family.clientId, generation: family.generation, ...client };
    // Expired, idle, revoked, disabled, another client's, or not a token of this family: refused,
    // nothing changes (a token presented by the wrong client proves nothing about its family).
    const otherClient = request.clientId !== undefined && request.clientId !== family.clientId;
    const refused = otherClient || !isLive(family, livenessBounds(config, at)) || position === "unknown" || position === "current";
    // A concurrent loser took `at` before the winner did: a child "from the future" is in the window.
    const graceRetry = !refused && position === "parent" && config.refreshGraceMs > 0 && at - family.rotatedAt < config.refreshGraceMs;
    // Only answers that change nothing are throttled: a reuse always revokes, or whoever holds a
    // live token could spend the family's quota and then replay old tokens undetected.
    if ((refused || graceRetry) && !(await deps.familyLimiter.allows(familyId))) throw rateLimited();
    if (refused) {
      telemetry.record({ outcome: "refused", ...point });
      throw invalidGrant();
    }
    if (graceRetry) {
      const child = await childOf(presented.token, family);
      if (!child) {
        // Derived under a key this isolate does not hold yet (a REFRESH_TOKEN_KEY change rolling
        // out): never a reuse inside the window; a retry in a moment finds the key.
        telemetry.record({ outcome: "refused", ...point });
        throw new DomainError("retry_later", "The session was just refreshed; retry in a moment.", { retryAfterSeconds: 1 });
      }
      telemetry.record({ outcome: "grace_retry", ...point });
      return issuedFromRetry(child, family);
    }
    const detail = position === "parent" ? "parent_replayed_after_grace" : "ancestor_replayed";
    await revoke(familyId, family.userId, "reuse_detected", { type: "reuse_detected", userId: family.userId, sessionId: familyId, ...client, detail });
    telemetry.record({ outcome: "reuse_detected", ...point });
    throw invalidGrant("The refresh token was already used; the session has been revoked.");
  }

  /** The family's current token, from its parent: derived again (or opened, for a rotation from before derivation). */
  async function childOf(parentToken: string, family: FamilyState): Promise<TokenPair | undefined> {
    if (family.sealedToken) {
      const token = await openChildToken(parentToken, family.sealedToken);
      return token === undefined ? undefined : { token, accessTokenId: await accessTokenIdOf(token) };
    }
    if (!family.childNonce) return undefined;
    // The key that derived it may have become the previous one since: the stored tag tells which.
    for (const key of (await deps.refreshKeys()).accepted) {
      const child = await deriveChildToken(key, family.childNonce, parentToken, family.id, family.generation);
      if (child.storedHash === family.tokenHash) return child;
    }
    return undefined;
  }

  async function issuedFromRetry(child: TokenPair, family: FamilyState): Promise<IssuedSession> {
    const access = await accessTokenFor(child.accessTokenId, family.subject, family.id, family.clientId, family.rotatedAt);
    return { ...access, refreshToken: child.token, refreshExpiresAt: currentTokenExpiresAt(config, family), familyId: family.id };
  }

  return {
    /**
     * Everything a new family needs, not yet stored: the caller stores `family` in the same batch
     * as the change that opens it (a new user, or a login whose credentials must still hold).
     */
    async open(subject: TokenSubject, clientId: string, client: ClientInfo): Promise<{ family: NewFamily; issued: IssuedSession }> {
      // Keys first (their import is the slow part of an isolate's first login): the access token's
      // iat is taken after, so its `expires_in` is the full TTL rather than a second less.
      const [refreshKeys] = await Promise.all([deps.refreshKeys(), tokens.ensureSigningKey()]);
      const at = now();
      const familyId = deps.newFamilyId(subject.userId);
      const refresh = await mintRefreshToken(refreshKeys, familyId, 0);
      const family: NewFamily = {
        id: familyId,
        userId: subject.userId,
        clientId,
        createdAt: at,
        expiresAt: at + config.sessionAbsoluteTtlMs,
        tokenHash: refresh.storedHash,
        userAgent: client.userAgent?.slice(0, 256) ?? null,
        ip: client.ip,
      };
      const access = await accessTokenFor(refresh.accessTokenId, subject, familyId, clientId, at);
      const refreshExpiresAt = currentTokenExpiresAt(config, { rotatedAt: at, expiresAt: family.expiresAt });
      return { family, issued: { ...access, refreshToken: refresh.token, refreshExpiresAt, familyId } };
    },

    /**
     * Exchanges a refresh token for its child and a new access token:
     * - the family's current token, family live: rotated by one conditional statement;
     * - its parent, within the grace window: the SAME child and access token again;
     * - any other token of the family (parent after the window, older ancestor): reuse, the family
     *   is revoked;
     * - anything else (malformed, forged, unknown, expired, revoked, or named with another client than
     *   the family's): `invalid_grant`, no change.
     */
    async refresh(presentedToken: unknown, client: ClientInfo, clientId?: string): Promise<IssuedSession> {
      const request: RefreshRequest = { client, clientId };
      const presented = parseRefreshToken(presentedToken);
      if (!presented) throw invalidGrant();
      const at = now();
      const keys = await deps.refreshKeys();
      const presentedHash = await storedHashOf(presented);
      let familyId: string;
      let generation: number;
      if (presented.kind === "family") {
        // Forged tokens are refused here, before any storage: they can never touch a real family.
        if (!(await isAuthentic(keys, presented))) throw invalidGrant();
        ({ familyId, generation } = presented);
      } else {
        const legacy = await families.findLegacyToken(presentedHash);
        if (!legacy) throw invalidGrant();
        // A family migrated with a live legacy token holds it as generation 0.
        ({ familyId, generation } = { familyId: legacy.familyId, generation: 0 });
      }
      // A rotation commits: everything the answer needs must be usable before it.
      await tokens.ensureSigningKey();
      const childNonce = newChildNonce();
      const child = await deriveChildToken(keys.current, childNonce, presented.token, familyId, generation + 1);
      const rotated = await families.rotate({ familyId, generation, presentedHash, childHash: child.storedHash, childNonce, clientId, live: livenessBounds(config, at) });
      if (!rotated) return answerUnrotated(presented, presentedHash, familyId, request, at);
      telemetry.record({ outcome: "rotated", userId: rotated.subject.userId, familyId, clientId: rotated.clientId, generation: generation + 1, ...client });
      const access = await accessTokenFor(child.accessTokenId, rotated.subject, familyId, rotated.clientId, at);
      return { ...access, refreshToken: child.token, refreshExpiresAt: currentTokenExpiresAt(config, { rotatedAt: at, expiresAt: rotated.expiresAt }), familyId };
    },

    /** Ends what the presented tokens belong to: holding a token is authority enough (RFC 7009). */
    async logout(presented: { refreshToken?: unknown; accessToken?: string }, client: ClientInfo): Promise<void> {
      const ended = new Map<string, string | undefined>();
      const parsed = parseRefreshToken(presented.refreshToken);
      const fromRefreshToken = parsed && (await familyNamedBy(parsed));
      if (fromRefreshToken) ended.set(fromRefreshToken, (await families.find(fromRefreshToken))?.userId);
      // A revoked access token still says which session to end (an expired one no longer does).
      const claims = presented.accessToken ? await tokens.verify(presented.accessToken).catch(() => undefined) : undefined;
      // An API key's token belongs to no session: it ends alone (its key is revoked at /auth/api-keys).
      if (claims && isApiKeyToken(claims)) await revocation.revokeAccessToken(claims);
      else if (claims) ended.set(claims.sid, claims.sub);
      for (const [familyId, userId] of ended) {
        if (userId) await revoke(familyId, userId, "logout", { type: "logout", userId, sessionId: familyId, ...client });
      }
    },

    /** Ends every family of the user: the per-user cutoff first, then D1. */
    async revokeAll(userId: string, currentFamilyId: string, client: ClientInfo): Promise<void> {
      await revocation.cutOffUserAround(userId, () => families.revoke({ userId }, "logout_all", { type: "logout_all", userId, sessionId: currentFamilyId, ...client }, now()));
    },

    /** Ends one of the user's own families; `not_found` for anybody else's. Idempotent. */
    async revokeOwn(userId: string, familyId: string, client: ClientInfo): Promise<void> {
      const family = await families.find(familyId);
      if (family?.userId !== userId) throw notFound("No session with this id.");
      await revoke(familyId, userId, "session_revoked", { type: "session_revoked", userId, sessionId: familyId, ...client });
    },

    /** The user's live families, most recently used first. */
    async list(userId: string, currentFamilyId: string): Promise<SessionView[]> {
      const rows = await families.listLive(userId, livenessBounds(config, now()));
      return rows.map((family) => ({
        id: family.id,
        clientId: family.clientId,
        createdAt: family.createdAt,
        lastUsedAt: family.rotatedAt,
        expiresAt: family.expiresAt,
        userAgent: family.userAgent,
        current: family.id === currentFamilyId,
      }));
    },

    /**
     * RFC 7662: the claims of an access token that is valid, unrevoked in KV, whose family is live
     * in D1 right now (so a logout anywhere is seen at once) and whose user still holds every role it
     * claims (for an API key's token: whose key is usable now); undefined for anything else.
     */
    async introspect(accessToken: string): Promise<AccessTokenClaims | undefined> {
      const claims = await tokens.verify(accessToken).catch((err: unknown) => {
        if (err instanceof DomainError && err.code === "invalid_token") return undefined;
        throw err;
      });
      // The clock leeway is for verifiers whose clocks differ from ours; on ours, past `exp` is expired.
      if (!claims || claims.exp * 1000 <= now() || (await revocation.isRevoked(claims))) return undefined;
      if (isApiKeyToken(claims)) return (await deps.apiKeyTokens.isTokenActive(claims)) ? claims : undefined;
      const family = await families.find(claims.sid);
      if (!family || family.userId !== claims.sub || !isLive(family, livenessBounds(config, now()))) return undefined;
      // A role revoked since the token was issued ends it here at once, whatever KV says.
      if (!claims.roles.every((role) => family.subject.roles.includes(role))) return undefined;
      return claims;
    },

    /**
     * RFC 7009: a refresh token ends its family, an access token is refused from now on. A token
     * that is unknown, invalid or issued to another client changes nothing (and is no error).
     */
    async revokeToken(token: string, clientId: string, client: ClientInfo): Promise<void> {
      const presented = parseRefreshToken(token);
      if (presented) {
        const familyId = await familyNamedBy(presented);
        const family = familyId === undefined ? undefined : await families.find(familyId);
        if (!family || family.clientId !== clientId) return;
        const event = { type: "session_revoked", userId: family.userId, sessionId: family.id, ...client, detail: "revocation_endpoint" } as const;
        return revoke(family.id, family.userId, "session_revoked", event);
      }
      const claims = await tokens.verify(token).catch(() => undefined);
      if (claims?.client_id === clientId) await revocation.revokeAccessToken(claims);
    },

    /**
     * For requests that change security state: the caller's family must be live in D1 now, not
     * only unrevoked in KV, whose revocations take about a minute to reach every location. Returns
     * the family, with its user's roles now.
     */
    async requireLive(claims: { sid: string; sub: string; client_id: string }): Promise<LiveSession> {
      // A key's token has no session: it may call APIs, never change the account or its keys.
      if (isApiKeyToken(claims)) throw invalidToken("An API key's token cannot use this endpoint: it needs a user's session.");
      const family = await families.find(claims.sid);
      if (!family || family.userId !== claims.sub || !isLive(family, livenessBounds(config, now()))) {
        throw invalidToken("The session of this access token has ended.");
      }
      return family;
    },

    /** Revokes one family (KV, then D1 with the event). */
    revoke,
  };
}
