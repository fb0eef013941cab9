import { describe, expect, it } from "vitest";
import { backgroundTasks, CLIENT, unitServices } from "../../test/unit";
import { LAST_USED_GRAIN_MS, MAX_KEYS_PER_OWNER } from "./service";

const ADMIN = { ip: "192.0.2.200", userAgent: "ops-console", actorId: "admin-api-token" };
const DAY = 24 * 3600 * 1000;

/** A user with a session and the API-key service, on memory stores with a clock the test moves. */
async function withUser(options: Parameters<typeof unitServices>[0] = {}) {
  const unit = unitServices(options);
  const { user, session } = await unit.register("ada@example.com");
  const { apiKeys, tokens, sessions } = unit.services;
  const owner = { userId: user.id, roles: user.roles };
  const actor = { ...CLIENT, sessionId: session.familyId };
  const create = (request: Parameters<typeof apiKeys.create>[1] = { name: "ci" }) => apiKeys.create(owner, request, actor);
  /** An exchange, and the background work it started (the last-used write). */
  const exchange = async (key: { id: string; key: string }, scope?: string) => {
    const { background, settle } = backgroundTasks();
    try {
      return await apiKeys.exchange({ clientId: key.id, secret: key.key, scope }, background);
    } finally {
      await settle();
    }
  };
  return { ...unit, user, session, apiKeys, tokens, sessions, owner, actor, create, exchange };
}

describe("creating a key", () => {
  it("defaults to every permission the user has now and no expiry; stores the hash only, with an event", async () => {
    const u = await withUser();
    const created = await u.create();
    expect(created).toMatchObject({ name: "ci", scopes: ["profile:read"], expiresAt: null, lastUsedAt: null, createdAt: u.clock.now });
    const stored = u.storage.apiKeys.get(created.id)!;
    expect(JSON.stringify(stored)).not.toContain(created.key.slice(5));
    expect(u.storage.events.at(-1)).toMatchObject({ type: "api_key_created", userId: u.user.id, sessionId: u.session.familyId, detail: created.id });
  });

  it("refuses scopes beyond the owner's permissions, naming `scopes`", async () => {
    const u = await withUser();
    await expect(u.create({ name: "ci", scopes: ["users:manage"] })).rejects.toMatchObject({ code: "invalid_request", detail: { field: "scopes" } });
    expect(u.storage.apiKeys.size).toBe(0);
  });

  it(`allows ${MAX_KEYS_PER_OWNER} usable keys per owner; an expired one no longer counts`, async () => {
    const u = await withUser();
    await u.create({ name: "short", expiresInDays: 1 });
    for (let i = 1; i < MAX_KEYS_PER_OWNER; i++) await u.create({ name: `key ${i}` });
    await expect(u.create()).rejects.toMatchObject({ code: "invalid_request" });
    u.clock.advance(DAY);
    expect((await u.create()).name).toBe("ci");
  });

  it("a service account's key needs explicit scopes from ROLE_PERMISSIONS and a valid name", async () => {
    const u = await withUser();
    const create = (serviceAccount: string, scopes?: string[]) => u.apiKeys.create({ serviceAccount }, { name: "sync", scopes }, ADMIN);
    await expect(create("billing-sync")).rejects.toMatchObject({ detail: { field: "scopes" } });
    await expect(create("Billing Sync", ["profile:read"])).rejects.toMatchObject({ detail: { field: "service_account" } });
    await expect(create("billing-sync", ["billing:write"])).rejects.toMatchObject({ detail: { field: "scopes" } });
    expect((await create("billing-sync", ["users:manage"])).scopes).toEqual(["users:manage"]);
    expect(u.storage.events.at(-1)).toMatchObject({ type: "api_key_created", userId: "svc:billing-sync", actorId: "admin-api-token" });
  });
});

