import { describe, expect, test } from "vitest";
import { AuthClient, AuthClientError, UntrustedOriginError } from "../src/index.js";
import { settle } from "./support/fake-browser.js";
import { AUTH_ORIGIN } from "./support/fake-server.js";
import { signedInBrowser, useFakeClock } from "./support/setup.js";

useFakeClock();

const API = "https://api.example.com";

/** A signed-in tab that trusts `apiOrigins`, with the requests it sends. */
async function tabTrusting(apiOrigins: string[]) {
  const { browser } = await signedInBrowser(1);
  const tab = browser.openTab({ apiOrigins });
  await settle(tab.client.restore());
  browser.sent.splice(0);
  return { browser, client: tab.client };
}

describe("where fetchWithAuth sends the access token", () => {
  test("a path goes to the auth service, with the token", async () => {
    const { browser, client } = await tabTrusting([]);
    await settle(client.fetchWithAuth("/auth/me"));
    expect(browser.sent).toMatchObject([{ url: `${AUTH_ORIGIN}/auth/me`, authorization: `Bearer ${client.session?.accessToken}` }]);
  });

  test("a listed API origin gets the token, as a string or a URL, whatever the path, default port or case", async () => {
    const { browser, client } = await tabTrusting([API]);
    for (const url of [`${API}/orders?page=2`, new URL(`${API}/orders`), "https://API.example.com:443/x", `${AUTH_ORIGIN}/auth/sessions`]) {
      const res = await settle(client.fetchWithAuth(url));
      expect(res.status).toBe(200);
    }
    expect(browser.sent.map((r) => r.authorization)).toEqual(Array(4).fill(`Bearer ${client.session?.accessToken}`));
  });

  test.each([
    ["another site", "https://evil.example/steal"],
    ["http instead of https", "http://api.example.com/orders"],
    ["another port", "https://api.example.com:8443/orders"],
    ["a lookalike suffix", "https://api.example.com.evil.com/orders"],
    ["userinfo that looks like the host", "https://api.example.com@evil.com/orders"],
    ["userinfo with a port", "https://api.example.com:443@evil.com/orders"],
    ["the trusted origin in the query", "https://evil.com/?https://api.example.com"],
    ["the trusted origin in the fragment", "https://evil.com#https://api.example.com/"],
    ["a subdomain of a trusted origin", "https://eu.api.example.com/orders"],
    ["a parent domain", "https://example.com/orders"],
    ["a scheme without an origin", "data:text/plain,hello"],
    ["javascript:", "javascript:alert(1)"],
  ])("refused, before any request: %s", async (_, url) => {
    const { browser, client } = await tabTrusting([API]);
    const error = await settle(client.fetchWithAuth(url)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UntrustedOriginError);
    expect(error).toBeInstanceOf(AuthClientError);
    expect(error).toMatchObject({ status: 0, code: "untrusted_origin", origin: new URL(url).origin });
    expect(browser.sent).toEqual([]);
  });

  test("refused before any refresh too, even when the token has expired or there is none", async () => {
    const { browser } = await signedInBrowser(1);
    const fresh = browser.openTab({ apiOrigins: [API] });
    await expect(settle(fresh.client.fetchWithAuth("https://evil.example/"))).rejects.toBeInstanceOf(UntrustedOriginError);
    expect(browser.sent).toEqual([]);
  });

  test("without apiOrigins, only the auth service's origin is trusted", async () => {
    const { browser, client } = await tabTrusting([]);
    await expect(settle(client.fetchWithAuth(`${API}/orders`))).rejects.toBeInstanceOf(UntrustedOriginError);
    expect(browser.sent).toEqual([]);
  });

  test("a protocol-relative or backslashed path stays on the auth service's origin", async () => {
    const { browser, client } = await tabTrusting([]);
    await settle(client.fetchWithAuth("//evil.com/x"));
    await settle(client.fetchWithAuth("/\\evil.com/x"));
    expect(browser.sent.map((r) => new URL(r.url).origin)).toEqual([AUTH_ORIGIN, AUTH_ORIGIN]);
  });

  test("a baseUrl with a path keeps it, for the client's own calls and for paths", async () => {
    const iat = Math.floor(Date.now() / 1000);
    const token = `e30.${btoa(JSON.stringify({ sub: "u", sid: "s", iat, exp: iat + 900 }))}.sig`;
    const requests: string[] = [];
    const client = new AuthClient({
      baseUrl: `${AUTH_ORIGIN}/identity/`,
      tabs: noTabs,
      fetch: async (input) => (requests.push(String(input)), Response.json({ access_token: token, expires_in: 900 })),
    });
    await settle(client.restore());
    await settle(client.fetchWithAuth("/auth/me"));
    expect(requests).toEqual([`${AUTH_ORIGIN}/identity/auth/refresh`, `${AUTH_ORIGIN}/identity/auth/me`]);
  });
});

describe("the options are checked when the client is made", () => {
  test.each([
    ["a URL with a path", "https://api.example.com/v1"],
    ["a query", "https://api.example.com?x"],
    ["a wildcard", "*"],
    ["no scheme", "api.example.com"],
    ["a non-http scheme", "wss://api.example.com"],
    ["credentials", "https://user:pw@api.example.com"],
  ])("an apiOrigins entry with %s is refused", (_, entry) => {
    expect(() => new AuthClient({ baseUrl: AUTH_ORIGIN, apiOrigins: [entry], tabs: noTabs })).toThrow(TypeError);
  });

  test.each(["auth.example.com", "ftp://auth.example.com", "https://auth.example.com/?x=1"])("baseUrl %s is refused", (baseUrl) => {
    expect(() => new AuthClient({ baseUrl, tabs: noTabs })).toThrow(TypeError);
  });

  test("an origin with a trailing slash is accepted", () => {
    expect(() => new AuthClient({ baseUrl: `${AUTH_ORIGIN}/`, apiOrigins: [`${API}/`], tabs: noTabs })).not.toThrow();
  });
});

const noTabs = { exclusive: <T>(fn: (waited: boolean) => Promise<T>) => fn(false), publish: () => undefined, subscribe: () => () => undefined, close: () => undefined };
