import { describe, expect, it } from "vitest";
import { StorageUnavailableError } from "../domain-errors";
import { CLIENT, unitServices } from "../../test/unit";
import { MAX_ROLES_PER_USER } from "./claims";

const ADMIN = { id: "admin-api-token", ip: "192.0.2.200", userAgent: "ops-console" };

/** A user with a session, and what the tests look at. */
async function withUser(options: Parameters<typeof unitServices>[0] = {}) {
  const unit = unitServices(options);
  const { user, session } = await unit.register("ada@example.com");
  const { roles, tokens, sessions } = unit.services;
  const claimsOf = (accessToken: string) => tokens.verify(accessToken);
  /** Refreshes the session's current token. */
  let refreshToken = session.refreshToken;
  const refresh = async () => {
    const next = await sessions.refresh(refreshToken, CLIENT);
    refreshToken = next.refreshToken;
    return next;
  };
  const roleEvents = () => unit.storage.events.filter((e) => e.type === "role_granted" || e.type === "role_revoked");
  return { ...unit, user, session, roles, claimsOf, refresh, roleEvents };
}

describe("granting a role", () => {
  it("shows in the tokens of the user's next refresh, not in the live one; recorded with the actor", async () => {
    const u = await withUser();
    const before = await u.claimsOf(u.session.accessToken);
    expect(before).toMatchObject({ roles: ["user"], scope: "profile:read", role: "user" });

    const { grant, created } = await u.roles.grant(u.user.id, "admin", ADMIN);
    expect(created).toBe(true);
    expect(grant).toEqual({ role: "admin", grantedAt: u.clock.now, grantedBy: "admin-api-token" });
    expect(await u.services.tokens.authenticate(u.session.accessToken)).toMatchObject({ roles: ["user"] });
    const next = await u.refresh();
    expect(await u.claimsOf(next.accessToken)).toMatchObject({ roles: ["admin", "user"], scope: "profile:read roles:manage users:manage", role: "admin" });
    expect((await u.roles.list(u.user.id)).map((g) => g.role)).toEqual(["user", "admin"]);
    expect(u.roleEvents()).toMatchObject([{ type: "role_granted", userId: u.user.id, actorId: "admin-api-token", detail: "admin", ip: ADMIN.ip, userAgent: ADMIN.userAgent }]);
  });

  it("is idempotent: a role already held is answered as it was granted, with no second event", async () => {
    const u = await withUser();
    const first = await u.roles.grant(u.user.id, "admin", ADMIN);
    u.clock.advance(5_000);
    const again = await u.roles.grant(u.user.id, "admin", { ...ADMIN, id: "someone-else" });
    expect(again).toEqual({ grant: first.grant, created: false });
    expect(u.roleEvents()).toHaveLength(1);
  });

  it(`allows at most ${MAX_ROLES_PER_USER} roles per user: one more is invalid_request naming the role`, async () => {
    const u = await withUser();
    for (let i = 1; i < MAX_ROLES_PER_USER; i++) await u.roles.grant(u.user.id, `role-${i}`, ADMIN);
    await expect(u.roles.grant(u.user.id, "one-too-many", ADMIN)).rejects.toMatchObject({ code: "invalid_request", detail: { field: "role" } });
    expect(await u.roles.list(u.user.id)).toHaveLength(MAX_ROLES_PER_USER);
    // Granting one already held stays fine at the limit.
    expect((await u.roles.grant(u.user.id, "role-1", ADMIN)).created).toBe(false);
  });

  it.each(["Admin", "", "1role", "a role", "r".repeat(33), "admin/x", "é"])("refuses the role name %j", async (role) => {
    const u = await withUser();
    await expect(u.roles.grant(u.user.id, role, ADMIN)).rejects.toMatchObject({ code: "invalid_request", detail: { field: "role" } });
    await expect(u.roles.revoke(u.user.id, role, ADMIN)).rejects.toMatchObject({ code: "invalid_request", detail: { field: "role" } });
  });

  it("an unknown user is not_found for list, grant and revoke, and nothing is written", async () => {
    const u = await withUser();
    const nobody = crypto.randomUUID();
    await expect(u.roles.list(nobody)).rejects.toMatchObject({ code: "not_found" });
    await expect(u.roles.grant(nobody, "admin", ADMIN)).rejects.toMatchObject({ code: "not_found" });
    await expect(u.roles.revoke(nobody, "admin", ADMIN)).rejects.toMatchObject({ code: "not_found" });
    expect(u.storage.kvWrites).toBe(0);
    expect(u.roleEvents()).toEqual([]);
  });

  it("the profile shows the new roles at once (its per-isolate cache is dropped)", async () => {
    const u = await withUser();
    expect((await u.services.accounts.profile(u.user.id)).roles).toEqual(["user"]);
    await u.roles.grant(u.user.id, "admin", ADMIN);
    expect(await u.services.accounts.profile(u.user.id)).toMatchObject({ roles: ["admin", "user"], role: "admin" });
  });
});

