import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CLIENT, unitServices } from "../../test/unit";
import { getRefreshTokenKeys, type RefreshTokenKeys } from "../keys/refresh-token-keys";
import { deriveChildToken, mintRefreshToken, parseRefreshToken } from "./refresh-token";
import { storedHash } from "../../test/stored-hash";

const GRACE_MS = 10_000;

/** A user with a session, and a function that walks its chain: each call rotates the current token. */
async function chain(options: Parameters<typeof unitServices>[0] = {}) {
  const unit = unitServices(options);
  const { user, session } = await unit.register();
  const tokens = [session.refreshToken];
  const accessTokens = [session.accessToken];
  const rotate = async () => {
    const next = await unit.services.sessions.refresh(tokens.at(-1), CLIENT);
    tokens.push(next.refreshToken);
    accessTokens.push(next.accessToken);
    return next;
  };
  const family = () => unit.storage.families.get(session.familyId)!;
  const refresh = (token: unknown) => unit.services.sessions.refresh(token, CLIENT);
  return { ...unit, user, session, tokens, accessTokens, rotate, family, refresh };
}

const invalidGrant = { code: "invalid_grant" };

describe("rotation", () => {
  it("advances the family's one row to the child: generation + 1, no other record", async () => {
    const c = await chain();
    const eventsBefore = c.storage.events.length;
    const next = await c.rotate();
    expect(next.familyId).toBe(c.session.familyId);
    expect(parseRefreshToken(next.refreshToken)).toMatchObject({ kind: "family", familyId: c.session.familyId, generation: 1 });
    expect(c.family()).toMatchObject({ generation: 1, tokenHash: await storedHash(next.refreshToken), previousHash: await storedHash(c.tokens[0]!) });
    expect(c.storage.families.size).toBe(1);
    expect(c.storage.events.length).toBe(eventsBefore);
    expect(c.storage.telemetry.map((p) => p.outcome)).toEqual(["rotated"]);
    expect((await c.services.tokens.authenticate(next.accessToken)).sid).toBe(c.session.familyId);
  });

  it("under 20 concurrent refreshes with one token, exactly one child exists and every answer is that child", async () => {
    const c = await chain();
    const answers = await Promise.all(Array.from({ length: 20 }, () => c.refresh(c.tokens[0])));
    expect(new Set(answers.map((a) => a.refreshToken)).size).toBe(1);
    expect(new Set(answers.map((a) => a.accessToken)).size).toBe(1);
    expect(c.family()).toMatchObject({ generation: 1, revokedAt: null });
  });

  it("the cookie's end never passes the family's absolute end", async () => {
    const c = await chain({ config: { sessionAbsoluteTtlMs: 60_000 } });
    c.clock.advance(30_000);
    expect((await c.rotate()).refreshExpiresAt).toBe(c.session.refreshExpiresAt);
  });
});

