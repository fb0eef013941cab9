/**
 * Refresh tokens issued before the one-row-per-family upgrade (43 base64url characters, one row
 * each in the read-only `refresh_tokens`): a migrated family's current token rotates once more into
 * the new format, and replaying an older one is still reuse. Families are set up as migration
 * 0002_one_row_per_family leaves them, in the first database (pre-upgrade tokens were issued while
 * the service had one).
 */
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import { databaseOf, userDatabases } from "./databases";
import { eventsOf, familyRow, me, REFRESH_TOKEN_SHAPE, refreshCookieOf, refreshWithCookie, register, rotate, updateFamily, type Login, type TokenBody } from "./helpers";
import { expectInvalidGrant } from "./hardening";
import { storedHash } from "./stored-hash";

const legacyToken = () => base64url.encode(crypto.getRandomValues(new Uint8Array(32)));

async function registerInFirstDatabase(): Promise<Login> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const user = await register();
    if (databaseOf(user.sid) === userDatabases()[0]) return user;
  }
  throw new Error("no user landed in the first database");
}

/**
 * A family as the migration leaves one that used three legacy tokens: the oldest two used, the
 * newest its current token (generation 0), the one before it its parent; last used a minute ago.
 */
async function migratedFamily() {
  const user = await registerInFirstDatabase();
  const [oldest, parent, current] = [legacyToken(), legacyToken(), legacyToken()];
  const now = Date.now();
  const insert = async (token: string, createdAt: number, usedAt: number | null) =>
    userDatabases()[0]!
      .prepare("insert into refresh_tokens (id, session_id, token_hash, created_at, expires_at, used_at, access_jti, access_expires_at) values (?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(crypto.randomUUID(), user.sid, await storedHash(token), createdAt, createdAt + 7 * 24 * 3600 * 1000, usedAt, crypto.randomUUID(), createdAt + 900_000)
      .run();
  await insert(oldest, now - 180_000, now - 120_000);
  await insert(parent, now - 120_000, now - 60_000);
  await insert(current, now - 60_000, null);
  await updateFamily(user.sid, "generation = 0, token_hash = ?, previous_hash = ?, sealed_token = null, rotated_at = ?", await storedHash(current), await storedHash(parent), now - 60_000);
  return { user, oldest, parent, current };
}

describe("refresh tokens from before the upgrade", () => {
  it("the current one rotates once into the new format; a retry inside the window gets the same child", async () => {
    const { user, current } = await migratedFamily();
    const res = await refreshWithCookie(current);
    expect(res.status).toBe(200);
    const child = refreshCookieOf(res)!;
    expect(child).toMatch(REFRESH_TOKEN_SHAPE);
    expect(child.startsWith(`${user.sid}.1.`)).toBe(true);
    expect((await me(((await res.json()) as TokenBody).access_token)).status).toBe(200);
    expect(await familyRow(user.sid)).toMatchObject({ generation: 1, token_hash: await storedHash(child), previous_hash: await storedHash(current) });

    expect(refreshCookieOf(await refreshWithCookie(current))).toBe(child);
    await rotate(child);
    expect(await familyRow(user.sid)).toMatchObject({ generation: 2, revoked_at: null });
  });

  it("its parent, replayed after the window, revokes the family", async () => {
    const { user, parent, current } = await migratedFamily();
    await expectInvalidGrant(await refreshWithCookie(parent));
    expect(await familyRow(user.sid)).toMatchObject({ revoked_reason: "reuse_detected", token_hash: null });
    expect((await eventsOf(user.sid)).find((e) => e.type === "reuse_detected")?.detail).toBe("parent_replayed_after_grace");
    await expectInvalidGrant(await refreshWithCookie(current));
  });

  it("an older one revokes the family, also after the family moved to the new format", async () => {
    const { user, oldest, current } = await migratedFamily();
    const next = await rotate(current);
    await expectInvalidGrant(await refreshWithCookie(oldest));
    expect((await familyRow(user.sid)).revoked_reason).toBe("reuse_detected");
    expect((await eventsOf(user.sid)).find((e) => e.type === "reuse_detected")?.detail).toBe("ancestor_replayed");
    await expectInvalidGrant(await refreshWithCookie(next.refreshToken));
    expect((await me(next.accessToken)).status).toBe(401);
  });

  it("any legacy token of a revoked family is refused without a new event", async () => {
    const { user, oldest, current } = await migratedFamily();
    await updateFamily(user.sid, "revoked_at = ?, revoked_reason = 'logout', token_hash = null, previous_hash = null", Date.now());
    const row = await familyRow(user.sid);
    for (const token of [oldest, current]) await expectInvalidGrant(await refreshWithCookie(token));
    expect(await familyRow(user.sid)).toEqual(row);
    expect((await eventsOf(user.sid)).map((e) => e.type)).toEqual(["register"]);
  });
});
