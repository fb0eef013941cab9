/**
 * With several databases, a login for an address that has no account must cost the D1 work of one
 * that has (DESIGN.md: the same answer and timing for both): run by the workers-2db project only.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getConfig } from "../../src/config";
import { userDatabases } from "../databases";
import { callWith, json, register, uniqueEmail } from "../helpers";

/** Every user database wrapped so that it counts round trips (statements run alone, or batches) and statements. */
function countingDatabases() {
  const counts = { roundTrips: 0, statements: 0 };
  const wrapStatement = (statement: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(statement, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (typeof value !== "function") return value;
        if (prop === "bind") return (...args: unknown[]) => wrapStatement((value as (...a: unknown[]) => D1PreparedStatement).apply(target, args));
        if (["first", "all", "run", "raw"].includes(String(prop))) counts.roundTrips++;
        return value.bind(target);
      },
    });
  const wrap = (d1: D1Database): D1Database =>
    new Proxy(d1, {
      get(target, prop) {
        const value = Reflect.get(target, prop) as unknown;
        if (typeof value !== "function") return value;
        if (prop === "prepare") return (query: string) => (counts.statements++, wrapStatement(target.prepare(query)));
        if (prop === "batch") return (statements: D1PreparedStatement[]) => (counts.roundTrips++, target.batch(statements));
        return value.bind(target);
      },
    });
  const bindings = env as unknown as Record<string, D1Database>;
  const overrides = Object.fromEntries(getConfig(env).userDatabases.map((name) => [name, wrap(bindings[name]!)]));
  return { overrides, counts };
}

describe("login cost with several databases", () => {
  it("runs with several databases", () => expect(userDatabases().length).toBeGreaterThan(1));

  it("an unknown address costs the D1 round trips and statements of a known one with a wrong password", async () => {
    const user = await register(uniqueEmail("known"));
    const { overrides, counts } = countingDatabases();
    const attempt = async (email: string) => {
      Object.assign(counts, { roundTrips: 0, statements: 0 });
      const res = await callWith(overrides, "/auth/login", { method: "POST", headers: json, body: JSON.stringify({ email, password: "not the password, surely" }) });
      expect(res.status).toBe(401);
      return { ...counts };
    };
    await attempt(uniqueEmail("warm-up"));
    const known = await attempt(user.email);
    expect(known.statements).toBeGreaterThan(0);
    for (let i = 0; i < 4; i++) expect(await attempt(uniqueEmail("nobody"))).toEqual(known);
  });
});
