/**
 * What a user's roles put in an access token (RFC 9068 section 2.2.3.1): the `roles` claim, the
 * `scope` claim (the union of the roles' permissions under ROLE_PERMISSIONS) and the deprecated
 * single `role` claim. Pure: the same roles and map always give the same claims, so a grace-window
 * retry reproduces its access token.
 */
import type { RolePermissions } from "../config";

/** The role every user gets at registration. */
export const DEFAULT_ROLE = "user";
/** The role the deprecated `role` claim prefers, as the single role an administrator had before. */
export const ADMIN_ROLE = "admin";
/** At most this many roles per user, so that every token stays small (test/roles.test.ts measures the largest). */
export const MAX_ROLES_PER_USER = 16;

export interface RoleClaims {
  /** Sorted, without duplicates. */
  roles: string[];
  /** The roles' permissions, sorted, de-duplicated, space-separated; absent when they grant none (RFC 6749 3.3: a scope has at least one token). */
  scope?: string;
  /** DEPRECATED (kept one release): see {@link deprecatedRole}. */
  role: string;
}

/**
 * The single role older downstream checks compare with: "admin" when held, else the first role
 * other than "user", else "user". For an account migrated from the single `users.role`, that is
 * exactly its old value.
 */
export function deprecatedRole(roles: readonly string[]): string {
  if (roles.includes(ADMIN_ROLE)) return ADMIN_ROLE;
  return [...roles].sort().find((role) => role !== DEFAULT_ROLE) ?? DEFAULT_ROLE;
}

/** The permissions the roles grant, sorted and de-duplicated; a role missing from the map grants none. */
export function permissionsOf(roles: readonly string[], map: RolePermissions): string[] {
  return [...new Set(roles.flatMap((role) => map.get(role) ?? []))].sort();
}

/** The role claims of an access token for a user holding `roles`. */
export function roleClaims(roles: readonly string[], map: RolePermissions): RoleClaims {
  const sorted = [...new Set(roles)].sort();
  const permissions = permissionsOf(sorted, map);
  return { roles: sorted, ...(permissions.length > 0 ? { scope: permissions.join(" ") } : {}), role: deprecatedRole(sorted) };
}

/** The permissions of a `scope` claim. */
export const scopesOf = (scope: string | undefined): string[] => (scope ? scope.split(" ").filter(Boolean) : []);
