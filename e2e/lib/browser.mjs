// Debian's Chromium driven by playwright-core (never a downloaded browser), and page helpers.
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { AUTH_URL } from "./workers.mjs";

export const SPA_PORT = 5173;
export const SPA_URL = `http://localhost:${SPA_PORT}`;
export const REFRESH_COOKIE = "__Host-refresh_token";
const CHROMIUM = "/usr/bin/chromium";

export async function launchChromium() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/install-e2e-deps.sh`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * Records every answer of the auth worker seen by a browser context (all its tabs).
 * @param {import("playwright-core").BrowserContext} context
 */
export function authTraffic(context) {
  /** @type {{ method: string, path: string, status: number }[]} */
  const seen = [];
  context.on("response", (res) => {
    const url = new URL(res.url());
    const method = res.request().method();
    if (url.origin === AUTH_URL && method !== "OPTIONS") seen.push({ method, path: url.pathname, status: res.status() });
  });
  return {
    /** Forgets what was seen so far. */
    reset: () => void seen.splice(0),
    /** e.g. ["POST /auth/refresh 200", "GET /auth/me 200"] */
    lines: () => seen.map((r) => `${r.method} ${r.path} ${r.status}`),
    count: (method, path) => seen.filter((r) => r.method === method && r.path === path).length,
  };
}

/** @param {import("playwright-core").BrowserContext} context */
export async function openSpa(context) {
  const page = await context.newPage();
  page.on("pageerror", (err) => console.log(`       [page error] ${err.message}`));
  await page.goto(SPA_URL);
  await waitForState(page, ["signed-in", "signed-out"]);
  return page;
}

/** Waits until the SPA shows one of `states` (body[data-state]); returns the state. */
export async function waitForState(page, states, timeout = 10_000) {
  const wanted = [states].flat();
  await page.waitForFunction((list) => list.includes(document.body.dataset.state ?? ""), wanted, { timeout });
  return page.evaluate(() => document.body.dataset.state);
}

/** Clicks a button and waits for the SPA to show the API answer (or an error); returns both texts. */
export async function clickForAnswer(page, selector) {
  await page.bringToFront(); // a background tab gets no animation frames, which Playwright's click waits for
  await page.evaluate(() => {
    for (const id of ["result", "error"]) document.getElementById(id).textContent = "";
  });
  await page.click(selector);
  await page.waitForFunction(() => document.getElementById("result").textContent || document.getElementById("error").textContent);
  return { result: await page.textContent("#result"), error: await page.textContent("#error") };
}

/** The JSON body of an answer shown by clickForAnswer ("LABEL -> STATUS\nBODY"). */
export function bodyOf(result) {
  return JSON.parse(String(result).split("\n").slice(1).join("\n"));
}

/** The (decoded) claims of the access token the tab holds in memory, or null. */
export function claimsOf(page) {
  return page.evaluate(() => window.spa.client.session?.claims ?? null);
}

/** @param {import("playwright-core").BrowserContext} context */
export async function refreshCookieOf(context) {
  return (await context.cookies(AUTH_URL)).find((c) => c.name === REFRESH_COOKIE);
}