describe("revoking a role", () => {
  it("cuts off the user's live access tokens; the session goes on and its next token lacks the role", async () => {
    const u = await withUser();
    await u.roles.grant(u.user.id, "admin", ADMIN);
    const adminToken = (await u.refresh()).accessToken;
    expect(await u.roles.revoke(u.user.id, "admin", ADMIN)).toBe(true);
    for (const token of [u.session.accessToken, adminToken]) await expect(u.services.tokens.authenticate(token)).rejects.toMatchObject({ code: "invalid_token" });
    u.clock.advance(1_000); // the cutoff covers the second it was written in
    const next = await u.refresh();
    expect(await u.services.tokens.authenticate(next.accessToken)).toMatchObject({ roles: ["user"], scope: "profile:read", role: "user" });
    expect(u.roleEvents().map((e) => [e.type, e.detail, e.actorId])).toEqual([
      ["role_granted", "admin", "admin-api-token"],
      ["role_revoked", "admin", "admin-api-token"],
    ]);
  });

  it("is idempotent: a role not held changes nothing, writes no cutoff and records nothing", async () => {
    const u = await withUser();
    expect(await u.roles.revoke(u.user.id, "admin", ADMIN)).toBe(false);
    expect(u.storage.kvWrites).toBe(0);
    expect(u.roleEvents()).toEqual([]);
    expect((await u.services.tokens.authenticate(u.session.accessToken)).sub).toBe(u.user.id);
  });

  it("may take even the role user: the account still logs in and refreshes, with no role and no scope", async () => {
    const u = await withUser();
    await u.roles.revoke(u.user.id, "user", ADMIN);
    u.clock.advance(1_000);
    const claims = await u.services.tokens.authenticate((await u.refresh()).accessToken);
    expect(claims).toMatchObject({ roles: [], role: "user" });
    expect(claims.scope).toBeUndefined();
  });

  it("writes the cutoff before D1: when D1 fails the tokens are refused and the role is still held (a retry completes it)", async () => {
    const u = await withUser({
      stores: (stores) => ({ roles: { ...stores.roles, list: stores.roles.list.bind(stores.roles), revoke: () => Promise.reject(new StorageUnavailableError(new Error("D1 down"))) } }),
    });
    await expect(u.roles.revoke(u.user.id, "user", ADMIN)).rejects.toMatchObject({ code: "storage_unavailable" });
    await expect(u.services.tokens.authenticate(u.session.accessToken)).rejects.toMatchObject({ code: "invalid_token" });
    expect((await u.roles.list(u.user.id)).map((g) => g.role)).toEqual(["user"]);
  });

  it("when KV cannot be written, nothing changes in D1", async () => {
    const u = await withUser({
      stores: (stores) => ({ revocations: { ...stores.revocations, lookup: stores.revocations.lookup.bind(stores.revocations), setUserCutoff: () => Promise.reject(new StorageUnavailableError(new Error("KV down"))) } }),
    });
    await expect(u.roles.revoke(u.user.id, "user", ADMIN)).rejects.toMatchObject({ code: "storage_unavailable" });
    expect((await u.roles.list(u.user.id)).map((g) => g.role)).toEqual(["user"]);
    expect(u.roleEvents()).toEqual([]);
  });
});

describe("authorising an access token for a permission", () => {
  it("needs the permission in the token's scope: insufficient_scope naming it otherwise", async () => {
    const u = await withUser();
    const claims = await u.claimsOf(u.session.accessToken);
    await expect(u.roles.authorize(claims, "roles:manage")).rejects.toMatchObject({ code: "insufficient_scope", message: "insufficient permissions", detail: { scope: "roles:manage" } });
    await u.roles.authorize(claims, "profile:read");
  });

  it("a role taken away in D1 stops counting at once, before any cutoff reaches KV", async () => {
    const u = await withUser();
    await u.roles.grant(u.user.id, "admin", ADMIN);
    const claims = await u.claimsOf((await u.refresh()).accessToken);
    await u.roles.authorize(claims, "roles:manage");
    u.storage.roles.set(u.user.id, u.storage.roles.get(u.user.id)!.filter((g) => g.role !== "admin"));
    await expect(u.roles.authorize(claims, "roles:manage")).rejects.toMatchObject({ code: "insufficient_scope" });
  });

  it("a token whose session has ended is invalid_token, whatever its scope", async () => {
    const u = await withUser();
    const claims = await u.claimsOf(u.session.accessToken);
    u.storage.families.get(u.session.familyId)!.revokedAt = u.clock.now;
    await expect(u.roles.authorize(claims, "profile:read")).rejects.toMatchObject({ code: "invalid_token" });
  });
});

describe("introspection", () => {
  it("a token claiming a role its user no longer holds is inactive, even before the cutoff reaches KV", async () => {
    const u = await withUser();
    await u.roles.grant(u.user.id, "admin", ADMIN);
    const token = (await u.refresh()).accessToken;
    expect(await u.services.sessions.introspect(token)).toMatchObject({ roles: ["admin", "user"] });
    u.storage.roles.set(u.user.id, u.storage.roles.get(u.user.id)!.filter((g) => g.role !== "admin"));
    expect(await u.services.sessions.introspect(token)).toBeUndefined();
    // A token claiming fewer roles than the user now holds stays active.
    expect(await u.services.sessions.introspect(u.session.accessToken)).toMatchObject({ roles: ["user"] });
  });
});
