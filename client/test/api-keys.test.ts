import { describe, expect, test } from "vitest";
import { settle } from "./support/fake-browser.js";
import { signedInBrowser, useFakeClock } from "./support/setup.js";

useFakeClock();

describe("API keys", () => {
  test("createApiKey() sends the snake_case body and returns the key once; listApiKeys() never holds it", async () => {
    const { browser, server, tabs: [a] } = await signedInBrowser(1);
    const created = await settle(a.client.createApiKey({ name: "deploy from CI", expiresInDays: 30 }));
    expect(browser.authTraffic).toEqual(["POST /auth/api-keys 201"]);
    expect(browser.sent[0]).toMatchObject({ method: "POST", body: { name: "deploy from CI", expires_in_days: 30 } });
    expect(browser.sent[0]?.authorization).toBe(`Bearer ${a.client.session!.accessToken}`);
    expect(created).toMatchObject({ name: "deploy from CI", scopes: ["profile:read"], prefix: created.key.slice(0, 11) });
    expect(created.key).toMatch(/^etsk_/);
    expect(Date.parse(created.expires_at!) - Date.parse(created.created_at)).toBe(30 * 86_400_000);
    const keys = await settle(a.client.listApiKeys());
    expect(keys).toEqual([{ id: created.id, name: "deploy from CI", prefix: created.prefix, scopes: ["profile:read"], created_at: created.created_at, last_used_at: null, expires_at: created.expires_at }]);
    expect(JSON.stringify(keys)).not.toContain(created.key);
    expect(server.isApiKeyLive(created.id)).toBe(true);
  });

  test("revokeApiKey(id) revokes that key only; revokeAllApiKeys() the rest", async () => {
    const { server, tabs: [a] } = await signedInBrowser(1);
    const first = await settle(a.client.createApiKey({ name: "one" }));
    const second = await settle(a.client.createApiKey({ name: "two" }));
    const third = await settle(a.client.createApiKey({ name: "three" }));
    await settle(a.client.revokeApiKey(second.id));
    expect([first, second, third].map((k) => server.isApiKeyLive(k.id))).toEqual([true, false, true]);
    expect((await settle(a.client.listApiKeys())).map((k) => k.name)).toEqual(["three", "one"]);
    await settle(a.client.revokeAllApiKeys());
    expect(await settle(a.client.listApiKeys())).toEqual([]);
    // Managing keys leaves the session alone.
    expect(a.eventNames()).toEqual([]);
  });

  test("the service's own Bearer calls never send the refresh cookie (credentials: omit): on one origin, a DELETE would otherwise meet the CSRF guard", async () => {
    const { browser, tabs: [a] } = await signedInBrowser(1);
    const key = await settle(a.client.createApiKey({ name: "one" }));
    await settle(a.client.listApiKeys());
    await settle(a.client.revokeApiKey(key.id));
    await settle(a.client.revokeAllApiKeys());
    await settle(a.client.listSessions());
    expect(browser.sent.map((r) => `${r.method} ${new URL(r.url).pathname} ${r.credentials}`)).toEqual([
      "POST /auth/api-keys omit",
      "GET /auth/api-keys omit",
      `DELETE /auth/api-keys/${key.id} omit`,
      "DELETE /auth/api-keys omit",
      "GET /auth/sessions omit",
    ]);
  });

  test("the service's refusals as AuthClientErrors: a scope the user lacks, another user's key", async () => {
    const { tabs: [a] } = await signedInBrowser(1);
    await expect(settle(a.client.createApiKey({ name: "too much", scopes: ["users:manage"] }))).rejects.toMatchObject({ status: 400, code: "invalid_request", message: expect.stringMatching(/^scopes/) });
    await expect(settle(a.client.revokeApiKey("key-nope"))).rejects.toMatchObject({ status: 404, code: "invalid_request" });
  });

  test("signed out: login_required, after the one refresh that finds no session; no key request is sent", async () => {
    const { browser, tabs: [a] } = await signedInBrowser(1);
    await settle(a.client.logout());
    browser.authTraffic.splice(0);
    await expect(settle(a.client.listApiKeys())).rejects.toMatchObject({ code: "login_required" });
    expect(browser.authTraffic).toEqual(["POST /auth/refresh 401"]);
  });
});
