import { describe, expect, test, vi } from "vitest";
import { readLinkToken } from "../src/index.js";
import { FakeBrowser, settle } from "./support/fake-browser.js";
import { FakeAuthServer } from "./support/fake-server.js";
import { EMAIL, PASSWORD, signedInBrowser, useFakeClock } from "./support/setup.js";

useFakeClock();

const lastLink = (server: FakeAuthServer, page: string) => server.outbox.findLast((link) => link.page === page)!;

describe("password reset", () => {
  test("requestPasswordReset() posts the address, with no session and no cookie", async () => {
    const { server, browser, tabs: [a] } = await signedInBrowser(1);
    await settle(a.client.requestPasswordReset({ email: EMAIL }));
    expect(browser.authTraffic).toEqual(["POST /auth/password/forgot 202"]);
    expect(browser.sent[0]).toMatchObject({ authorization: null, body: { email: EMAIL } });
    expect(lastLink(server, "reset-password").to).toBe(EMAIL);
  });

  test("resetPassword() sets the new password; every session of the user ends", async () => {
    const { server, browser, tabs: [a] } = await signedInBrowser(1);
    const other = new FakeBrowser(server).openTab();
    await settle(other.client.requestPasswordReset({ email: EMAIL }));
    await settle(other.client.resetPassword({ token: lastLink(server, "reset-password").token, newPassword: "a brand new passphrase" }));
    expect(other.client.session).toBeNull();
    // The signed-in tab finds out at its next refresh.
    expect(await settle(a.client.refresh())).toBeNull();
    expect(a.eventNames()).toEqual(["session_expired"]);
    await settle(a.client.login({ email: EMAIL, password: "a brand new passphrase" }));
    expect(browser.cookie).toBeDefined();
  });

  test("resetPassword() with a used link: the service's 400 as an AuthClientError", async () => {
    const { server, tabs: [a] } = await signedInBrowser(1);
    await settle(a.client.requestPasswordReset({ email: EMAIL }));
    const { token } = lastLink(server, "reset-password");
    await settle(a.client.resetPassword({ token, newPassword: "a brand new passphrase" }));
    await expect(settle(a.client.resetPassword({ token, newPassword: "another passphrase" }))).rejects.toMatchObject({ status: 400, code: "invalid_request" });
  });
});

describe("email verification", () => {
  test("verifyEmail() in a signed-in tab refreshes, so the token says email_verified", async () => {
    const { server, browser, tabs: [a, b] } = await signedInBrowser(2);
    expect(a.client.session!.claims.email_verified).toBe(false);
    await settle(a.client.verifyEmail({ token: lastLink(server, "verify-email").token }));
    expect(browser.authTraffic).toEqual(["POST /auth/email/verify 204", "POST /auth/refresh 200"]);
    expect(a.client.session!.claims.email_verified).toBe(true);
    expect(b.client.session!.claims.email_verified).toBe(true);
  });

  test("verifyEmail() signed out just uses the link", async () => {
    const server = new FakeAuthServer();
    const browser = new FakeBrowser(server);
    const tab = browser.openTab();
    await settle(tab.client.register({ email: EMAIL, password: PASSWORD }));
    const fresh = new FakeBrowser(server).openTab();
    await settle(fresh.client.verifyEmail({ token: lastLink(server, "verify-email").token }));
    expect(fresh.client.session).toBeNull();
    expect((await settle(tab.client.me())).email_verified).toBe(true);
  });

  test("resendVerification(): with the access token when signed in, with the address otherwise", async () => {
    const { server, browser, tabs: [a] } = await signedInBrowser(1);
    await settle(a.client.resendVerification());
    expect(browser.sent.at(-1)).toMatchObject({ authorization: expect.stringMatching(/^Bearer /), body: {} });
    const stranger = new FakeBrowser(server);
    await settle(stranger.openTab().client.resendVerification({ email: EMAIL }));
    expect(stranger.sent.at(-1)).toMatchObject({ authorization: null, body: { email: EMAIL } });
    expect(server.outbox.filter((link) => link.page === "verify-email")).toHaveLength(3);
  });

  test("register() when the service requires a verified email first: the user, and no session", async () => {
    const server = new FakeAuthServer();
    server.requireVerifiedEmail = true;
    const browser = new FakeBrowser(server);
    const tab = browser.openTab();
    const user = await settle(tab.client.register({ email: EMAIL, password: PASSWORD }));
    expect(user).toMatchObject({ email: EMAIL, email_verified: false });
    expect(tab.client.session).toBeNull();
    expect(tab.eventNames()).toEqual([]);
    await expect(settle(tab.client.login({ email: EMAIL, password: PASSWORD }))).rejects.toMatchObject({ status: 403, code: "email_not_verified" });
  });
});

describe("email change", () => {
  test("changeEmail() asks with the current password; confirmEmailChange() moves the user", async () => {
    const { server, browser, tabs: [a] } = await signedInBrowser(1);
    await settle(a.client.changeEmail({ newEmail: "grace@example.com", currentPassword: PASSWORD }));
    expect(browser.sent.at(-1)).toMatchObject({ body: { new_email: "grace@example.com", current_password: PASSWORD }, authorization: expect.stringMatching(/^Bearer /) });
    const link = lastLink(server, "confirm-email-change");
    expect(link.to).toBe("grace@example.com");
    await settle(a.client.confirmEmailChange({ token: link.token }));
    expect(await settle(a.client.me())).toMatchObject({ email: "grace@example.com", email_verified: true });
  });

  test("changeEmail() with a wrong password or a taken address: the service's errors", async () => {
    const { server, tabs: [a] } = await signedInBrowser(1);
    await expect(settle(a.client.changeEmail({ newEmail: "grace@example.com", currentPassword: "wrong" }))).rejects.toMatchObject({ status: 401, code: "invalid_credentials" });
    await settle(new FakeBrowser(server).openTab().client.register({ email: "taken@example.com", password: PASSWORD }));
    await expect(settle(a.client.changeEmail({ newEmail: "taken@example.com", currentPassword: PASSWORD }))).rejects.toMatchObject({ status: 409, code: "email_taken" });
  });
});

describe("readLinkToken()", () => {
  const page = (hash: string) => {
    const win = { location: { hash, pathname: "/app/", search: "?x=1" }, history: { state: { kept: true }, replaceState: vi.fn() } };
    return win as unknown as Window & { history: { replaceState: ReturnType<typeof vi.fn> } };
  };

  test.each(["verify-email", "reset-password", "confirm-email-change"])("reads a %s link and removes the token from the address bar", (name) => {
    const win = page(`#/${name}?token=AbC_d-9`);
    expect(readLinkToken(win)).toEqual({ page: name, token: "AbC_d-9" });
    expect(win.history.replaceState).toHaveBeenCalledWith({ kept: true }, "", `/app/?x=1#/${name}`);
  });

  test.each(["", "#/", "#/reset-password", "#/other?token=abc", "#/reset-password?token=", "#token=abc"])("ignores %j and leaves the URL alone", (hash) => {
    const win = page(hash);
    expect(readLinkToken(win)).toBeNull();
    expect(win.history.replaceState).not.toHaveBeenCalled();
  });
});