describe("grace window", () => {
  it("the parent, retried while its child is unused and younger than the window, gets the SAME child and access token", async () => {
    const c = await chain();
    const first = await c.rotate();
    c.clock.advance(GRACE_MS - 1);
    const retry = await c.refresh(c.tokens[0]);
    expect(retry).toMatchObject({ refreshToken: first.refreshToken, accessToken: first.accessToken, familyId: first.familyId });
    expect(retry.expiresIn).toBe(first.expiresIn - Math.floor((GRACE_MS - 1) / 1000));
    expect(c.family()).toMatchObject({ generation: 1, revokedAt: null });
    expect(c.storage.telemetry.map((p) => p.outcome)).toEqual(["rotated", "grace_retry"]);
    expect((await c.refresh(first.refreshToken)).familyId).toBe(c.session.familyId);
  });

  it("nothing of the child but its hash is stored: the retry derives it again from the parent", async () => {
    const c = await chain();
    const first = await c.rotate();
    const secret = first.refreshToken.split(".")[2]!;
    expect(c.family().sealedToken).toBeNull();
    expect(JSON.stringify(c.family())).not.toContain(secret);
    c.clock.advance(GRACE_MS - 1);
    expect((await c.refresh(c.tokens[0])).refreshToken).toBe(first.refreshToken);
  });

  it("a REFRESH_TOKEN_KEY rotation inside the window: the parent still gets the same child, made under the now previous key", async () => {
    const keyText = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const before = keyText();
    let keys: RefreshTokenKeys = await getRefreshTokenKeys({ REFRESH_TOKEN_KEY: before });
    const c = await chain({ refreshKeys: async () => keys });
    const first = await c.rotate();
    keys = await getRefreshTokenKeys({ REFRESH_TOKEN_KEY: keyText(), PREVIOUS_REFRESH_TOKEN_KEY: before });
    c.clock.advance(1_000);
    const retry = await c.refresh(c.tokens[0]);
    expect(retry).toMatchObject({ refreshToken: first.refreshToken, accessToken: first.accessToken });
    expect(c.family()).toMatchObject({ generation: 1, revokedAt: null });
    // Once the old key is dropped, the child is no longer authentic: refused, nothing revoked.
    keys = await getRefreshTokenKeys({ REFRESH_TOKEN_KEY: keyText() });
    await expect(c.refresh(first.refreshToken)).rejects.toMatchObject(invalidGrant);
    expect(c.family().revokedAt).toBeNull();
  });

  it("a retry that lands where the new REFRESH_TOKEN_KEY has not arrived yet: 503 retry_later, never a revocation", async () => {
    const keyText = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const old = keyText();
    const rolledOut = await getRefreshTokenKeys({ REFRESH_TOKEN_KEY: keyText(), PREVIOUS_REFRESH_TOKEN_KEY: old });
    const stale = await getRefreshTokenKeys({ REFRESH_TOKEN_KEY: old });
    let keys = stale;
    const c = await chain({ refreshKeys: async () => keys });
    keys = rolledOut; // this rotation runs where the new key is current
    const first = await c.rotate();
    keys = stale; // the retry lands where only the old key is known
    c.clock.advance(1_000);
    await expect(c.refresh(c.tokens[0])).rejects.toMatchObject({ code: "retry_later", detail: { retryAfterSeconds: 1 } });
    expect(c.family()).toMatchObject({ generation: 1, revokedAt: null });
    keys = rolledOut;
    expect((await c.refresh(c.tokens[0])).refreshToken).toBe(first.refreshToken);
  });

  it("a REFRESH_TOKEN_KEY rotation in two steps: where the new key is only the next one, its tokens already rotate (without that step they are refused)", async () => {
    const keyText = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    const [old, fresh] = [keyText(), keyText()];
    const stepOne = await getRefreshTokenKeys({ REFRESH_TOKEN_KEY: old, NEXT_REFRESH_TOKEN_KEY: fresh });
    const stepTwo = await getRefreshTokenKeys({ REFRESH_TOKEN_KEY: fresh, PREVIOUS_REFRESH_TOKEN_KEY: old });
    const withoutStepOne = await getRefreshTokenKeys({ REFRESH_TOKEN_KEY: old });
    let keys = stepOne;
    const c = await chain({ refreshKeys: async () => keys });
    keys = stepTwo; // a location already switched: the child is tagged with the new key
    await c.rotate();
    keys = withoutStepOne; // a location that has never heard of the new key refuses it (nothing changes)
    await expect(c.refresh(c.tokens[1])).rejects.toMatchObject(invalidGrant);
    keys = stepOne; // a location still on step one accepts it, and tags the next child with the old key
    await c.rotate();
    keys = stepTwo; // which the switched locations accept
    await c.rotate();
    expect(c.family()).toMatchObject({ generation: 3, revokedAt: null });
  });

  it("the key and an older token (and the row) are not enough to compute the live token: each rotation's nonce is gone with it", async () => {
    const c = await chain();
    await c.rotate();
    await c.rotate();
    const keys = await getRefreshTokenKeys(env);
    const { childNonce, generation } = c.family();
    // Everything a thief with the key, a D1 dump and the first token could try:
    const tries = [
      (await deriveChildToken(keys.current, childNonce!, c.tokens[0]!, c.session.familyId, generation)).token,
      (await deriveChildToken(keys.current, childNonce!, (await deriveChildToken(keys.current, childNonce!, c.tokens[0]!, c.session.familyId, 1)).token, c.session.familyId, generation)).token,
    ];
    for (const guess of tries) expect(guess).not.toBe(c.tokens[2]);
    // Only the parent with this nonce gives it (the grace retry).
    expect((await deriveChildToken(keys.current, childNonce!, c.tokens[1]!, c.session.familyId, generation)).token).toBe(c.tokens[2]);
  });

  it("once the window has passed, the parent is reuse: the family is revoked with one KV write", async () => {
    const c = await chain();
    await c.rotate();
    c.clock.advance(GRACE_MS);
    const writes = c.storage.kvWrites;
    await expect(c.refresh(c.tokens[0])).rejects.toMatchObject(invalidGrant);
    expect(c.family()).toMatchObject({ revokedReason: "reuse_detected", tokenHash: null });
    expect(c.storage.kvWrites - writes).toBe(1);
    expect(c.storage.events.at(-1)).toMatchObject({ type: "reuse_detected", detail: "parent_replayed_after_grace", sessionId: c.session.familyId });
    await expect(c.refresh(c.tokens[1])).rejects.toMatchObject(invalidGrant);
    await expect(c.services.tokens.authenticate(c.accessTokens[1]!)).rejects.toMatchObject({ code: "invalid_token" });
  });

  it("a grandparent is reuse even inside the window", async () => {
    const c = await chain();
    await c.rotate();
    await c.rotate();
    await expect(c.refresh(c.tokens[0])).rejects.toMatchObject(invalidGrant);
    expect(c.family().revokedReason).toBe("reuse_detected");
    expect(c.storage.events.at(-1)).toMatchObject({ type: "reuse_detected", detail: "ancestor_replayed" });
  });

  it("with the window disabled (0), any replay of the parent is reuse", async () => {
    const c = await chain({ config: { refreshGraceMs: 0 } });
    await c.rotate();
    await expect(c.refresh(c.tokens[0])).rejects.toMatchObject(invalidGrant);
    expect(c.family().revokedReason).toBe("reuse_detected");
  });
});

