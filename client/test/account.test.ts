import { describe, expect, test, vi } from "vitest";
import { AuthClientError } from "../src/index.js";
import { FakeBrowser, settle } from "./support/fake-browser.js";
import { ACCESS_TTL_SECONDS } from "./support/fake-server.js";
import { EMAIL, PASSWORD, signedInBrowser, useFakeClock } from "./support/setup.js";

useFakeClock();

/** The same user signed in on a laptop (two tabs) and on a phone. */
async function twoDevices() {
  const laptop = await signedInBrowser(2);
  const phoneBrowser = new FakeBrowser(laptop.server);
  const phone = phoneBrowser.openTab();
  await settle(phone.client.login({ email: EMAIL, password: PASSWORD }));
  return { ...laptop, phone, phoneBrowser, laptopSid: laptop.tabs[0].client.session!.claims.sid, phoneSid: phone.client.session!.claims.sid };
}

describe("typed calls", () => {
  test("me() returns the user", async () => {
    const { tabs: [a] } = await signedInBrowser(1);
    const user = await settle(a.client.me());
    expect(user).toEqual({ id: a.client.session!.claims.sub, email: EMAIL, role: "user", roles: ["user"], email_verified: false, created_at: expect.any(String) });
  });

  test("listSessions() lists every device, exactly this one current", async () => {
    const { tabs: [a], laptopSid, phoneSid } = await twoDevices();
    const sessions = await settle(a.client.listSessions());
    expect(sessions.map((s) => [s.id, s.current]).sort()).toEqual([[laptopSid, true], [phoneSid, false]].sort());
    expect(sessions[0]).toHaveProperty("client_id", "web");
  });

  test("revokeSession(another device) ends that one only", async () => {
    const { server, tabs: [a, b], phone, laptopSid, phoneSid } = await twoDevices();
    await settle(a.client.revokeSession(phoneSid));
    expect(server.isFamilyLive(phoneSid)).toBe(false);
    expect(server.isFamilyLive(laptopSid)).toBe(true);
    expect([...a.eventNames(), ...b.eventNames()]).toEqual([]);
    expect(await settle(phone.client.refresh())).toBeNull();
    expect(phone.eventNames().at(-1)).toBe("session_expired");
  });

  test("revokeSession(this one) signs out every tab here", async () => {
    const { tabs: [a, b], laptopSid } = await twoDevices();
    await settle(a.client.revokeSession(laptopSid));
    expect(a.eventNames()).toEqual(["signed_out"]);
    expect(b.eventNames()).toEqual(["signed_out"]);
  });

  test("revokeSession(unknown): the service's 404 as an AuthClientError", async () => {
    const { tabs: [a] } = await signedInBrowser(1);
    await expect(settle(a.client.revokeSession("nope"))).rejects.toMatchObject({ status: 404, code: "invalid_request" });
  });

  test("logoutAll() ends every device's session and signs out every tab here", async () => {
    const { browser, server, tabs: [a, b], phone, laptopSid, phoneSid } = await twoDevices();
    await settle(b.client.logoutAll());
    expect(server.isFamilyLive(laptopSid)).toBe(false);
    expect(server.isFamilyLive(phoneSid)).toBe(false);
    expect(a.eventNames()).toEqual(["signed_out"]);
    expect(b.eventNames()).toEqual(["signed_out"]);
    expect(browser.cookie).toBeUndefined();
    expect(await settle(phone.client.refresh())).toBeNull();
  });

  test("logoutAll() with an expired token refreshes first (holding the lock, without deadlock)", async () => {
    const { browser, tabs: [a] } = await signedInBrowser(1);
    vi.setSystemTime(Date.now() + ACCESS_TTL_SECONDS * 1000);
    await settle(a.client.logoutAll());
    expect(browser.authTraffic).toEqual(["POST /auth/refresh 200", "POST /auth/logout-all 204"]);
    expect(a.eventNames()).toEqual(["refreshed", "signed_out"]);
  });

  test("logoutAll() while another tab refreshes: the refresh lands first, the sign-out last", async () => {
    const { browser, tabs: [a, b] } = await signedInBrowser();
    await settle(Promise.all([a.client.refresh(), b.client.logoutAll()]));
    expect(browser.authTraffic).toEqual(["POST /auth/refresh 200", "POST /auth/logout-all 204"]);
    expect([a.client.session, b.client.session]).toEqual([null, null]);
  });

  test("changePassword() ends the other devices' sessions and refreshes this one's cut-off token", async () => {
    const { browser, server, tabs: [a, b], laptopSid, phoneSid } = await twoDevices();
    await settle(a.client.changePassword({ currentPassword: PASSWORD, newPassword: "a new long passphrase" }));
    expect(server.isFamilyLive(phoneSid)).toBe(false);
    expect(server.isFamilyLive(laptopSid)).toBe(true);
    expect(browser.authTraffic).toEqual(["POST /auth/password 204", "POST /auth/refresh 200"]);
    expect(browser.sent[0]?.body).toEqual({ current_password: PASSWORD, new_password: "a new long passphrase" });
    expect(b.eventNames()).toEqual(["refreshed"]);
    browser.authTraffic.splice(0);
    expect((await settle(b.client.fetchWithAuth("/auth/me"))).status).toBe(200);
    expect(browser.authTraffic).toEqual(["GET /auth/me 200"]);
  });

  test("changePassword() with a wrong current password: invalid_credentials, nothing changes", async () => {
    const { server, tabs: [a], phoneSid } = await twoDevices();
    const error = await settle(a.client.changePassword({ currentPassword: "wrong", newPassword: "a new long passphrase" })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthClientError);
    expect(error).toMatchObject({ status: 401, code: "invalid_credentials" });
    expect(server.isFamilyLive(phoneSid)).toBe(true);
  });

  test("a typed call whose session was ended elsewhere: the 401 as an AuthClientError, and session_expired", async () => {
    const { server, tabs: [a], laptopSid } = await twoDevices();
    server.revokeFamily(laptopSid);
    await expect(settle(a.client.me())).rejects.toMatchObject({ status: 401, code: "invalid_token" });
    expect(a.eventNames()).toEqual(["session_expired"]);
  });

  test("a typed call offline: network_error", async () => {
    const { browser, tabs: [a] } = await signedInBrowser(1);
    browser.offline = true;
    await expect(settle(a.client.listSessions())).rejects.toMatchObject({ status: 0, code: "network_error" });
  });
});
