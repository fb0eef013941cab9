import { describe, expect, it } from "vitest";
import { backgroundTasks, CLIENT, linkToken, PASSWORD, unitServices } from "../../test/unit";

const NEW_PASSWORD = "a brand new passphrase";
const MINUTE = 60_000;

/** A user with two sessions (two devices) who asked for a reset link; the outbox holds it last. */
async function resetRequested(options: Parameters<typeof unitServices>[0] = {}) {
  const unit = unitServices(options);
  const { background, settle } = backgroundTasks();
  const { user, session: laptop } = await unit.register("ada@example.com");
  const { session: phone } = await unit.services.accounts.login({ email: "ada@example.com", password: PASSWORD }, "web", CLIENT);
  await unit.services.lifecycle.forgotPassword("Ada@Example.com", CLIENT, background);
  await settle();
  const token = linkToken(unit.storage.outbox.at(-1)!.text, "reset-password");
  return { unit, user, laptop, phone, token, background, settle };
}

describe("forgot password", () => {
  it("answers alike for an unknown address, sending and storing nothing", async () => {
    const unit = unitServices();
    const { background, settle } = backgroundTasks();
    await expect(unit.services.lifecycle.forgotPassword("nobody@example.com", CLIENT, background)).resolves.toBeUndefined();
    await settle();
    expect(unit.storage.outbox).toEqual([]);
    expect(unit.storage.linkTokens.size).toBe(0);
  });

  it("emails a single-use link for a known address, and records password_reset_requested", async () => {
    const { unit, user } = await resetRequested();
    expect(unit.storage.outbox.at(-1)).toMatchObject({ to: "ada@example.com", subject: expect.stringMatching(/reset/i) });
    expect(unit.storage.events.at(-1)).toMatchObject({ type: "password_reset_requested", userId: user.id, ip: CLIENT.ip });
    expect(JSON.stringify(unit.storage.events)).not.toContain("ada@example.com");
  });

  it("sends nothing for a disabled account", async () => {
    const unit = unitServices();
    const { user } = await unit.register("ada@example.com");
    await unit.services.accounts.disable(user.id, { ...CLIENT, id: "admin-api-token" });
    const { background, settle } = backgroundTasks();
    await unit.services.lifecycle.forgotPassword("ada@example.com", CLIENT, background);
    await settle();
    expect(unit.storage.outbox).toEqual([]);
  });

  it("is rate limited per address and per network, alike for known and unknown addresses", async () => {
    const unit = unitServices({ limits: { emails: 2 } });
    await unit.register("ada@example.com");
    const { background } = backgroundTasks();
    for (const address of ["ada@example.com", "nobody@example.com"]) {
      await unit.services.lifecycle.forgotPassword(address, { ...CLIENT, ip: "192.0.2.1" }, background);
      await unit.services.lifecycle.forgotPassword(address, { ...CLIENT, ip: "192.0.2.2" }, background);
      await expect(unit.services.lifecycle.forgotPassword(address, { ...CLIENT, ip: "192.0.2.3" }, background)).rejects.toMatchObject({ code: "rate_limited" });
    }
    // Per network: 192.0.2.1 asked twice already (once per address).
    await expect(unit.services.lifecycle.forgotPassword("third@example.com", { ...CLIENT, ip: "192.0.2.1" }, background)).rejects.toMatchObject({ code: "rate_limited" });
  });

  it("a failed email leaves no usable link, and the answer does not show it", async () => {
    const unit = unitServices();
    await unit.register("ada@example.com");
    unit.emailFails.now = true;
    const { background, settle } = backgroundTasks();
    await expect(unit.services.lifecycle.forgotPassword("ada@example.com", CLIENT, background)).resolves.toBeUndefined();
    await settle();
    expect(unit.storage.linkTokens.size).toBe(0);
  });
});

