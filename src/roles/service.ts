/**
 * Role management and the permission checks of the admin endpoints: list, grant and revoke a user's
 * roles (each change with its audit event), and authorise an access token for a permission.
 * No HTTP here: results, or DomainErrors.
 */
import type { Actor } from "../client-info";
import { ROLE_NAME, type Config } from "../config";
import { DomainError, invalidRequest, notFound } from "../domain-errors";
import type { RevocationService } from "../revocation";
import type { SessionService } from "../sessions/service";
import type { RoleGrant, RoleStore } from "../stores/types";
import type { AccessTokenClaims } from "../tokens";
import { MAX_ROLES_PER_USER, permissionsOf, scopesOf } from "./claims";

export type { RoleGrant };

export interface RoleDeps {
  roles: RoleStore;
  sessions: Pick<SessionService, "requireLive">;
  revocation: Pick<RevocationService, "cutOffUserAround">;
  config: Pick<Config, "rolePermissions">;
  now: () => number;
  /** Called after a user's roles changed (the account service drops its cached profile). */
  onRolesChanged?: (userId: string) => void;
}

export type RoleService = ReturnType<typeof createRoleService>;

/** 403 `insufficient_scope`; the challenge names the permission (RFC 6750 section 3.1). */
const insufficientScope = (permission: string) => new DomainError("insufficient_scope", "insufficient permissions", { scope: permission });

function checkRoleName(role: string) {
  if (!ROLE_NAME.test(role)) throw invalidRequest("role", "must be 1 to 32 characters: a lower-case letter, then lower-case letters, digits, _, : or -");
}

export function createRoleService({ roles, sessions, revocation, config, now, onRolesChanged }: RoleDeps) {
  async function grantsOf(userId: string): Promise<RoleGrant[]> {
    const grants = await roles.list(userId);
    if (!grants) throw notFound("No such user.");
    return grants;
  }

  return {
    /** The user's roles, oldest grant first; `not_found` for an unknown user. */
    list: grantsOf,

    /**
     * Grants a role (idempotent: a role already held is answered as it is, `created: false`). It
     * reaches the user's access tokens at their next refresh. At most {@link MAX_ROLES_PER_USER}
     * roles per user: one more is `invalid_request`.
     */
    async grant(userId: string, role: string, actor: Actor): Promise<{ grant: RoleGrant; created: boolean }> {
      checkRoleName(role);
      const held = (grants: RoleGrant[]) => grants.find((grant) => grant.role === role);
      const before = await grantsOf(userId);
      const existing = held(before);
      if (existing) return { grant: existing, created: false };
      const tooMany = () => invalidRequest("role", `the user already holds the most roles allowed (${MAX_ROLES_PER_USER})`);
      if (before.length >= MAX_ROLES_PER_USER) throw tooMany();
      const grant: RoleGrant = { role, grantedAt: now(), grantedBy: actor.id };
      const event = { type: "role_granted", userId, ip: actor.ip, userAgent: actor.userAgent, actorId: actor.id, detail: role } as const;
      if (!(await roles.grant({ userId, grant, maxRoles: MAX_ROLES_PER_USER, event }))) {
        // A concurrent change came first: the same grant (fine), the last free slot, or a deleted user.
        const concurrent = held(await grantsOf(userId));
        if (concurrent) return { grant: concurrent, created: false };
        throw tooMany();
      }
      onRolesChanged?.(userId);
      return { grant, created: true };
    },

    /**
     * Revokes a role (idempotent: false when the user did not hold it). The user's live access tokens
     * are cut off first (KV, then D1, like every revocation), so the role's power ends with them
     * rather than at their expiry; the user's sessions go on, and the next refresh carries the
     * remaining roles.
     */
    async revoke(userId: string, role: string, actor: Actor): Promise<boolean> {
      checkRoleName(role);
      if (!(await grantsOf(userId)).some((grant) => grant.role === role)) return false;
      const event = { type: "role_revoked", userId, ip: actor.ip, userAgent: actor.userAgent, actorId: actor.id, detail: role } as const;
      const revoked = await revocation.cutOffUserAround(userId, () => roles.revoke({ userId, role, event, now: now() }));
      onRolesChanged?.(userId);
      return revoked;
    },

    /**
     * Authorises an access token (already authenticated) for `permission`: its `scope` must grant
     * it, its session must be live in D1 now, and the user's roles in D1 now must still grant it.
     * So a revoked role or an ended session stops working at once here, whatever KV's propagation
     * delay; a new role counts from the next refresh. `insufficient_scope` otherwise.
     */
    async authorize(claims: AccessTokenClaims, permission: string): Promise<void> {
      if (!scopesOf(claims.scope).includes(permission)) throw insufficientScope(permission);
      const family = await sessions.requireLive(claims);
      if (!permissionsOf(family.subject.roles, config.rolePermissions).includes(permission)) throw insufficientScope(permission);
    },
  };
}
