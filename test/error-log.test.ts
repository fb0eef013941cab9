/**
 * Server-side failures are logged as one JSON line that names the error, its cause and the request,
 * and never carries a storage error's message (security review, finding 7): Drizzle puts the SQL
 * and its parameters (emails, password hashes) in the message of a failed query.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { callWith, json, PASSWORD, register, uniqueEmail } from "./helpers";
import { expectUnavailable, wrapDatabases } from "./hardening";

afterEach(() => vi.restoreAllMocks());

/** The JSON lines written with console.error while `run` runs. */
async function errorLinesDuring(run: () => Promise<void>): Promise<string[]> {
  const spy = vi.spyOn(console, "error").mockImplementation(() => undefined);
  await run();
  return spy.mock.calls.map((args) => args.map(String).join(" "));
}

/** Nothing a failed query's message holds: the statement, its parameters, the driver's text. */
function expectNothingOfTheQuery(line: string, secrets: string[]) {
  for (const secret of secrets) expect(line).not.toContain(secret);
  expect(line).not.toMatch(/Failed query|params:|\bselect\b|\binsert\b|\bfrom\b|D1_ERROR|Network connection lost|pbkdf2/i);
}

describe("the log line of a storage failure", () => {
  it("a failed query is logged without its SQL or parameters: error and cause names, the request id", async () => {
    const email = uniqueEmail("logged");
    const { bindings, calls } = wrapDatabases("down");
    const lines = await errorLinesDuring(async () => {
      const res = await callWith(bindings, "/auth/login", { method: "POST", headers: { ...json, "CF-Ray": "8f1e2d3c4b5a6978-AMS" }, body: JSON.stringify({ email, password: PASSWORD }) });
      await expectUnavailable(res);
    });
    expect(calls()).toBeGreaterThan(0);
    expect(lines).toHaveLength(1);
    expectNothingOfTheQuery(lines[0]!, [email, PASSWORD]);
    const logged = JSON.parse(lines[0]!);
    // Nothing but these members; the cause is Drizzle's query error (its name is a plain "Error").
    expect(Object.keys(logged).sort()).toEqual(["cause", "error", "event", "level", "request_id"]);
    expect(logged).toEqual({
      level: "error",
      event: "storage_unavailable",
      error: { name: "StorageUnavailableError", code: "storage_unavailable" },
      cause: { name: expect.any(String) },
      request_id: "8f1e2d3c4b5a6978-AMS",
    });
  });

  it("a failed write (register) is logged without the email or the password hash", async () => {
    const email = uniqueEmail("logged-write");
    const { bindings } = wrapDatabases("writes");
    const lines = await errorLinesDuring(async () => {
      await expectUnavailable(await callWith(bindings, "/auth/register", { method: "POST", headers: json, body: JSON.stringify({ email, password: PASSWORD }) }));
    });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: "error", event: "storage_unavailable", error: { name: "StorageUnavailableError" } });
    expectNothingOfTheQuery(lines[0]!, [email, PASSWORD, "$pbkdf2c-sha256$"]);
  });

  it("a user's own failure (a refused password) is not logged as an error", async () => {
    const user = await register();
    const lines = await errorLinesDuring(async () => {
      const res = await callWith({}, "/auth/login", { method: "POST", headers: json, body: JSON.stringify({ email: user.email, password: "wrong password" }) });
      expect(res.status).toBe(401);
    });
    expect(lines).toEqual([]);
  });
});