describe("reset password", () => {
  it("sets the password, revokes every session, cuts off access tokens, verifies the email and sends a notice", async () => {
    const { unit, user, laptop, phone, token, background, settle } = await resetRequested();
    await unit.services.lifecycle.resetPassword({ token, newPassword: NEW_PASSWORD }, CLIENT, background);
    await settle();
    await expect(unit.services.accounts.login({ email: "ada@example.com", password: PASSWORD }, "web", CLIENT)).rejects.toMatchObject({ code: "invalid_credentials" });
    await unit.services.accounts.login({ email: "ada@example.com", password: NEW_PASSWORD }, "web", CLIENT);
    for (const session of [laptop, phone]) {
      await expect(unit.services.sessions.refresh(session.refreshToken, CLIENT)).rejects.toMatchObject({ code: "invalid_grant" });
      await expect(unit.services.tokens.authenticate(session.accessToken)).rejects.toMatchObject({ code: "invalid_token" });
    }
    expect((await unit.services.accounts.profile(user.id)).email_verified).toBe(true);
    expect(unit.storage.events.filter((e) => e.type === "password_reset")).toEqual([expect.objectContaining({ userId: user.id, ip: CLIENT.ip })]);
    const notice = unit.storage.outbox.at(-1)!;
    expect(notice).toMatchObject({ to: "ada@example.com", subject: expect.stringMatching(/password was changed/i) });
    expect(notice.text).not.toMatch(/token=/);
  });

  it("the link works once", async () => {
    const { unit, token, background } = await resetRequested();
    await unit.services.lifecycle.resetPassword({ token, newPassword: NEW_PASSWORD }, CLIENT, background);
    await expect(unit.services.lifecycle.resetPassword({ token, newPassword: "yet another passphrase" }, CLIENT, background)).rejects.toMatchObject({ code: "invalid_request", detail: { field: "token" } });
  });

  it("applies the password rules first, and a refused password keeps the link", async () => {
    const { unit, token, background } = await resetRequested();
    await expect(unit.services.lifecycle.resetPassword({ token, newPassword: "short" }, CLIENT, background)).rejects.toMatchObject({ detail: { field: "new_password" } });
    await expect(unit.services.lifecycle.resetPassword({ token, newPassword: "password123" }, CLIENT, background)).rejects.toMatchObject({ detail: { field: "new_password" } });
    await unit.services.lifecycle.resetPassword({ token, newPassword: NEW_PASSWORD }, CLIENT, background);
  });

  it("expires after 30 minutes by default", async () => {
    const { unit, token, background } = await resetRequested();
    unit.clock.advance(30 * MINUTE);
    await expect(unit.services.lifecycle.resetPassword({ token, newPassword: NEW_PASSWORD }, CLIENT, background)).rejects.toMatchObject({ code: "invalid_request" });
  });

  it("a newer request voids the older link", async () => {
    const { unit, token, background, settle } = await resetRequested();
    await unit.services.lifecycle.forgotPassword("ada@example.com", CLIENT, background);
    await settle();
    await expect(unit.services.lifecycle.resetPassword({ token, newPassword: NEW_PASSWORD }, CLIENT, background)).rejects.toMatchObject({ code: "invalid_request" });
    const newer = linkToken(unit.storage.outbox.at(-1)!.text, "reset-password");
    await unit.services.lifecycle.resetPassword({ token: newer, newPassword: NEW_PASSWORD }, CLIENT, background);
  });

  it("a password change voids the link", async () => {
    const { unit, user, laptop, token, background } = await resetRequested();
    await unit.services.accounts.changePassword({ userId: user.id, familyId: laptop.familyId, currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, CLIENT);
    await expect(unit.services.lifecycle.resetPassword({ token, newPassword: "yet another passphrase" }, CLIENT, background)).rejects.toMatchObject({ code: "invalid_request" });
  });

  it("a disabled account cannot be reset", async () => {
    const { unit, user, token, background } = await resetRequested();
    await unit.services.accounts.disable(user.id, { ...CLIENT, id: "admin-api-token" });
    await expect(unit.services.lifecycle.resetPassword({ token, newPassword: NEW_PASSWORD }, CLIENT, background)).rejects.toMatchObject({ code: "invalid_request" });
  });
});