describe("exchanging a key", () => {
  it("issues a token for the owner with the key as client and session, its scopes, and no roles", async () => {
    const u = await withUser();
    const key = await u.create();
    const issued = await u.exchange(key);
    expect(issued).toMatchObject({ scopes: ["profile:read"], expiresIn: 900 });
    const claims = await u.tokens.authenticate(issued.accessToken);
    expect(claims).toMatchObject({ sub: u.user.id, client_id: key.id, sid: key.id, scope: "profile:read", roles: [] });
    expect(claims.role).toBeUndefined();
  });

  it("refuses a wrong secret, an unknown id and a revoked key alike (invalid_client)", async () => {
    const u = await withUser();
    const key = await u.create();
    const refusals = [{ ...key, key: `etsk_${"x".repeat(43)}` }, { ...key, id: crypto.randomUUID() }, { ...key, key: "not-a-key" }];
    for (const presented of refusals) await expect(u.exchange(presented)).rejects.toMatchObject({ code: "invalid_client" });
    await u.apiKeys.revoke({ userId: u.user.id }, key.id, u.actor);
    await expect(u.exchange(key)).rejects.toMatchObject({ code: "invalid_client" });
  });

  it("an expiring key works until its expiry and not at it", async () => {
    const u = await withUser();
    const key = await u.create({ name: "week", expiresInDays: 7 });
    u.clock.advance(7 * DAY - 1);
    expect((await u.exchange(key)).scopes).toEqual(["profile:read"]);
    u.clock.advance(1);
    await expect(u.exchange(key)).rejects.toMatchObject({ code: "invalid_client" });
  });

  it("refuses the key of a disabled user", async () => {
    const u = await withUser();
    const key = await u.create();
    await u.services.accounts.disable(u.user.id, { id: "admin-api-token", ...CLIENT });
    await expect(u.exchange(key)).rejects.toMatchObject({ code: "invalid_client" });
  });

  it("uses only what the owner still has: a revoked role narrows the next token", async () => {
    const u = await withUser();
    await u.services.roles.grant(u.user.id, "admin", { id: "admin-api-token", ...CLIENT });
    const key = await u.apiKeys.create({ userId: u.user.id, roles: ["user", "admin"] }, { name: "ops", scopes: ["profile:read", "users:manage"] }, u.actor);
    expect((await u.exchange(key)).scopes).toEqual(["profile:read", "users:manage"]);
    await u.services.roles.revoke(u.user.id, "admin", { id: "admin-api-token", ...CLIENT });
    expect((await u.exchange(key)).scopes).toEqual(["profile:read"]);
    await expect(u.exchange(key, "users:manage")).rejects.toMatchObject({ code: "invalid_scope" });
  });

  it("writes last_used_at at most once per key per hour", async () => {
    const u = await withUser();
    const key = await u.create();
    const writes = () => u.storage.apiKeyWrites;
    const before = writes();
    await u.exchange(key);
    expect(writes() - before).toBe(1);
    expect(u.storage.apiKeys.get(key.id)!.lastUsedAt).toBe(u.clock.now);
    const firstUse = u.clock.now;
    for (let i = 0; i < 5; i++) {
      u.clock.advance(LAST_USED_GRAIN_MS / 6);
      await u.exchange(key);
    }
    u.clock.advance(LAST_USED_GRAIN_MS / 6);
    await u.exchange(key);
    expect(writes() - before).toBe(1);
    // More than an hour after the write it recorded:
    u.clock.advance(1);
    await u.exchange(key);
    expect(writes() - before).toBe(2);
    expect(u.storage.apiKeys.get(key.id)!.lastUsedAt).toBe(firstUse + LAST_USED_GRAIN_MS + 1);
  });

  it("is rate limited per key", async () => {
    const u = await withUser({ limits: { perApiKey: 2 } });
    const [key, other] = [await u.create(), await u.create({ name: "other" })];
    await u.exchange(key);
    await u.exchange(key);
    await expect(u.exchange(key)).rejects.toMatchObject({ code: "rate_limited" });
    expect((await u.exchange(other)).scopes).toEqual(["profile:read"]);
  });
});

