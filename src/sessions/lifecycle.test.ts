import { describe, expect, it } from "vitest";
import { CLIENT, unitServices } from "../../test/unit";
import { parseRefreshToken, sealChildToken } from "./refresh-token";
import { storedHash } from "../../test/stored-hash";

describe("revocation costs O(1) KV writes", () => {
  it("a family that issued 2,000 access tokens is revoked with one KV write, and every one of them is refused", async () => {
    const unit = unitServices();
    const { user, session } = await unit.register();
    const accessTokens = [session.accessToken];
    let token = session.refreshToken;
    for (let i = 0; i < 2_000; i++) {
      unit.clock.advance(1_000);
      const next = await unit.services.sessions.refresh(token, CLIENT);
      accessTokens.push(next.accessToken);
      token = next.refreshToken;
    }
    const writes = unit.storage.kvWrites;
    await unit.services.sessions.revokeOwn(user.id, session.familyId, CLIENT);
    expect(unit.storage.kvWrites - writes).toBe(1);
    // The older ones have expired anyway; every one still inside its life is refused.
    const live = accessTokens.slice(-800);
    for (const accessToken of [live[0]!, live[400]!, live.at(-1)!]) {
      await expect(unit.services.tokens.authenticate(accessToken)).rejects.toMatchObject({ code: "invalid_token" });
    }
  });

  it("logout-all writes the per-user cutoff first: if KV fails, no family is revoked", async () => {
    const unit = unitServices({
      stores: (stores) => ({
        revocations: { ...stores.revocations, setUserCutoff: () => Promise.reject(new Error("KV down")) },
      }),
    });
    const { user, session } = await unit.register();
    await expect(unit.services.sessions.revokeAll(user.id, session.familyId, CLIENT)).rejects.toThrow("KV down");
    expect(unit.storage.families.get(session.familyId)!.revokedAt).toBeNull();
  });

  it("logout-all refuses every access token issued until now, in any family, with one KV write", async () => {
    const unit = unitServices();
    const { user, session } = await unit.register();
    const other = await unit.services.accounts.login({ email: user.email, password: "correct horse battery staple" }, "web", CLIENT);
    const writes = unit.storage.kvWrites;
    await unit.services.sessions.revokeAll(user.id, session.familyId, CLIENT);
    expect(unit.storage.kvWrites - writes).toBe(1);
    for (const accessToken of [session.accessToken, other.session.accessToken]) {
      await expect(unit.services.tokens.authenticate(accessToken)).rejects.toMatchObject({ code: "invalid_token" });
    }
    expect([...unit.storage.families.values()].every((f) => f.revokedReason === "logout_all")).toBe(true);
  });
});

describe("listing and ending sessions", () => {
  it("lists the user's live families, most recently used first, with exactly the caller's marked current", async () => {
    const unit = unitServices();
    const { user, session } = await unit.register();
    unit.clock.advance(1_000);
    const second = await unit.services.accounts.login({ email: user.email, password: "correct horse battery staple" }, "web", CLIENT);
    unit.clock.advance(1_000);
    const ended = await unit.services.accounts.login({ email: user.email, password: "correct horse battery staple" }, "web", CLIENT);
    await unit.services.sessions.revokeOwn(user.id, ended.session.familyId, CLIENT);
    const list = await unit.services.sessions.list(user.id, session.familyId);
    expect(list.map((s) => [s.id, s.current])).toEqual([
      [second.session.familyId, false],
      [session.familyId, true],
    ]);
    expect(list[1]).toMatchObject({ clientId: "web", userAgent: CLIENT.userAgent, lastUsedAt: list[1]!.createdAt });
  });

  it("a user cannot end another user's session (not_found), and ending one's own twice is fine", async () => {
    const unit = unitServices();
    const alice = await unit.register();
    const bob = await unit.register();
    await expect(unit.services.sessions.revokeOwn(bob.user.id, alice.session.familyId, CLIENT)).rejects.toMatchObject({ code: "not_found" });
    expect(unit.storage.families.get(alice.session.familyId)!.revokedAt).toBeNull();
    await unit.services.sessions.revokeOwn(alice.user.id, alice.session.familyId, CLIENT);
    await unit.services.sessions.revokeOwn(alice.user.id, alice.session.familyId, CLIENT);
    expect(unit.storage.families.get(alice.session.familyId)!.revokedReason).toBe("session_revoked");
  });

  it("logout ends the refresh token's family and the access token's session, even a revoked or foreign pair", async () => {
    const unit = unitServices();
    const { user, session } = await unit.register();
    const phone = await unit.services.accounts.login({ email: user.email, password: "correct horse battery staple" }, "web", CLIENT);
    await unit.services.sessions.logout({ refreshToken: session.refreshToken, accessToken: phone.session.accessToken }, CLIENT);
    expect(unit.storage.families.get(session.familyId)!.revokedReason).toBe("logout");
    expect(unit.storage.families.get(phone.session.familyId)!.revokedReason).toBe("logout");
    await expect(unit.services.tokens.authenticate(phone.session.accessToken)).rejects.toMatchObject({ code: "invalid_token" });
    await unit.services.sessions.logout({ refreshToken: "garbage", accessToken: "not.a.jwt" }, CLIENT);
  });
});

describe("refresh tokens issued before the one-row-per-family upgrade", () => {
  /** A family as the migration leaves it: its live legacy token as generation 0, its parent for the grace window. */
  async function migratedFamily() {
    const unit = unitServices();
    const { user, session } = await unit.register();
    const legacyParent = "P".repeat(43);
    const legacyCurrent = "C".repeat(43);
    Object.assign(unit.storage.families.get(session.familyId)!, {
      generation: 0,
      tokenHash: await storedHash(legacyCurrent),
      previousHash: await storedHash(legacyParent),
      sealedToken: await sealChildToken(legacyParent, legacyCurrent),
    });
    for (const token of [legacyParent, legacyCurrent, "A".repeat(43)]) unit.storage.legacyTokens.set(await storedHash(token), session.familyId);
    return { unit, user, session, legacyParent, legacyCurrent, legacyAncestor: "A".repeat(43) };
  }

  it("the live legacy token rotates once more; its child comes in the new form", async () => {
    const { unit, session, legacyCurrent } = await migratedFamily();
    const next = await unit.services.sessions.refresh(legacyCurrent, CLIENT);
    expect(parseRefreshToken(next.refreshToken)).toMatchObject({ kind: "family", familyId: session.familyId, generation: 1 });
    expect((await unit.services.sessions.refresh(next.refreshToken, CLIENT)).familyId).toBe(session.familyId);
  });

  it("its parent still gets the grace window, and an older legacy token is reuse", async () => {
    const { unit, session, legacyParent, legacyCurrent, legacyAncestor } = await migratedFamily();
    expect((await unit.services.sessions.refresh(legacyParent, CLIENT)).refreshToken).toBe(legacyCurrent);
    await expect(unit.services.sessions.refresh(legacyAncestor, CLIENT)).rejects.toMatchObject({ code: "invalid_grant" });
    expect(unit.storage.families.get(session.familyId)!.revokedReason).toBe("reuse_detected");
  });

  it("a legacy-shaped token that was never issued is unknown", async () => {
    const { unit, session } = await migratedFamily();
    await expect(unit.services.sessions.refresh("Z".repeat(43), CLIENT)).rejects.toMatchObject({ code: "invalid_grant" });
    expect(unit.storage.families.get(session.familyId)!.revokedAt).toBeNull();
  });
});
