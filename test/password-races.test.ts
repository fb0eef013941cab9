/**
 * Changes authorised by the current password or session (password change, email change, a new API
 * key) against a password reset that commits while they are in flight: whoever stole a session and
 * the password must not undo the owner's recovery. Each race is made deterministic by holding the change at a binding it
 * calls after the password was verified and before it writes D1.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getConfig } from "../src/config";
import { databaseOf } from "./databases";
import { bearer, callWith, decodePayload, json, mailbox, me, PASSWORD, postJsonWith, uniqueEmail, type Overrides } from "./helpers";
import { expectError } from "./hardening";

const RECOVERED = "owner recovered this account";

/** A binding method that waits at `gate` once reached, so that something else can commit meanwhile. */
function holdAt() {
  let reached!: () => void;
  let release!: () => void;
  const atGate = new Promise<void>((resolve) => (reached = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  return { atGate, release, wait: async () => (reached(), gate) };
}

/** A registered user whose session and password a thief holds, and a reset link the owner asked for. */
async function stolenAccount(mail: ReturnType<typeof mailbox>) {
  const email = uniqueEmail("owner");
  const registered = await postJsonWith({ EMAIL: mail.EMAIL }, "/auth/register", { email, password: PASSWORD });
  const stolenAccessToken = ((await registered.json()) as { access_token: string }).access_token;
  expect((await postJsonWith({ EMAIL: mail.EMAIL }, "/auth/password/forgot", { email })).status).toBe(202);
  return { email, stolenAccessToken, resetToken: mail.token("reset-password", email) };
}

describe("a password reset that commits while a change authorised by the old password is in flight", () => {
  it("password change: the change is refused (401), the owner's new password stands, the thief's tokens stay cut off", async () => {
    const mail = mailbox();
    const { email, stolenAccessToken, resetToken } = await stolenAccount(mail);
    // The change writes its KV cutoff after verifying the password and before its D1 batch.
    const hold = holdAt();
    const REVOCATIONS = { ...env.REVOCATIONS, get: env.REVOCATIONS.get.bind(env.REVOCATIONS), put: async (...args: Parameters<KVNamespace["put"]>) => (await hold.wait(), env.REVOCATIONS.put(...args)) } as KVNamespace;
    const change = callWith({ REVOCATIONS } as Overrides, "/auth/password", {
      method: "POST",
      headers: { ...json, ...bearer(stolenAccessToken) },
      body: JSON.stringify({ current_password: PASSWORD, new_password: "the thief keeps this one" }),
    });
    await hold.atGate;
    expect((await postJsonWith({ EMAIL: mail.EMAIL }, "/auth/password/reset", { token: resetToken, new_password: RECOVERED })).status).toBe(204);
    hold.release();
    await expectError(await change, 401, "invalid_token");
    expect((await postJsonWith({}, "/auth/login", { email, password: RECOVERED })).status).toBe(200);
    expect((await postJsonWith({}, "/auth/login", { email, password: "the thief keeps this one" })).status).toBe(401);
    await expectError(await me(stolenAccessToken), 401, "invalid_token");
  });

  it("email change: no link is stored or sent (401), so the recovered account cannot be moved to the thief's address", async () => {
    const mail = mailbox();
    const { stolenAccessToken, resetToken } = await stolenAccount(mail);
    const thiefAddress = uniqueEmail("thief");
    // The email change consults EMAIL_RATE_LIMITER after verifying the password and before storing its link.
    const hold = holdAt();
    const EMAIL_RATE_LIMITER = { limit: async () => (await hold.wait(), { success: true }) };
    const change = callWith({ EMAIL: mail.EMAIL, EMAIL_RATE_LIMITER } as Overrides, "/auth/email/change", {
      method: "POST",
      headers: { ...json, ...bearer(stolenAccessToken) },
      body: JSON.stringify({ new_email: thiefAddress, current_password: PASSWORD }),
    });
    await hold.atGate;
    expect((await postJsonWith({ EMAIL: mail.EMAIL }, "/auth/password/reset", { token: resetToken, new_password: RECOVERED })).status).toBe(204);
    hold.release();
    await expectError(await change, 401, "invalid_token");
    expect(mail.sent.filter((message) => message.to === thiefAddress)).toEqual([]);
  });

  it("API key creation: the key is not stored (401), so no key outlives the owner's recovery", async () => {
    const mail = mailbox();
    const { stolenAccessToken, resetToken } = await stolenAccount(mail);
    // The creation checks the session, then stores the key in one D1 batch: hold that batch.
    const hold = holdAt();
    const bindings = env as unknown as Record<string, D1Database>;
    const held = Object.fromEntries(
      getConfig(env).userDatabases.map((name) => {
        const real = bindings[name]!;
        const wrapped = new Proxy(real, {
          get: (target, prop) =>
            prop === "batch" ? async (statements: D1PreparedStatement[]) => (await hold.wait(), target.batch(statements)) : (Reflect.get(target, prop) as Function).bind(target),
        });
        return [name, wrapped];
      }),
    );
    const create = callWith(held as Overrides, "/auth/api-keys", { method: "POST", headers: { ...json, ...bearer(stolenAccessToken) }, body: JSON.stringify({ name: "persistence" }) });
    await hold.atGate;
    expect((await postJsonWith({ EMAIL: mail.EMAIL }, "/auth/password/reset", { token: resetToken, new_password: RECOVERED })).status).toBe(204);
    hold.release();
    await expectError(await create, 401, "invalid_token");
    const userId = decodePayload(stolenAccessToken).sub as string;
    expect(await databaseOf(userId).prepare("select count(*) as n from api_keys where user_id = ?").bind(userId).first("n")).toBe(0);
  });
});
