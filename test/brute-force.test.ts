/**
 * Password guessing over HTTP (security review, finding 2): IPv6 clients are counted by their /64,
 * one email is limited across every network, and a concurrent burst is limited like a sequential
 * one. The strict test limiter (3 a minute, vitest.config.ts) stands for the real limits.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { callWith, json, PASSWORD, register } from "./helpers";
import { expectError } from "./hardening";

const strict = (...names: string[]) => Object.fromEntries(names.map((name) => [name, env.TEST_STRICT_LIMITER]));
const hex = () => ((crypto.getRandomValues(new Uint16Array(1))[0]! % 0xfffe) + 1).toString(16);
/** The first four groups of a random /64 of the documentation range: `${fresh64()}::1` is an address in it. */
const fresh64 = () => `2001:db8:${hex()}:${hex()}`;
const freshIpv4 = () => `198.18.${crypto.getRandomValues(new Uint8Array(1))[0]}.${(crypto.getRandomValues(new Uint8Array(1))[0]! % 254) + 1}`;

const loginFrom = (overrides: Record<string, unknown>, ip: string, email: string, password: string) =>
  callWith(overrides, "/auth/login", { method: "POST", headers: { ...json, "CF-Connecting-IP": ip }, body: JSON.stringify({ email, password }) });

/** Counts the PBKDF2 calls made while `run` runs: a refusal "before hashing" makes none. */
async function pbkdf2CallsDuring<T>(run: () => Promise<T>): Promise<{ result: T; calls: number }> {
  const spy = vi.spyOn(crypto.subtle, "deriveBits");
  try {
    const result = await run();
    return { result, calls: spy.mock.calls.filter(([algorithm]) => (algorithm as { name: string }).name === "PBKDF2").length };
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe("one IPv6 /64 is one network", () => {
  it("failed logins rotating addresses inside one IPv6 /64 lock the pair for every address in it, not for another /64", async () => {
    const user = await register();
    const prefix = fresh64();
    const limits = strict("FAILED_LOGIN_RATE_LIMITER");
    const statuses = [];
    for (const ip of [`${prefix}::1`, `${prefix}::2`, `${prefix}:dead:beef:0:1`, `${prefix.toUpperCase()}:FFFF:FFFF:FFFF:FFFF`]) {
      statuses.push((await loginFrom(limits, ip, user.email, "wrong password")).status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    await expectError(await loginFrom(limits, `${prefix}::abcd`, user.email, PASSWORD), 429, "rate_limited");
    expect((await loginFrom(limits, `${fresh64()}::1`, user.email, PASSWORD)).status).toBe(200);
  });

  it("login attempts per network: rotating addresses inside one /64 are one client", async () => {
    const prefix = fresh64();
    const limits = strict("LOGIN_RATE_LIMITER");
    const statuses = [];
    for (let i = 1; i <= 4; i++) statuses.push((await loginFrom(limits, `${prefix}::${i.toString(16)}`, "nobody@example.com", "whatever pw")).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect((await loginFrom(limits, `${fresh64()}::1`, "nobody@example.com", "whatever pw")).status).toBe(401);
  });
});

describe("one email guessed from many networks", () => {
  it("a distributed guess (a new network for every attempt) is limited per email, before any password is hashed", async () => {
    const user = await register();
    const limits = strict("LOGIN_EMAIL_RATE_LIMITER");
    const networks = [freshIpv4(), `${fresh64()}::1`, freshIpv4()];
    const statuses = [];
    for (const ip of networks) statuses.push((await loginFrom(limits, ip, user.email, "wrong password")).status);
    expect(statuses).toEqual([401, 401, 401]);
    const { result: limited, calls } = await pbkdf2CallsDuring(() => loginFrom(limits, `${fresh64()}::2`, user.email.toUpperCase(), PASSWORD));
    await expectError(limited, 429, "rate_limited");
    expect(limited.headers.get("Retry-After")).toBe("60");
    expect(calls).toBe(0);
    // Another account is not held back by the guessing.
    const other = await register();
    expect((await loginFrom(limits, freshIpv4(), other.email, PASSWORD)).status).toBe(200);
  });
});

describe("concurrent bursts are limited like sequential attempts", () => {
  it("a concurrent burst from one IP: no more wrong passwords are checked than the limit, the rest is 429", async () => {
    const user = await register();
    const ip = freshIpv4();
    const limits = strict("FAILED_LOGIN_RATE_LIMITER");
    const statuses = await Promise.all(Array.from({ length: 20 }, () => loginFrom(limits, ip, user.email, "wrong password").then((r) => r.status)));
    expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(17);
    await expectError(await loginFrom(limits, ip, user.email, PASSWORD), 429, "rate_limited");
  });

  it("a concurrent burst from 20 networks at one email: at most the per-email limit is checked", async () => {
    const user = await register();
    const limits = strict("LOGIN_EMAIL_RATE_LIMITER");
    const statuses = await Promise.all(Array.from({ length: 20 }, () => loginFrom(limits, freshIpv4(), user.email, "wrong password").then((r) => r.status)));
    expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(17);
  });
});
