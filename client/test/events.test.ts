import { describe, expect, test } from "vitest";
import { AuthClientError } from "../src/index.js";
import { FakeBrowser, settle } from "./support/fake-browser.js";
import { FakeAuthServer } from "./support/fake-server.js";
import { EMAIL, PASSWORD, signedInBrowser, useFakeClock } from "./support/setup.js";

useFakeClock();

describe("onChange events, in this tab and the others", () => {
  test("login: signed_in in every tab, which all hold the same token; the user is returned", async () => {
    const server = new FakeAuthServer();
    await settle(new FakeBrowser(server).openTab().client.register({ email: EMAIL, password: PASSWORD }));
    const browser = new FakeBrowser(server);
    const [a, b] = [browser.openTab(), browser.openTab()];
    const user = await settle(a.client.login({ email: EMAIL, password: PASSWORD }));
    expect(user).toMatchObject({ email: EMAIL, roles: ["user"] });
    expect(a.eventNames()).toEqual(["signed_in"]);
    expect(b.eventNames()).toEqual(["signed_in"]);
    expect(b.client.session?.accessToken).toBe(a.client.session?.accessToken);
    expect(a.events[0]?.session?.claims.sub).toBe(user.id);
    expect(browser.cookie).toBeDefined();
  });

  test("refresh: refreshed in every tab, same session id, a new token", async () => {
    const { tabs: [a, b] } = await signedInBrowser();
    const before = a.client.session!;
    const after = await settle(b.client.refresh());
    expect(after?.claims.sid).toBe(before.claims.sid);
    expect(after?.accessToken).not.toBe(before.accessToken);
    expect(a.eventNames()).toEqual(["refreshed"]);
    expect(b.eventNames()).toEqual(["refreshed"]);
    expect(a.client.session?.accessToken).toBe(after?.accessToken);
  });

  test("restore in a new tab: signed_in from the cookie; with no cookie: null and no event", async () => {
    const { browser } = await signedInBrowser(1);
    const late = browser.openTab();
    expect(await settle(late.client.restore())).not.toBeNull();
    expect(late.eventNames()).toEqual(["signed_in"]);

    const stranger = new FakeBrowser(new FakeAuthServer()).openTab();
    expect(await settle(stranger.client.restore())).toBeNull();
    expect(stranger.eventNames()).toEqual([]);
  });

  test("logout: signed_out in every tab, the cookie is cleared and the family ended", async () => {
    const { browser, server, tabs: [a, b] } = await signedInBrowser();
    const sid = a.client.session!.claims.sid;
    await settle(b.client.logout());
    expect(a.eventNames()).toEqual(["signed_out"]);
    expect(b.eventNames()).toEqual(["signed_out"]);
    expect(a.client.session).toBeNull();
    expect(browser.cookie).toBeUndefined();
    expect(server.isFamilyLive(sid)).toBe(false);
    expect(browser.sent.at(-1)?.authorization).toMatch(/^Bearer /);
  });

  test("a refused cookie (invalid_grant): session_expired in every tab, once", async () => {
    const { browser, server, tabs: [a, b] } = await signedInBrowser();
    server.revokeFamily(a.client.session!.claims.sid); // e.g. ended from another device
    expect(await settle(a.client.refresh())).toBeNull();
    expect(a.eventNames()).toEqual(["session_expired"]);
    expect(b.eventNames()).toEqual(["session_expired"]);
    expect(b.client.session).toBeNull();
    expect(browser.cookie).toBeUndefined();
    // Already signed out: nothing more to report.
    expect(await settle(b.client.refresh())).toBeNull();
    expect(b.eventNames()).toEqual(["session_expired"]);
  });

  test("a sign-out message from an older client (no reason) reads as signed_out; junk messages are ignored", async () => {
    const { browser, tabs: [a] } = await signedInBrowser(1);
    browser.channels.postAsStranger("edge-auth", { type: "signed-out", reason: "because" });
    browser.channels.postAsStranger("edge-auth", { type: "session", accessToken: 42 });
    await settle(Promise.resolve());
    expect(a.client.session).not.toBeNull();
    browser.channels.postAsStranger("edge-auth", { type: "signed-out" });
    await settle(Promise.resolve());
    expect(a.eventNames()).toEqual(["signed_out"]);
  });

  test("a wrong password: invalid_credentials, no event, no cookie", async () => {
    const server = new FakeAuthServer();
    await settle(new FakeBrowser(server).openTab().client.register({ email: EMAIL, password: PASSWORD }));
    const browser = new FakeBrowser(server);
    const tab = browser.openTab();
    const error = await settle(tab.client.login({ email: EMAIL, password: "not it" })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuthClientError);
    expect(error).toMatchObject({ status: 401, code: "invalid_credentials" });
    expect(tab.eventNames()).toEqual([]);
    expect(browser.cookie).toBeUndefined();
  });

  test("register with a taken email: email_taken", async () => {
    const { browser } = await signedInBrowser(1);
    const error = await settle(browser.openTab().client.register({ email: EMAIL, password: PASSWORD })).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 409, code: "email_taken" });
  });

  test("offline: network_error, and the session is kept", async () => {
    const { browser, tabs: [a] } = await signedInBrowser(1);
    browser.offline = true;
    await expect(settle(a.client.refresh())).rejects.toMatchObject({ status: 0, code: "network_error" });
    expect(a.client.session).not.toBeNull();
    expect(a.eventNames()).toEqual([]);
  });
});

