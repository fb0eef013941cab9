/**
 * Refresh-token families at scale (DESIGN.md, Refresh-token families and Scale), on the real D1
 * path: one row per family whatever the number of rotations, reuse of ANY ancestor detected, and
 * forged or never-issued tokens that cannot hurt a real family.
 */
import { env } from "cloudflare:workers";
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import { getRefreshTokenKeys, type RefreshTokenKeys } from "../src/keys/refresh-token-keys";
import { mintRefreshToken } from "../src/sessions/refresh-token";
import { allRows } from "./databases";
import { callWith, cookieRefreshInit, eventsOf, familyRow, me, refreshWithCookie, register, rotate, updateFamily, type Login } from "./helpers";
import { expectError, expectInvalidGrant, wrapDatabases } from "./hardening";
import { storedHash } from "./stored-hash";

/** Row counts of every table of every user database. */
async function tableSizes(): Promise<Record<string, number>> {
  const tables = await allRows<{ name: string }>("select name from sqlite_master where type = 'table' and name not like '\\_cf\\_%' escape '\\' and name not like 'sqlite\\_%' escape '\\'");
  const names = [...new Set(tables.map((t) => t.name))].sort();
  expect(names).toEqual(expect.arrayContaining(["auth_events", "refresh_tokens", "sessions", "users"]));
  const sizes: Record<string, number> = {};
  for (const name of names) {
    const counts = await allRows<{ n: number }>(`select count(*) as n from "${name}"`);
    sizes[name] = counts.reduce((sum, row) => sum + row.n, 0);
  }
  return sizes;
}

/** Rotates `times` times; returns every refresh token of the chain (generation 0 first) and the last access token. */
async function rotations(user: Login, times: number) {
  const chain = [user.refreshToken];
  let accessToken = user.accessToken;
  for (let i = 0; i < times; i++) {
    const next = await rotate(chain.at(-1)!);
    chain.push(next.refreshToken);
    accessToken = next.accessToken;
  }
  return { chain, accessToken };
}

const random = (bytes: number) => base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));

