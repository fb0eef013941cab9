import { describe, expect, it } from "vitest";
import { backgroundTasks, CLIENT, linkToken, PASSWORD, unitServices } from "../../test/unit";
import { hashLinkToken } from "./link-tokens";

const HOUR = 3600_000;

/** A registered user and the verification email registration sent. */
async function registered(options: Parameters<typeof unitServices>[0] = {}) {
  const unit = unitServices(options);
  const { background, settle } = backgroundTasks();
  const { user, session } = await unit.services.lifecycle.register({ email: "ada@example.com", password: PASSWORD }, "web", CLIENT, background);
  await settle();
  return { unit, user, session, background, settle, mail: unit.storage.outbox.at(-1) };
}

describe("email verification", () => {
  it("registration emails a verification link (text and HTML, token in the fragment) and the user starts unverified", async () => {
    const { unit, user, mail } = await registered();
    expect(user.email_verified).toBe(false);
    expect(mail).toMatchObject({ to: "ada@example.com", subject: expect.stringMatching(/verify/i) });
    const token = linkToken(mail!.text, "verify-email");
    expect(token).toMatch(/^[A-Za-z0-9_-]{44}$/);
    expect(mail!.text).toContain(`http://localhost:5173/#/verify-email?token=${token}`);
    expect(mail!.html).toContain(`http://localhost:5173/#/verify-email?token=${token}`);
    // Stored as the hash of purpose:token only.
    expect([...unit.storage.linkTokens.keys()]).toEqual([await hashLinkToken("verify_email", token)]);
    expect(JSON.stringify([...unit.storage.linkTokens.values()])).not.toContain(token);
  });

  it("the link verifies the email once; the profile and the next access token say so", async () => {
    const { unit, user, session, mail } = await registered();
    const token = linkToken(mail!.text, "verify-email");
    await unit.services.lifecycle.verifyEmail(token, CLIENT);
    expect((await unit.services.accounts.profile(user.id)).email_verified).toBe(true);
    const refreshed = await unit.services.sessions.refresh(session!.refreshToken, CLIENT);
    expect((await unit.services.tokens.verify(refreshed.accessToken)).email_verified).toBe(true);
    expect(unit.storage.events.map((e) => e.type)).toEqual(["register", "email_verified"]);
    await expect(unit.services.lifecycle.verifyEmail(token, CLIENT)).rejects.toMatchObject({ code: "invalid_request", detail: { field: "token" } });
  });

  it("an expired link verifies nothing", async () => {
    const { unit, user, mail } = await registered();
    unit.clock.advance(24 * HOUR + 1);
    await expect(unit.services.lifecycle.verifyEmail(linkToken(mail!.text, "verify-email"), CLIENT)).rejects.toMatchObject({ code: "invalid_request" });
    expect((await unit.services.accounts.profile(user.id)).email_verified).toBe(false);
  });

  it("a verification token cannot reset the password, nor confirm an email change", async () => {
    const { unit, mail } = await registered();
    const token = linkToken(mail!.text, "verify-email");
    const { background } = backgroundTasks();
    await expect(unit.services.lifecycle.resetPassword({ token, newPassword: "a brand new passphrase" }, CLIENT, background)).rejects.toMatchObject({ code: "invalid_request" });
    await expect(unit.services.lifecycle.confirmEmailChange(token, CLIENT)).rejects.toMatchObject({ code: "invalid_request" });
    // Still good for what it was made for.
    await unit.services.lifecycle.verifyEmail(token, CLIENT);
  });

  it("malformed tokens are refused before any lookup", async () => {
    const { unit } = await registered();
    for (const token of ["", "short", "A".repeat(45), "A".repeat(43) + "="]) {
      await expect(unit.services.lifecycle.verifyEmail(token, CLIENT)).rejects.toMatchObject({ code: "invalid_request", detail: { field: "token" } });
    }
  });

  it("resend (signed in) sends a new link that voids the old one; a verified user gets invalid_request", async () => {
    const { unit, user, background, mail } = await registered();
    await unit.services.lifecycle.resendVerification({ userId: user.id }, CLIENT, background);
    const fresh = unit.storage.outbox.at(-1)!;
    expect(unit.storage.outbox).toHaveLength(2);
    await expect(unit.services.lifecycle.verifyEmail(linkToken(mail!.text, "verify-email"), CLIENT)).rejects.toMatchObject({ code: "invalid_request" });
    await unit.services.lifecycle.verifyEmail(linkToken(fresh.text, "verify-email"), CLIENT);
    await expect(unit.services.lifecycle.resendVerification({ userId: user.id }, CLIENT, background)).rejects.toMatchObject({ code: "invalid_request", detail: { field: "email" } });
  });

  it("resend is rate limited per address", async () => {
    const { unit, user, background } = await registered({ limits: { emails: 2 } });
    await unit.services.lifecycle.resendVerification({ userId: user.id }, CLIENT, background);
    await unit.services.lifecycle.resendVerification({ userId: user.id }, { ...CLIENT, ip: "203.0.113.9" }, background);
    await expect(unit.services.lifecycle.resendVerification({ userId: user.id }, { ...CLIENT, ip: "192.0.2.1" }, background)).rejects.toMatchObject({ code: "rate_limited" });
  });

  it("when the email cannot be sent, resend fails with email_unavailable and leaves no link", async () => {
    const { unit, user, background } = await registered();
    const before = [...unit.storage.linkTokens.keys()];
    unit.emailFails.now = true;
    await expect(unit.services.lifecycle.resendVerification({ userId: user.id }, CLIENT, background)).rejects.toMatchObject({ code: "email_unavailable" });
    // The new link is gone, and it had voided the older one: no link anybody could hold is left.
    expect(unit.storage.linkTokens.size).toBe(0);
    expect(before).toHaveLength(1);
  });

  it("a registration whose email fails still succeeds, and leaves no link behind", async () => {
    const unit = unitServices();
    unit.emailFails.now = true;
    const { background, settle } = backgroundTasks();
    const { session } = await unit.services.lifecycle.register({ email: "bob@example.com", password: PASSWORD }, "web", CLIENT, background);
    await settle();
    expect(session).toBeDefined();
    expect(unit.storage.linkTokens.size).toBe(0);
  });

  it("resend by address answers alike for every address and sends only to an unverified account", async () => {
    const { unit, settle, background } = await registered();
    await unit.services.lifecycle.resendVerification({ email: "nobody@example.com" }, CLIENT, background);
    await unit.services.lifecycle.resendVerification({ email: "ADA@example.com" }, CLIENT, background);
    await settle();
    expect(unit.storage.outbox.map((m) => m.to)).toEqual(["ada@example.com", "ada@example.com"]);
  });
});

describe("REQUIRE_VERIFIED_EMAIL", () => {
  const required = { config: { email: { requireVerified: true } } } as Parameters<typeof unitServices>[0];

  it("registration starts no session; login is refused with email_not_verified until the link is used", async () => {
    const { unit, user, session, mail } = await registered(required);
    expect(session).toBeUndefined();
    expect(unit.storage.families.size).toBe(0);
    await expect(unit.services.accounts.login({ email: "ada@example.com", password: PASSWORD }, "web", CLIENT)).rejects.toMatchObject({ code: "email_not_verified" });
    // A wrong password says nothing about verification.
    await expect(unit.services.accounts.login({ email: "ada@example.com", password: "not the password" }, "web", CLIENT)).rejects.toMatchObject({ code: "invalid_credentials" });
    await unit.services.lifecycle.verifyEmail(linkToken(mail!.text, "verify-email"), CLIENT);
    const { session: started } = await unit.services.accounts.login({ email: "ada@example.com", password: PASSWORD }, "web", CLIENT);
    expect((await unit.services.tokens.verify(started.accessToken)).email_verified).toBe(true);
    expect(user.email_verified).toBe(false);
  });
});
