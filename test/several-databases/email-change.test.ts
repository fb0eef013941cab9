/**
 * Email change with several databases (run by the workers-2db project only): the user stays in its
 * database and the new address is claimed in the address's own (src/stores/d1/email-directory.ts);
 * logins, registrations and other changes of that address all see the claim.
 */
import { describe, expect, it } from "vitest";
import { CLAIM_GRACE_MS } from "../../src/stores/d1/email-directory";
import { databaseOf, userDatabases } from "../databases";
import { addressBeside, askChange, changeRequested, confirm, loginStatus, registerStatus } from "../email-change";
import { bearer, callWith, mailbox, register, uniqueEmail } from "../helpers";

describe("email change across databases", () => {
  it("runs with several databases", () => expect(userDatabases().length).toBeGreaterThan(1));

  it("the user stays in its database (same id and sessions); the new address is claimed in its own database", async () => {
    const user = await register(uniqueEmail("home"));
    const newEmail = addressBeside(user.userId, false);
    const { token, withMail } = await changeRequested(user, newEmail);
    expect((await confirm(withMail, token)).status).toBe(204);
    expect(await databaseOf(user.userId).prepare("select email from users where id = ?").bind(user.userId).first("email")).toBe(newEmail);
    expect(await databaseOf(newEmail).prepare("select user_id from email_directory where email = ?").bind(newEmail).first("user_id")).toBe(user.userId);
    expect(await databaseOf(newEmail).prepare("select count(*) as n from users where email = ?").bind(newEmail).first("n")).toBe(0);
    expect((await callWith({}, "/auth/me", { headers: bearer(user.accessToken) })).status).toBe(200);
    expect(await loginStatus(newEmail)).toBe(200);
    expect(await registerStatus(newEmail)).toBe(409);
    // Another user cannot move there either.
    const other = await register(uniqueEmail("other"));
    expect((await askChange({ EMAIL: mailbox().EMAIL }, other, newEmail)).status).toBe(409);
  });

  it("moving on releases the old claim: the address is free again", async () => {
    const user = await register(uniqueEmail("home"));
    const away = addressBeside(user.userId, false, "away");
    const first = await changeRequested(user, away);
    expect((await confirm(first.withMail, first.token)).status).toBe(204);
    const next = uniqueEmail("next");
    const second = await changeRequested(user, next);
    expect((await confirm(second.withMail, second.token)).status).toBe(204);
    expect(await databaseOf(away).prepare("select count(*) as n from email_directory where email = ?").bind(away).first("n")).toBe(0);
    expect(await loginStatus(away)).toBe(401);
    expect(await registerStatus(away)).toBe(201);
    expect(await loginStatus(next)).toBe(200);
  });

  it("a claim whose change never committed stops counting once stale: logins ignore it at once, registration replaces it after the grace period", async () => {
    const holder = await register(uniqueEmail("holder"));
    const address = addressBeside(holder.userId, false, "stale");
    const directory = databaseOf(address);
    await directory.prepare("insert into email_directory (email, user_id, claimed_at) values (?, ?, ?)").bind(address, holder.userId, Date.now()).run();
    expect(await loginStatus(address)).toBe(401);
    // Young: it may be a change committing right now.
    expect(await registerStatus(address)).toBe(409);
    await directory.prepare("update email_directory set claimed_at = ? where email = ?").bind(Date.now() - CLAIM_GRACE_MS - 1000, address).run();
    expect(await registerStatus(address)).toBe(201);
    expect(await directory.prepare("select count(*) as n from email_directory where email = ?").bind(address).first("n")).toBe(0);
  });
});
