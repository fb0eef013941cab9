/**
 * Email change over HTTP, on D1 (across several databases: test/several-databases/email-change.test.ts).
 */
import { describe, expect, it } from "vitest";
import { addressBeside, askChange, changeRequested, confirm, loginStatus, profile, registerStatus, severalDatabases } from "./email-change";
import { databaseOf } from "./databases";
import { mailbox, PASSWORD, postJsonWith, register, uniqueEmail } from "./helpers";

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

