/**
 * Email change over HTTP, on D1. With several databases (project workers-2db) the user stays in
 * its database and the new address is claimed in the address's own (src/stores/d1/email-directory.ts):
 * logins, registrations and other changes of that address all see the claim.
 */
import { describe, expect, it } from "vitest";
import { CLAIM_GRACE_MS } from "../src/stores/d1/email-directory";
import { databaseOf, userDatabases } from "./databases";
import { bearer, callWith, mailbox, PASSWORD, postJsonWith, register, uniqueEmail, type Login } from "./helpers";

const severalDatabases = userDatabases().length > 1;

/** An unused address that lands in the same database as `key` (`same`) or in another one. */
function addressBeside(key: string, same: boolean, label = "moved"): string {
  if (!same && !severalDatabases) throw new Error("one database: no address lands elsewhere");
  for (;;) {
    const email = uniqueEmail(label);
    if ((databaseOf(email) === databaseOf(key)) === same) return email;
  }
}

/** A signed-in user asks to move to `newEmail`; returns the mailbox and the confirmation token. */
async function changeRequested(user: Login, newEmail: string) {
  const mail = mailbox();
  const res = await askChange({ EMAIL: mail.EMAIL }, user, newEmail);
  expect(res.status).toBe(202);
  return { mail, token: mail.token("confirm-email-change", newEmail), withMail: { EMAIL: mail.EMAIL } };
}

const askChange = (overrides: Record<string, unknown>, user: Login, newEmail: string, currentPassword = PASSWORD) =>
  callWith(overrides, "/auth/email/change", { method: "POST", headers: { "Content-Type": "application/json", ...bearer(user.accessToken) }, body: JSON.stringify({ new_email: newEmail, current_password: currentPassword }) });
const confirm = (overrides: Record<string, unknown>, token: string) => postJsonWith(overrides, "/auth/email/change/confirm", { token });
const loginStatus = (email: string, password = PASSWORD) => postJsonWith({}, "/auth/login", { email, password }).then((res) => res.status);
const registerStatus = (email: string) => postJsonWith({}, "/auth/register", { email, password: PASSWORD }).then((res) => res.status);

async function profile(user: Login, overrides: Record<string, unknown> = {}) {
  // A fresh login: the profile cache of this isolate may still hold the old address for a few seconds.
  return ((await (await callWith(overrides, "/auth/me", { headers: bearer(user.accessToken) })).json()) as { user: { email: string; email_verified: boolean } }).user;
}

describe("email change", () => {
  it("needs a Bearer token and the current password; refuses a taken address with 409", async () => {
    const mail = mailbox();
    const user = await register(uniqueEmail("owner"));
    const other = await register(uniqueEmail("other"));
    expect((await postJsonWith({ EMAIL: mail.EMAIL }, "/auth/email/change", { new_email: uniqueEmail(), current_password: PASSWORD })).status).toBe(401);
    expect((await askChange({ EMAIL: mail.EMAIL }, user, uniqueEmail(), "wrong password")).status).toBe(401);
    expect((await askChange({ EMAIL: mail.EMAIL }, user, other.email)).status).toBe(409);
    expect(mail.sent).toEqual([]);
  });

  it("sends a link to the new address and a notice to the current one; the link moves the user, verified", async () => {
    const user = await register(uniqueEmail("owner"));
    const newEmail = uniqueEmail("new");
    const { mail, token, withMail } = await changeRequested(user, newEmail);
    expect(mail.sent.map((m) => m.to)).toEqual([newEmail, user.email]);
    expect(await loginStatus(user.email)).toBe(200);
    expect((await confirm(withMail, token)).status).toBe(204);
    expect(await profile(user, withMail)).toMatchObject({ email: newEmail, email_verified: true });
    expect(await loginStatus(newEmail)).toBe(200);
    expect(await loginStatus(user.email)).toBe(401);
    expect((await confirm(withMail, token)).status).toBe(400);
    const events = await databaseOf(user.userId).prepare("select type from auth_events where user_id = ? order by id").bind(user.userId).all<{ type: string }>();
    expect(events.results.map((e) => e.type)).toContain("email_changed");
  });

  it("a registration of the address between request and confirmation wins; the user keeps its address", async () => {
    const user = await register(uniqueEmail("owner"));
    const newEmail = uniqueEmail("contested");
    const { token, withMail } = await changeRequested(user, newEmail);
    expect(await registerStatus(newEmail)).toBe(201);
    const res = await confirm(withMail, token);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: "email_taken" });
    expect(await loginStatus(user.email)).toBe(200);
  });

  it("a confirmation racing a registration of the same address: exactly one of them gets it", async () => {
    for (let round = 0; round < 4; round++) {
      const user = await register(uniqueEmail("racer"));
      // With several databases, half the rounds claim the address in another database.
      const newEmail = severalDatabases && round % 2 === 0 ? addressBeside(user.userId, false, "race") : uniqueEmail("race");
      const { token, withMail } = await changeRequested(user, newEmail);
      const [confirmed, registered] = await Promise.all([confirm(withMail, token).then((res) => res.status), registerStatus(newEmail)]);
      expect([confirmed, registered].filter((status) => status === 204 || status === 201)).toHaveLength(1);
      expect([confirmed, registered].filter((status) => status === 409)).toHaveLength(1);
    }
  });
});

describe.runIf(severalDatabases)("email change across databases", () => {
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