describe("refresh retries (the service's grace window forgives a retry of the same token for 10 s)", () => {
  test("a refresh with no answer, or a 503 with Retry-After: 1, is tried again at once; the session goes on", async () => {
    const { browser, tabs: [a] } = await signedInBrowser(1);
    browser.refreshFaults.push("no_answer", { status: 503, retryAfter: "1" });
    const before = Date.now();
    const session = await settle(a.client.refresh());
    expect(session).not.toBeNull();
    expect(browser.authTraffic).toEqual(["POST /auth/refresh 503", "POST /auth/refresh 200"]);
    expect(Date.now() - before).toBeGreaterThanOrEqual(2_000);
    expect(Date.now() - before).toBeLessThan(10_000);
    expect(a.eventNames()).toEqual(["refreshed"]);
  });

  test("three failures in a row: the last error, with its Retry-After, and the session is kept", async () => {
    const { browser, tabs: [a] } = await signedInBrowser(1);
    browser.refreshFaults.push({ status: 503, retryAfter: "1" }, { status: 503, retryAfter: "1" }, { status: 503, retryAfter: "2" }, { status: 503 });
    await expect(settle(a.client.refresh())).rejects.toMatchObject({ status: 503, code: "retry_later", retryAfterSeconds: 2 });
    expect(browser.authTraffic).toEqual(["POST /auth/refresh 503", "POST /auth/refresh 503", "POST /auth/refresh 503"]);
    expect(a.client.session).not.toBeNull();
  });

  test("a 429 that asks for a long wait is not retried: the caller gets it with its Retry-After (seconds, or an HTTP date)", async () => {
    const { browser, tabs: [a] } = await signedInBrowser(1);
    browser.refreshFaults.push({ status: 429, retryAfter: "60" }, { status: 429, retryAfter: new Date(Date.now() + 120_000).toUTCString() });
    await expect(settle(a.client.refresh())).rejects.toMatchObject({ status: 429, code: "rate_limited", retryAfterSeconds: 60 });
    await expect(settle(a.client.refresh())).rejects.toMatchObject({ status: 429, code: "rate_limited", retryAfterSeconds: 120 });
    expect(browser.authTraffic).toEqual(["POST /auth/refresh 429", "POST /auth/refresh 429"]);
  });
});

describe("clientId", () => {
  test("is sent as client_id on register, login and refresh, and names the session's client", async () => {
    const browser = new FakeBrowser(new FakeAuthServer());
    const tab = browser.openTab({ clientId: "admin-console" });
    await settle(tab.client.register({ email: EMAIL, password: PASSWORD }));
    await settle(tab.client.login({ email: EMAIL, password: PASSWORD }));
    const session = await settle(tab.client.refresh());
    expect(browser.sent.map((r) => r.body.client_id)).toEqual(["admin-console", "admin-console", "admin-console"]);
    expect(session?.claims.client_id).toBe("admin-console");
  });

  test("is left out when not configured", async () => {
    const { browser, tabs: [a] } = await signedInBrowser(1);
    await settle(a.client.refresh());
    expect(browser.sent.map((r) => r.body)).toEqual([{}]);
  });
});