describe("reuse of any ancestor, however old", () => {
  for (const when of ["inside", "outside"] as const) {
    it(`the first token after 50 rotations, ${when} the window of the last one, revokes the family and every access token`, async () => {
      const c = await chain();
      for (let i = 0; i < 50; i++) await c.rotate();
      if (when === "outside") c.clock.advance(GRACE_MS + 1);
      const writes = c.storage.kvWrites;
      await expect(c.refresh(c.tokens[0])).rejects.toMatchObject(invalidGrant);
      expect(c.family().revokedReason).toBe("reuse_detected");
      expect(c.storage.kvWrites - writes).toBe(1);
      await expect(c.refresh(c.tokens[50])).rejects.toMatchObject(invalidGrant);
      for (const accessToken of [c.accessTokens[0]!, c.accessTokens[25]!, c.accessTokens[50]!]) {
        await expect(c.services.tokens.authenticate(accessToken)).rejects.toMatchObject({ code: "invalid_token" });
      }
    });
  }
});

describe("tokens the service never issued", () => {
  const random = (bytes: number) => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(bytes)))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

  it.each([0, 3, 5, 6, 99])("naming the real family at generation %i with a random secret: unknown, nothing changes", async (generation) => {
    const c = await chain();
    for (let i = 0; i < 5; i++) await c.rotate();
    const before = { ...c.family() };
    const writes = c.storage.kvWrites;
    const events = c.storage.events.length;
    await expect(c.refresh(`${c.session.familyId}.${generation}.${random(32)}.${random(16)}`)).rejects.toMatchObject(invalidGrant);
    expect(c.family()).toEqual(before);
    expect(c.storage.kvWrites).toBe(writes);
    expect(c.storage.events.length).toBe(events);
    expect((await c.refresh(c.tokens[5])).familyId).toBe(c.session.familyId);
  });

  it("signed with another key (a past generation): unknown, nothing changes", async () => {
    const c = await chain();
    for (let i = 0; i < 3; i++) await c.rotate();
    const otherKey = await crypto.subtle.importKey("raw", crypto.getRandomValues(new Uint8Array(32)), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const forged = (await mintRefreshToken({ current: otherKey, accepted: [otherKey] }, c.session.familyId, 1)).token;
    await expect(c.refresh(forged)).rejects.toMatchObject(invalidGrant);
    expect(c.family()).toMatchObject({ generation: 3, revokedAt: null });
  });

  it.each([undefined, "", "x", "a.b.c.d", 42, `${"A".repeat(43)}`])("malformed or unknown (%s): invalid_grant", async (token) => {
    const c = await chain();
    await expect(c.refresh(token)).rejects.toMatchObject(invalidGrant);
    expect(c.family().revokedAt).toBeNull();
  });
});

