import { describe, expect, test, vi } from "vitest";
import { browserTabs } from "../src/index.js";
import { settle } from "./support/fake-browser.js";
import { ACCESS_TTL_SECONDS } from "./support/fake-server.js";
import { signedInBrowser, useFakeClock } from "./support/setup.js";

useFakeClock();

describe("single-flight refresh", () => {
  test("within a tab: five concurrent callers share one request and one result", async () => {
    const { browser, tabs: [a] } = await signedInBrowser(1);
    const results = await settle(Promise.all(Array.from({ length: 5 }, () => a.client.refresh())));
    expect(browser.authTraffic).toEqual(["POST /auth/refresh 200"]);
    expect(new Set(results.map((s) => s?.accessToken)).size).toBe(1);
  });

  test("without Web Locks or BroadcastChannel (one tab): concurrent callers still share one request", async () => {
    const { browser } = await signedInBrowser(1);
    const tab = browser.openTab({ tabs: browserTabs("edge-auth", {}) });
    const results = await settle(Promise.all([tab.client.refresh(), tab.client.refresh(), tab.client.fetchWithAuth("/auth/me")]));
    expect(browser.authTraffic).toEqual(["POST /auth/refresh 200", "GET /auth/me 200"]);
    expect(results[1]?.accessToken).toBe(results[0]?.accessToken);
  });

  test("across two tabs: N concurrent callers send one request, all share the token, the family lives", async () => {
    const { browser, server, tabs: [a, b] } = await signedInBrowser();
    const calls = [a, b, a, b, a, b].map((tab) => tab.client.refresh());
    const results = await settle(Promise.all(calls));
    expect(browser.authTraffic).toEqual(["POST /auth/refresh 200"]);
    expect(new Set(results.map((s) => s?.accessToken)).size).toBe(1);
    expect(results[0]).not.toBeNull();
    expect(server.isFamilyLive(results[0]!.claims.sid)).toBe(true);
    expect(a.client.session?.accessToken).toBe(b.client.session?.accessToken);
  });

  test("a broadcast slower than the lock (but within the hand-off wait) still means one request", async () => {
    const { browser, tabs: [a, b] } = await signedInBrowser();
    browser.channels.delayMs = 300;
    const results = await settle(Promise.all([a.client.refresh(), b.client.refresh()]));
    expect(browser.authTraffic).toEqual(["POST /auth/refresh 200"]);
    expect(results[1]?.accessToken).toBe(results[0]?.accessToken);
  });

  test("a lost broadcast: the waiting tab refreshes after the other, with the rotated cookie (no reuse)", async () => {
    const { browser, server, tabs: [a, b] } = await signedInBrowser();
    browser.channels.drop = true;
    const [first, second] = await settle(Promise.all([a.client.refresh(), b.client.refresh()]));
    expect(browser.authTraffic).toEqual(["POST /auth/refresh 200", "POST /auth/refresh 200"]);
    expect(second?.accessToken).not.toBe(first?.accessToken);
    expect(server.isFamilyLive(second!.claims.sid)).toBe(true);
  });

  test("two tabs whose tokens are about to expire: one refresh, then each tab's call", async () => {
    const { browser, tabs: [a, b] } = await signedInBrowser();
    vi.setSystemTime(Date.now() + (ACCESS_TTL_SECONDS - 10) * 1000);
    const answers = await settle(Promise.all([a, b, a, b].map((tab) => tab.client.fetchWithAuth("/auth/me"))));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(browser.count("POST /auth/refresh")).toBe(1);
    expect(browser.authTraffic[0]).toBe("POST /auth/refresh 200");
    expect(browser.count("GET /auth/me")).toBe(4);
  });
});

describe("fetchWithAuth on a 401", () => {
  test("refreshes once and retries once", async () => {
    const { browser, server, tabs: [a, b] } = await signedInBrowser();
    server.dropAccessTokens(); // e.g. an emergency key rotation
    const res = await settle(a.client.fetchWithAuth("/auth/me"));
    expect(res.status).toBe(200);
    expect(browser.authTraffic).toEqual(["GET /auth/me 401", "POST /auth/refresh 200", "GET /auth/me 200"]);
    expect(browser.sent[2]?.authorization).toBe(`Bearer ${a.client.session?.accessToken}`);
    expect(b.eventNames()).toEqual(["refreshed"]);
  });

  test("a second 401 is returned as is: no loop", async () => {
    const { browser, tabs: [a] } = await signedInBrowser(1);
    const viaNetwork = browser.fetch;
    a.client.close();
    const tab = browser.openTab({
      apiOrigins: ["https://api.example.com"],
      fetch: (input, init) => (String(input).startsWith("https://api.") ? Promise.resolve(new Response(null, { status: 401 })) : viaNetwork(input, init)),
    });
    await settle(tab.client.restore());
    browser.authTraffic.splice(0);
    const res = await settle(tab.client.fetchWithAuth("https://api.example.com/orders"));
    expect(res.status).toBe(401);
    expect(browser.authTraffic).toEqual(["POST /auth/refresh 200"]);
  });

  test("a refused refresh after a 401: the 401 is returned and every tab gets session_expired", async () => {
    const { browser, server, tabs: [a, b] } = await signedInBrowser();
    server.revokeFamily(a.client.session!.claims.sid);
    const res = await settle(a.client.fetchWithAuth("/auth/me"));
    expect(res.status).toBe(401);
    expect(browser.authTraffic).toEqual(["GET /auth/me 401", "POST /auth/refresh 401"]);
    expect(a.eventNames()).toEqual(["session_expired"]);
    expect(b.eventNames()).toEqual(["session_expired"]);
  });

  test("not signed in: login_required after one refresh attempt", async () => {
    const { browser, tabs: [a] } = await signedInBrowser(1);
    await settle(a.client.logout());
    browser.authTraffic.splice(0);
    await expect(settle(a.client.fetchWithAuth("/auth/me"))).rejects.toMatchObject({ status: 401, code: "login_required" });
    expect(browser.authTraffic).toEqual(["POST /auth/refresh 401"]);
  });
});
