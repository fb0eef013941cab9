import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getRefreshTokenKeys } from "../keys/refresh-token-keys";
import { accessTokenIdOf, deriveChildToken, hashRefreshToken, isAuthentic, mintRefreshToken, newChildNonce, openChildToken, parseRefreshToken, sealChildToken, storedHashOf } from "./refresh-token";

const FAMILY = "0b9e4c1e-5f0a-4c9e-9a51-2f4d7c1e8a11";
const newKey = () => crypto.getRandomValues(new Uint8Array(32)).reduce((s, b) => s + String.fromCharCode(b), "");
const keyText = () => btoa(newKey()).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

describe("refresh tokens", () => {
  it("carry the family and generation in the clear and 256 random bits", async () => {
    const keys = await getRefreshTokenKeys(env);
    const token = (await mintRefreshToken(keys, FAMILY, 7)).token;
    expect(token).toMatch(/^[0-9a-f-]{36}\.7\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/);
    expect(parseRefreshToken(token)).toMatchObject({ kind: "family", familyId: FAMILY, generation: 7 });
    expect((await mintRefreshToken(keys, FAMILY, 7)).token).not.toBe(token);
  });

  it("are authentic under the current key and, after a key rotation, under the previous one", async () => {
    const old = keyText();
    const before = await getRefreshTokenKeys({ REFRESH_TOKEN_KEY: old });
    const token = parseRefreshToken((await mintRefreshToken(before, FAMILY, 1)).token)!;
    const after = await getRefreshTokenKeys({ REFRESH_TOKEN_KEY: keyText(), PREVIOUS_REFRESH_TOKEN_KEY: old });
    expect(token.kind === "family" && (await isAuthentic(after, token))).toBe(true);
    const dropped = await getRefreshTokenKeys({ REFRESH_TOKEN_KEY: keyText() });
    expect(token.kind === "family" && (await isAuthentic(dropped, token))).toBe(false);
  });

  it("are authentic under the next key before it signs anything, and the next key never signs", async () => {
    const next = keyText();
    const current = keyText();
    const ahead = await getRefreshTokenKeys({ REFRESH_TOKEN_KEY: current, NEXT_REFRESH_TOKEN_KEY: next });
    const switched = await getRefreshTokenKeys({ REFRESH_TOKEN_KEY: next, PREVIOUS_REFRESH_TOKEN_KEY: current });
    const fromSwitched = parseRefreshToken((await mintRefreshToken(switched, FAMILY, 1)).token)!;
    expect(fromSwitched.kind === "family" && (await isAuthentic(ahead, fromSwitched))).toBe(true);
    const fromAhead = parseRefreshToken((await mintRefreshToken(ahead, FAMILY, 1)).token)!;
    expect(fromAhead.kind === "family" && (await isAuthentic(await getRefreshTokenKeys({ REFRESH_TOKEN_KEY: current }), fromAhead))).toBe(true);
    expect(fromAhead.kind === "family" && (await isAuthentic(await getRefreshTokenKeys({ REFRESH_TOKEN_KEY: next }), fromAhead))).toBe(false);
  });

  it("a next or previous key that is not 32+ bytes of base64url is a configuration error naming it", async () => {
    for (const name of ["NEXT_REFRESH_TOKEN_KEY", "PREVIOUS_REFRESH_TOKEN_KEY"]) {
      await expect(getRefreshTokenKeys({ REFRESH_TOKEN_KEY: keyText(), [name]: "c2hvcnQ" })).rejects.toThrow(new RegExp(`^${name} is 5 bytes`));
    }
  });

  it("any change to the family, generation, secret or tag makes a token unauthentic", async () => {
    const keys = await getRefreshTokenKeys(env);
    const token = (await mintRefreshToken(keys, FAMILY, 3)).token;
    const [family, generation, secret, tag] = token.split(".") as [string, string, string, string];
    const flip = (text: string) => (text[0] === "A" ? "B" : "A") + text.slice(1);
    const variants = [
      [FAMILY.replace(/^0/, "1"), generation, secret, tag],
      [family, "4", secret, tag],
      [family, generation, flip(secret), tag],
      [family, generation, secret, flip(tag)],
    ];
    for (const parts of variants) {
      const parsed = parseRefreshToken(parts.join("."))!;
      expect(parsed.kind === "family" && (await isAuthentic(keys, parsed))).toBe(false);
    }
  });

  it.each(["", "x", `${FAMILY}.01.${"A".repeat(43)}.${"A".repeat(22)}`, `${FAMILY.toUpperCase()}.1.${"A".repeat(43)}.${"A".repeat(22)}`, `${FAMILY}.1.${"A".repeat(44)}.${"A".repeat(22)}`])(
    "%s is not a refresh token",
    (text) => expect(parseRefreshToken(text)).toBeUndefined(),
  );

  it("a 43-character token is a pre-upgrade (legacy) one", () => {
    expect(parseRefreshToken("A".repeat(43))).toEqual({ kind: "legacy", token: "A".repeat(43) });
  });

  it("a child is derived from its parent and the rotation's nonce: the same three and key give the same authentic child, any other gives another", async () => {
    const keys = await getRefreshTokenKeys(env);
    const parent = (await mintRefreshToken(keys, FAMILY, 4)).token;
    const nonce = newChildNonce();
    const child = (await deriveChildToken(keys.current, nonce, parent, FAMILY, 5)).token;
    expect(child).toMatch(/^[0-9a-f-]{36}\.5\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/);
    expect((await deriveChildToken(keys.current, nonce, parent, FAMILY, 5)).token).toBe(child);
    const parsed = parseRefreshToken(child)!;
    expect(parsed.kind === "family" && (await isAuthentic(keys, parsed))).toBe(true);
    const secretOf = (token: string) => token.split(".")[2];
    const others = [
      (await deriveChildToken(keys.current, nonce, (await mintRefreshToken(keys, FAMILY, 4)).token, FAMILY, 5)).token,
      (await deriveChildToken(keys.current, newChildNonce(), parent, FAMILY, 5)).token,
      (await deriveChildToken((await getRefreshTokenKeys({ REFRESH_TOKEN_KEY: keyText() })).current, nonce, parent, FAMILY, 5)).token,
    ];
    for (const other of others) expect(secretOf(other)).not.toBe(secretOf(child));
    expect(newChildNonce()).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(newChildNonce()).not.toBe(nonce);
  });

  it("D1 keeps a token's tag, not its secret; the access token's jti is the other half of the same MAC", async () => {
    const keys = await getRefreshTokenKeys(env);
    const issued = await mintRefreshToken(keys, FAMILY, 2);
    const [, , secret, tag] = issued.token.split(".") as [string, string, string, string];
    expect(issued.storedHash).toBe(tag);
    expect(await storedHashOf(parseRefreshToken(issued.token)!)).toBe(tag);
    expect(issued.accessTokenId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect([tag, secret].some((part) => part.includes(issued.accessTokenId))).toBe(false);
    // A derived child gives the same tag and jti each time (a grace retry answers the same access token).
    const nonce = newChildNonce();
    expect(await deriveChildToken(keys.current, nonce, issued.token, FAMILY, 3)).toEqual(await deriveChildToken(keys.current, nonce, issued.token, FAMILY, 3));
    // A pre-upgrade token is kept as its SHA-256 (43 characters): it can never equal a tag (22).
    const legacy = "A".repeat(43);
    expect(await storedHashOf(parseRefreshToken(legacy)!)).toBe(await hashRefreshToken(legacy));
  });

  it("the sealed child (families rotated before derivation) opens with its parent only", async () => {
    const sealed = await sealChildToken("parent-token", "child-token");
    expect(await openChildToken("parent-token", sealed)).toBe("child-token");
    expect(await openChildToken("another-token", sealed)).toBeUndefined();
    expect(await openChildToken("parent-token", sealed.slice(0, -2) + "AA")).toBeUndefined();
  });

  it("the access token id is derived from the refresh token and differs from what D1 stores", async () => {
    expect(await accessTokenIdOf("t")).toBe(await accessTokenIdOf("t"));
    expect(await accessTokenIdOf("t")).not.toBe(await accessTokenIdOf("u"));
    expect((await hashRefreshToken("t")).startsWith(await accessTokenIdOf("t"))).toBe(false);
  });
});

describe("REFRESH_TOKEN_KEY", () => {
  it.each([
    [undefined, /REFRESH_TOKEN_KEY is not set/],
    ["", /REFRESH_TOKEN_KEY is not set/],
    ["c2hvcnQ", /REFRESH_TOKEN_KEY is 5 bytes; at least 32/],
    ["not base64url!", /not base64url/],
  ])("%s is a clear configuration error", async (value, message) => {
    await expect(getRefreshTokenKeys({ REFRESH_TOKEN_KEY: value })).rejects.toMatchObject({ code: "misconfigured", message: expect.stringMatching(message) });
  });
});