async function foreignKeys(): Promise<RefreshTokenKeys> {
  const key = await crypto.subtle.importKey("raw", crypto.getRandomValues(new Uint8Array(32)), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return { current: key, accepted: [key] };
}

describe("one row per family", () => {
  it("20 rotations update the family's one row: no row is added to any table, generation 20", async () => {
    const user = await register();
    const before = await tableSizes();
    const { chain } = await rotations(user, 20);
    expect(await tableSizes()).toEqual(before);
    const row = await familyRow(user.sid);
    expect(row).toMatchObject({ generation: 20, revoked_at: null, token_hash: await storedHash(chain[20]!), previous_hash: await storedHash(chain[19]!) });
    expect(await allRows("select id from sessions where id = ?", user.sid)).toHaveLength(1);
    // The tokens carry the family id and their generation in the clear.
    expect(chain.map((token) => token.split(".").slice(0, 2).join("."))).toEqual(chain.map((_, g) => `${user.sid}.${g}`));
  });
});

describe("reuse of any ancestor revokes the family", () => {
  async function expectRevokedByReuse(user: Login, current: { refreshToken: string; accessToken: string }, detail: string) {
    expect(await familyRow(user.sid)).toMatchObject({ revoked_reason: "reuse_detected", token_hash: null, previous_hash: null, sealed_token: null });
    await expectError(await me(current.accessToken), 401, "invalid_token");
    await expectInvalidGrant(await refreshWithCookie(current.refreshToken));
    expect((await eventsOf(user.sid)).filter((e) => e.type === "reuse_detected")).toMatchObject([{ detail, user_id: user.userId }]);
  }

  it("the first token after 50 rotations, inside the grace window of the latest rotation", async () => {
    const user = await register();
    const { chain, accessToken } = await rotations(user, 50);
    await expectInvalidGrant(await refreshWithCookie(chain[0]!));
    await expectRevokedByReuse(user, { refreshToken: chain[50]!, accessToken }, "ancestor_replayed");
  });

  it("the first token after 50 rotations, outside the grace window", async () => {
    const user = await register();
    const { chain, accessToken } = await rotations(user, 50);
    await updateFamily(user.sid, "rotated_at = rotated_at - 11000");
    await expectInvalidGrant(await refreshWithCookie(chain[0]!));
    await expectRevokedByReuse(user, { refreshToken: chain[50]!, accessToken }, "ancestor_replayed");
  });

  it("the grandparent, even inside the grace window; the parent only after it", async () => {
    const grand = await register();
    const { chain, accessToken } = await rotations(grand, 2);
    await expectInvalidGrant(await refreshWithCookie(chain[0]!));
    await expectRevokedByReuse(grand, { refreshToken: chain[2]!, accessToken }, "ancestor_replayed");

    const parent = await register();
    const child = await rotate(parent.refreshToken);
    await updateFamily(parent.sid, "rotated_at = rotated_at - 11000");
    await expectInvalidGrant(await refreshWithCookie(parent.refreshToken));
    await expectRevokedByReuse(parent, child, "parent_replayed_after_grace");
  });
});

describe("forged and never-issued tokens cannot hurt a real family", () => {
  /** A family at generation 5 and its live tokens. */
  async function familyAtGeneration5() {
    const user = await register();
    const { chain, accessToken } = await rotations(user, 5);
    return { user, current: { refreshToken: chain[5]!, accessToken }, row: await familyRow(user.sid) };
  }

  /** 401 invalid_grant, the family's row unchanged, no event; then its real token still refreshes. */
  async function expectRefusedAndUntouched(family: Awaited<ReturnType<typeof familyAtGeneration5>>, tokens: string[], d1: "untouched" | "read") {
    for (const token of tokens) {
      const observed = wrapDatabases("observe");
      await expectInvalidGrant(await callWith(observed.bindings, "/auth/refresh", cookieRefreshInit(token)));
      // A bad tag is refused before any storage is asked.
      if (d1 === "untouched") expect(observed.calls(), token).toBe(0);
      expect(await familyRow(family.user.sid)).toEqual(family.row);
    }
    expect((await eventsOf(family.user.sid)).map((e) => e.type)).toEqual(["register"]);
    expect((await me(family.current.accessToken)).status).toBe(200);
    await rotate(family.current.refreshToken);
    expect((await familyRow(family.user.sid)).generation).toBe(6);
  }

  it("random secrets and tags for past, current and future generations", async () => {
    const family = await familyAtGeneration5();
    const tokens = [0, 1, 2, 3, 4, 5, 6, 99].map((g) => `${family.user.sid}.${g}.${random(32)}.${random(16)}`);
    await expectRefusedAndUntouched(family, tokens, "untouched");
  });

  it("well-formed tokens tagged under another key, and the real token's parts recombined", async () => {
    const family = await familyAtGeneration5();
    const keys = await foreignKeys();
    const [sid, , secret, tag] = family.current.refreshToken.split(".");
    const other = await register();
    const tokens = [
      ...(await Promise.all([0, 4, 5, 6].map(async (g) => (await mintRefreshToken(keys, family.user.sid, g)).token))),
      `${sid}.4.${secret}.${tag}`,
      `${sid}.6.${secret}.${tag}`,
      `${other.sid}.5.${secret}.${tag}`,
    ];
    await expectRefusedAndUntouched(family, tokens, "untouched");
    expect((await familyRow(other.sid)).revoked_at).toBeNull();
  });

  it("authentic tokens that were never issued (the current, parent and future generations with another secret)", async () => {
    const family = await familyAtGeneration5();
    const keys = await getRefreshTokenKeys(env);
    const tokens = await Promise.all([4, 5, 6, 99].map(async (g) => (await mintRefreshToken(keys, family.user.sid, g)).token));
    await expectRefusedAndUntouched(family, tokens, "read");
  });

  it("a legacy-shaped token (43 random characters) that was never issued", async () => {
    const family = await familyAtGeneration5();
    await expectRefusedAndUntouched(family, [random(32)], "read");
  });
});
