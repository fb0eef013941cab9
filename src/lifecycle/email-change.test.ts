import { describe, expect, it } from "vitest";
import { backgroundTasks, CLIENT, linkToken, PASSWORD, unitServices } from "../../test/unit";

/** A signed-in user who asked to move to new@example.com; returns the two emails sent. */
async function changeRequested(options: Parameters<typeof unitServices>[0] = {}) {
  const unit = unitServices(options);
  const { user, session } = await unit.register("old@example.com");
  await unit.services.lifecycle.requestEmailChange({ userId: user.id, familyId: session.familyId, newEmail: " New@Example.com ", currentPassword: PASSWORD }, CLIENT);
  const [confirmation, notice] = unit.storage.outbox.slice(-2);
  return { unit, user, session, confirmation: confirmation!, notice: notice!, token: linkToken(confirmation!.text, "confirm-email-change") };
}

describe("email change", () => {
  it("sends the link to the new address and a notice (no link) to the current one; nothing changes yet", async () => {
    const { unit, user, confirmation, notice } = await changeRequested();
    expect(confirmation).toMatchObject({ to: "new@example.com", subject: expect.stringMatching(/confirm/i) });
    expect(notice).toMatchObject({ to: "old@example.com" });
    expect(notice.text).toContain("new@example.com");
    expect(notice.text + notice.html).not.toMatch(/token=/);
    expect((await unit.services.accounts.profile(user.id)).email).toBe("old@example.com");
    expect(unit.storage.events.at(-1)).toMatchObject({ type: "email_change_requested", userId: user.id });
  });

  it("the link moves the user to the new address, verified; login works with the new address only", async () => {
    const { unit, user, token } = await changeRequested();
    await unit.services.lifecycle.confirmEmailChange(token, CLIENT);
    expect(await unit.services.accounts.profile(user.id)).toMatchObject({ email: "new@example.com", email_verified: true });
    await unit.services.accounts.login({ email: "new@example.com", password: PASSWORD }, "web", CLIENT);
    await expect(unit.services.accounts.login({ email: "old@example.com", password: PASSWORD }, "web", CLIENT)).rejects.toMatchObject({ code: "invalid_credentials" });
    expect(unit.storage.events.filter((e) => e.type === "email_changed")).toEqual([expect.objectContaining({ userId: user.id })]);
    await expect(unit.services.lifecycle.confirmEmailChange(token, CLIENT)).rejects.toMatchObject({ code: "invalid_request" });
  });

  it("needs the current password, counted like a login", async () => {
    const unit = unitServices({ limits: { failuresPerEmailAndNetwork: 2 } });
    const { user, session } = await unit.register("old@example.com");
    const ask = () => unit.services.lifecycle.requestEmailChange({ userId: user.id, familyId: session.familyId, newEmail: "new@example.com", currentPassword: "wrong password" }, CLIENT);
    await expect(ask()).rejects.toMatchObject({ code: "invalid_credentials" });
    await expect(ask()).rejects.toMatchObject({ code: "invalid_credentials" });
    await expect(ask()).rejects.toMatchObject({ code: "rate_limited" });
    expect(unit.storage.outbox).toEqual([]);
  });

  it("refuses the current address and an address another account has", async () => {
    const unit = unitServices();
    const { user, session } = await unit.register("old@example.com");
    await unit.register("taken@example.com");
    await expect(unit.services.lifecycle.requestEmailChange({ userId: user.id, familyId: session.familyId, newEmail: "OLD@example.com", currentPassword: PASSWORD }, CLIENT)).rejects.toMatchObject({ detail: { field: "new_email" } });
    await expect(unit.services.lifecycle.requestEmailChange({ userId: user.id, familyId: session.familyId, newEmail: "taken@example.com", currentPassword: PASSWORD }, CLIENT)).rejects.toMatchObject({ code: "email_taken" });
    expect(unit.storage.outbox).toEqual([]);
  });

  it("a registration of the address before the confirmation wins: email_taken, the user keeps the old address", async () => {
    const { unit, user, token } = await changeRequested();
    await unit.register("new@example.com");
    await expect(unit.services.lifecycle.confirmEmailChange(token, CLIENT)).rejects.toMatchObject({ code: "email_taken" });
    expect((await unit.services.accounts.profile(user.id)).email).toBe("old@example.com");
  });

  it("when either email cannot be sent, the request fails with email_unavailable and leaves no link", async () => {
    const unit = unitServices();
    const { user, session } = await unit.register("old@example.com");
    unit.emailFails.now = true;
    await expect(unit.services.lifecycle.requestEmailChange({ userId: user.id, familyId: session.familyId, newEmail: "new@example.com", currentPassword: PASSWORD }, CLIENT)).rejects.toMatchObject({ code: "email_unavailable" });
    expect([...unit.storage.linkTokens.values()].filter((t) => t.purpose === "change_email")).toEqual([]);
  });

  it("voids the user's other links (sent for the old address)", async () => {
    const { unit, token } = await changeRequested();
    const { background, settle } = backgroundTasks();
    await unit.services.lifecycle.forgotPassword("old@example.com", CLIENT, background);
    await settle();
    const reset = linkToken(unit.storage.outbox.at(-1)!.text, "reset-password");
    await unit.services.lifecycle.confirmEmailChange(token, CLIENT);
    await expect(unit.services.lifecycle.resetPassword({ token: reset, newPassword: "a brand new passphrase" }, CLIENT, background)).rejects.toMatchObject({ code: "invalid_request" });
  });

  it("a password change voids a pending change", async () => {
    const { unit, user, session, token } = await changeRequested();
    await unit.services.accounts.changePassword({ userId: user.id, familyId: session.familyId, currentPassword: PASSWORD, newPassword: "a brand new passphrase" }, CLIENT);
    await expect(unit.services.lifecycle.confirmEmailChange(token, CLIENT)).rejects.toMatchObject({ code: "invalid_request" });
  });

  it("without an email sender every flow answers not_found", async () => {
    const unit = unitServices({ stores: () => ({ sender: undefined }) });
    const { user, session } = await unit.register("old@example.com");
    const { background } = backgroundTasks();
    await expect(unit.services.lifecycle.forgotPassword("old@example.com", CLIENT, background)).rejects.toMatchObject({ code: "not_found" });
    await expect(unit.services.lifecycle.requestEmailChange({ userId: user.id, familyId: session.familyId, newEmail: "new@example.com", currentPassword: PASSWORD }, CLIENT)).rejects.toMatchObject({ code: "not_found" });
    await expect(unit.services.lifecycle.verifyEmail("A".repeat(44), CLIENT)).rejects.toMatchObject({ code: "not_found" });
  });
});
