import { describe, expect, it } from "vitest";
import { deprecatedRole, permissionsOf, roleClaims, scopesOf } from "./claims";

const MAP = new Map([
  ["user", ["profile:read"]],
  ["admin", ["users:manage", "roles:manage"]],
  ["support", ["profile:read", "users:manage"]],
]);

describe("role claims", () => {
  it("roles sorted without duplicates; scope the sorted, de-duplicated union of their permissions", () => {
    expect(roleClaims(["user", "support", "admin", "user"], MAP)).toEqual({
      roles: ["admin", "support", "user"],
      scope: "profile:read roles:manage users:manage",
      role: "admin",
    });
  });

  it("a role missing from the map grants nothing, and no permission at all means no scope claim", () => {
    expect(roleClaims(["auditor"], MAP)).toEqual({ roles: ["auditor"], role: "auditor" });
    expect(roleClaims([], MAP)).toEqual({ roles: [], role: "user" });
    expect(permissionsOf(["auditor", "user"], MAP)).toEqual(["profile:read"]);
  });

  it("the same roles in any order give the same claims (a grace-window retry reproduces its token)", () => {
    expect(roleClaims(["user", "admin"], MAP)).toEqual(roleClaims(["admin", "user"], MAP));
  });

  it("the deprecated role: admin when held, else the first role other than user, else user", () => {
    expect(deprecatedRole(["user", "admin", "billing"])).toBe("admin");
    expect(deprecatedRole(["user", "zeta", "billing"])).toBe("billing");
    // An account migrated from users.role = "zeta" holds ["user", "zeta"]: its old value.
    expect(deprecatedRole(["user", "zeta"])).toBe("zeta");
    expect(deprecatedRole(["user"])).toBe("user");
    expect(deprecatedRole([])).toBe("user");
  });

  it("reads a scope claim into permissions", () => {
    expect(scopesOf("a:b  c:d")).toEqual(["a:b", "c:d"]);
    expect(scopesOf(undefined)).toEqual([]);
    expect(scopesOf("")).toEqual([]);
  });
});
