import { afterEach, describe, expect, it, vi } from "vitest";
import { postJson, uniqueEmail } from "../../test/helpers";
import { CURRENT_PASSWORD_PARAMS, hashPassword, PBKDF2_MAX_ITERATIONS_PER_CALL, verifyAgainstDummy, verifyPassword } from "./index";

/**
 * The platform's limit, written here and not taken from the code under test: a change that raised
 * the code's own constant along with its calls would otherwise pass.
 */
const PRODUCTION_CAP = 100_000;

/**
 * What production Workers do: refuse any single PBKDF2 call above `cap` iterations.
 * The spy sits on the `crypto.subtle` every caller in this isolate uses, the worker's included.
 */
function enforceProductionPbkdf2Cap(cap = PRODUCTION_CAP) {
  const original = crypto.subtle.deriveBits.bind(crypto.subtle);
  const calls: number[] = [];
  const spy = vi.spyOn(crypto.subtle, "deriveBits").mockImplementation(async (algorithm, key, length) => {
    const { name, iterations } = algorithm as { name: string; iterations: number };
    if (name === "PBKDF2") {
      calls.push(iterations);
      if (iterations > cap) {
        throw new DOMException(`iteration counts above ${cap} are not supported`, "NotSupportedError");
      }
    }
    return original(algorithm, key, length);
  });
  return { calls, spy };
}

afterEach(() => vi.restoreAllMocks());

describe("password hashing", () => {
  it("reaches 600,000 PBKDF2-SHA256 iterations with no call above the production cap", async () => {
    const { calls } = enforceProductionPbkdf2Cap();
    const stored = await hashPassword("hunter2 hunter2");
    expect(Math.max(...calls)).toBeLessThanOrEqual(PRODUCTION_CAP);
    expect(calls.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(600_000);
    expect((await verifyPassword("hunter2 hunter2", stored)).valid).toBe(true);
  });

  it("register and login work end to end under the production cap", async () => {
    const { calls } = enforceProductionPbkdf2Cap();
    const email = uniqueEmail();
    expect((await postJson("/auth/register", { email, password: "a long password" })).status).toBe(201);
    expect((await postJson("/auth/login", { email, password: "a long password" })).status).toBe(200);
    expect((await postJson("/auth/login", { email: uniqueEmail(), password: "a long password" })).status).toBe(401);
    expect(calls.length).toBeGreaterThanOrEqual(3 * CURRENT_PASSWORD_PARAMS.rounds);
    expect(calls.every((n) => n <= PRODUCTION_CAP)).toBe(true);
  });

  it("the cap check fails hashing, verification and register over HTTP when the code's calls exceed the cap", async () => {
    // The code's calls are at the cap (100,000); a cap just below them stands for code that exceeds it.
    const { calls } = enforceProductionPbkdf2Cap(CURRENT_PASSWORD_PARAMS.iterations - 1);
    await expect(hashPassword("hunter2 hunter2")).rejects.toThrow(/not supported/);
    await expect(verifyAgainstDummy("hunter2 hunter2")).rejects.toThrow(/not supported/);
    const res = await postJson("/auth/register", { email: uniqueEmail(), password: "a long password" });
    expect(res.status).toBe(500);
    expect(calls.length).toBeGreaterThanOrEqual(3);
  });

  it("an unknown email costs exactly one verification, also on an isolate's first one", async () => {
    const { calls } = enforceProductionPbkdf2Cap();
    await verifyAgainstDummy("whatever password");
    expect(calls).toEqual(Array(CURRENT_PASSWORD_PARAMS.rounds).fill(CURRENT_PASSWORD_PARAMS.iterations));
  });

  it("stores a self-describing PHC-style string with a 16-byte salt, unique per hash", async () => {
    const a = await hashPassword("same password");
    const b = await hashPassword("same password");
    expect(a).toMatch(/^\$pbkdf2c-sha256\$v=1\$i=100000,r=6\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(a).not.toBe(b);
  });

  it("rejects wrong passwords and malformed hashes, and flags old parameters for rehash", async () => {
    const stored = await hashPassword("right", { iterations: 10, rounds: 2 });
    expect(await verifyPassword("wrong", stored)).toEqual({ valid: false, needsRehash: true });
    expect(await verifyPassword("right", stored)).toEqual({ valid: true, needsRehash: true });
    expect((await verifyPassword("right", "$pbkdf2c-sha256$v=1$i=600000,r=1$AAAA$AAAA")).valid).toBe(false);
    expect((await verifyPassword("right", "plaintext")).valid).toBe(false);
  });

  it("refuses to hash with more than the cap per call", async () => {
    expect(PBKDF2_MAX_ITERATIONS_PER_CALL).toBeLessThanOrEqual(PRODUCTION_CAP);
    await expect(hashPassword("x", { iterations: PRODUCTION_CAP + 1, rounds: 1 })).rejects.toThrow(/iterations/);
  });
});