describe("revoking keys", () => {
  it("one KV entry for the key (its tokens are refused), then D1 with the event; idempotent", async () => {
    const u = await withUser();
    const key = await u.create();
    const { accessToken } = await u.exchange(key);
    const kvWrites = u.storage.kvWrites;
    await u.apiKeys.revoke({ userId: u.user.id }, key.id, u.actor);
    expect(u.storage.kvWrites - kvWrites).toBe(1);
    expect(u.storage.kvGet(`revoked-sid:${key.id}`)).toBe("1");
    await expect(u.tokens.authenticate(accessToken)).rejects.toMatchObject({ code: "invalid_token" });
    await u.apiKeys.revoke({ userId: u.user.id }, key.id, u.actor);
    expect(u.storage.kvWrites - kvWrites).toBe(1);
    expect(u.storage.events.filter((e) => e.type === "api_key_revoked")).toHaveLength(1);
  });

  it("is made only through a live session of its owner: one revoked meanwhile gets no key (invalid_token)", async () => {
    const u = await withUser();
    await u.sessions.revoke(u.session.familyId, u.user.id, "logout", { type: "logout" });
    await expect(u.create({ name: "late" })).rejects.toMatchObject({ code: "invalid_token" });
    expect(await u.apiKeys.list(u.owner)).toEqual([]);
  });

  it("another owner's key is not_found and stays usable", async () => {
    const u = await withUser();
    const { user: other, session: theirSession } = await u.register("bob@example.com");
    const theirs = await u.apiKeys.create({ userId: other.id, roles: other.roles }, { name: "bob's" }, { ...CLIENT, sessionId: theirSession.familyId });
    await expect(u.apiKeys.revoke({ userId: u.user.id }, theirs.id, u.actor)).rejects.toMatchObject({ code: "not_found" });
    await expect(u.apiKeys.revoke({ serviceAccount: "bob" }, theirs.id, u.actor)).rejects.toMatchObject({ code: "not_found" });
    expect((await u.exchange(theirs)).scopes).toEqual(["profile:read"]);
  });

  it("revokeAll revokes every usable key of the owner, one KV entry each", async () => {
    const u = await withUser();
    const keys = [await u.create({ name: "a" }), await u.create({ name: "b" }), await u.create({ name: "c" })];
    const kvWrites = u.storage.kvWrites;
    expect(await u.apiKeys.revokeAll({ userId: u.user.id }, u.actor)).toBe(3);
    expect(u.storage.kvWrites - kvWrites).toBe(3);
    for (const key of keys) await expect(u.exchange(key)).rejects.toMatchObject({ code: "invalid_client" });
    expect(await u.apiKeys.list({ userId: u.user.id })).toEqual([]);
  });

  it("revokeAll: a key that just expired still gets its KV entry (its last token lives on), one long expired none", async () => {
    const u = await withUser();
    const longExpired = await u.create({ name: "long expired", expiresInDays: 1 });
    u.clock.advance(DAY - 60_000);
    const justExpired = await u.create({ name: "just expired", expiresInDays: 1 });
    u.clock.advance(DAY - 60_000);
    const { accessToken } = await u.exchange(justExpired);
    u.clock.advance(2 * 60_000);
    await expect(u.exchange(justExpired)).rejects.toMatchObject({ code: "invalid_client" });
    expect((await u.tokens.authenticate(accessToken)).sid).toBe(justExpired.id);
    const kvWrites = u.storage.kvWrites;
    expect(await u.apiKeys.revokeAll({ userId: u.user.id }, u.actor)).toBe(2);
    expect(u.storage.kvWrites - kvWrites).toBe(1);
    expect(u.storage.kvGet(`revoked-sid:${longExpired.id}`)).toBeNull();
    await expect(u.tokens.authenticate(accessToken)).rejects.toMatchObject({ code: "invalid_token" });
  });
});

describe("a key's token elsewhere", () => {
  it("has no session: requireLive refuses it; introspection checks the key", async () => {
    const u = await withUser();
    const key = await u.create();
    const claims = await u.tokens.authenticate((await u.exchange(key)).accessToken);
    await expect(u.sessions.requireLive(claims)).rejects.toMatchObject({ code: "invalid_token" });
    expect(await u.apiKeys.isTokenActive(claims)).toBe(true);
    expect(await u.apiKeys.isTokenActive({ ...claims, sub: "someone-else" })).toBe(false);
    expect(await u.apiKeys.isTokenActive({ ...claims, roles: ["admin"] })).toBe(false);
    expect(await u.apiKeys.isTokenActive({ ...claims, scope: "profile:read users:manage" })).toBe(false);
    u.storage.apiKeys.get(key.id)!.revokedAt = u.clock.now;
    expect(await u.apiKeys.isTokenActive(claims)).toBe(false);
  });
});