describe("families that ended", () => {
  const cases = {
    "past its absolute end": (c: Awaited<ReturnType<typeof chain>>) => c.clock.advance(c.services.config.sessionAbsoluteTtlMs),
    "idle beyond the timeout": (c: Awaited<ReturnType<typeof chain>>) => c.clock.advance(c.services.config.sessionIdleTimeoutMs),
    "revoked": (c: Awaited<ReturnType<typeof chain>>) => c.services.sessions.revoke(c.session.familyId, c.user.id, "logout", { type: "logout" }),
    "of a disabled user": (c: Awaited<ReturnType<typeof chain>>) => void (c.storage.users.get(c.user.id)!.disabledAt = c.clock.now),
  };
  for (const [name, end] of Object.entries(cases)) {
    it(`${name}: its current token is refused and nothing is revoked or rotated`, async () => {
      const c = await chain();
      await c.rotate();
      await end(c);
      const reason = c.family().revokedReason;
      const writes = c.storage.kvWrites;
      await expect(c.refresh(c.tokens[1])).rejects.toMatchObject(invalidGrant);
      await expect(c.refresh(c.tokens[0])).rejects.toMatchObject(invalidGrant);
      expect(c.family()).toMatchObject({ revokedReason: reason });
      expect(c.storage.kvWrites).toBe(writes);
    });
  }
});

describe("throttling", () => {
  it("retries, replays and refused tokens of one family are limited per family; rotations are not counted", async () => {
    const c = await chain({ limits: { perFamily: 2 } });
    for (let i = 0; i < 4; i++) await c.rotate();
    await c.refresh(c.tokens[3]);
    await c.refresh(c.tokens[3]);
    await expect(c.refresh(c.tokens[3])).rejects.toMatchObject({ code: "rate_limited" });
    expect(c.family().revokedAt).toBeNull();
  });

  it("a reuse revokes its family even once the family's quota is spent (the holder of a live token cannot switch detection off)", async () => {
    const c = await chain({ limits: { perFamily: 2 } });
    await c.rotate();
    // Whoever holds the live token spends the quota with answers that change nothing...
    for (let i = 0; i < 2; i++) await expect(c.services.sessions.refresh(c.tokens[1], CLIENT, "another-client")).rejects.toMatchObject(invalidGrant);
    await expect(c.services.sessions.refresh(c.tokens[1], CLIENT, "another-client")).rejects.toMatchObject({ code: "rate_limited" });
    // ...and the replay of the parent after the window is still reuse.
    c.clock.advance(GRACE_MS);
    await expect(c.refresh(c.tokens[0])).rejects.toMatchObject(invalidGrant);
    expect(c.family()).toMatchObject({ revokedReason: "reuse_detected" });
    await expect(c.refresh(c.tokens[1])).rejects.toMatchObject({ code: "rate_limited" });
  });
});
