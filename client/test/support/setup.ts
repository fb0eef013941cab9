/** A fake browser on a fake service, with fake timers (network latency, broadcasts, hand-off waits). */
import { afterEach, beforeEach, vi } from "vitest";
import { FakeBrowser, settle, type Tab } from "./fake-browser.js";
import { FakeAuthServer } from "./fake-server.js";

export const EMAIL = "ada@example.com";
export const PASSWORD = "correct horse battery staple";

/** Call at the top of a test file: fake timers and `Date` for each of its tests. */
export function useFakeClock(): void {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date("2026-03-01T12:00:00Z") });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
}

/** A browser with `tabCount` open tabs of the client, after one of them registered (events cleared). */
export async function signedInBrowser(tabCount = 2, server = new FakeAuthServer()) {
  const browser = new FakeBrowser(server);
  const tabs: Tab[] = Array.from({ length: tabCount }, () => browser.openTab());
  await settle(tabs[0]!.client.register({ email: EMAIL, password: PASSWORD }));
  for (const tab of tabs) tab.events.splice(0);
  browser.authTraffic.splice(0);
  browser.sent.splice(0);
  return { server, browser, tabs: tabs as [Tab, Tab, ...Tab[]] };
}
