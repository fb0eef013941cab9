/** What the email-change tests share (test/email-change.test.ts, test/several-databases/email-change.test.ts). */
import { expect } from "vitest";
import { databaseOf, userDatabases } from "./databases";
import { bearer, callWith, mailbox, PASSWORD, postJsonWith, uniqueEmail, type Login } from "./helpers";

export const severalDatabases = userDatabases().length > 1;

/** An unused address that lands in the same database as `key` (`same`) or in another one. */
export function addressBeside(key: string, same: boolean, label = "moved"): string {
  if (!same && !severalDatabases) throw new Error("one database: no address lands elsewhere");
  for (;;) {
    const email = uniqueEmail(label);
    if ((databaseOf(email) === databaseOf(key)) === same) return email;
  }
}

/** A signed-in user asks to move to `newEmail`; returns the mailbox and the confirmation token. */
export async function changeRequested(user: Login, newEmail: string) {
  const mail = mailbox();
  const res = await askChange({ EMAIL: mail.EMAIL }, user, newEmail);
  expect(res.status).toBe(202);
  return { mail, token: mail.token("confirm-email-change", newEmail), withMail: { EMAIL: mail.EMAIL } };
}

export const askChange = (overrides: Record<string, unknown>, user: Login, newEmail: string, currentPassword = PASSWORD) =>
  callWith(overrides, "/auth/email/change", { method: "POST", headers: { "Content-Type": "application/json", ...bearer(user.accessToken) }, body: JSON.stringify({ new_email: newEmail, current_password: currentPassword }) });
export const confirm = (overrides: Record<string, unknown>, token: string) => postJsonWith(overrides, "/auth/email/change/confirm", { token });
export const loginStatus = (email: string, password = PASSWORD) => postJsonWith({}, "/auth/login", { email, password }).then((res) => res.status);
export const registerStatus = (email: string) => postJsonWith({}, "/auth/register", { email, password: PASSWORD }).then((res) => res.status);

export async function profile(user: Login, overrides: Record<string, unknown> = {}) {
  // A fresh login: the profile cache of this isolate may still hold the old address for a few seconds.
  return ((await (await callWith(overrides, "/auth/me", { headers: bearer(user.accessToken) })).json()) as { user: { email: string; email_verified: boolean } }).user;
}

