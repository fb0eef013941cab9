// The example SPA in Chromium against the real worker: sign-in, cookie, reload, silent refresh,
// multi-tab single-flight, remote revocation.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { authTraffic, bodyOf, claimsOf, clickForAnswer, openSpa, refreshCookieOf, waitForState } from "./lib/browser.mjs";
import { test } from "./lib/runner.mjs";
import { PASSWORD, uniqueEmail } from "./lib/tokens.mjs";
import { AUTH_URL } from "./lib/workers.mjs";

/** @param {import("./run.mjs").Context} ctx */
export function spaSessionChecks(ctx) {
  const email = uniqueEmail("spa");
  /** @type {import("playwright-core").BrowserContext} */ let deviceB;
  /** @type {ReturnType<typeof authTraffic>} */ let trafficB;
  /** @type {import("playwright-core").Page} */ let pageB;

  test("SPA: register signs in; the refresh cookie is __Host-, HttpOnly, Secure, SameSite=Strict", async () => {
    ctx.deviceA = await ctx.browser.newContext();
    ctx.trafficA = authTraffic(ctx.deviceA);
    const page = (ctx.pageA = await openSpa(ctx.deviceA));
    assert.equal(await waitForState(page, "signed-out"), "signed-out");
    await page.fill("#email", email);
    await page.fill("#password", PASSWORD);
    await page.click("#register");
    await waitForState(page, "signed-in");
    assert.deepEqual(ctx.trafficA.lines().slice(-1), ["POST /auth/register 201"]);
    const cookie = await refreshCookieOf(ctx.deviceA);
    assert.ok(cookie, "no refresh cookie after register");
    assert.deepEqual(
      { httpOnly: cookie.httpOnly, secure: cookie.secure, sameSite: cookie.sameSite, path: cookie.path, domain: cookie.domain },
      { httpOnly: true, secure: true, sameSite: "Strict", path: "/", domain: "localhost" },
    );
    const claims = await claimsOf(page);
    assert.equal(claims.iss, AUTH_URL);
    // In memory only: nothing in storage, and the HttpOnly cookie is invisible to script.
    const visible = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }) + document.cookie);
    assert.equal(visible, "{}");
    ctx.sidA = claims.sid;
  });

  test("SPA: a wrong password is refused with invalid_credentials and sets no cookie", async () => {
    deviceB = await ctx.browser.newContext();
    trafficB = authTraffic(deviceB);
    pageB = await openSpa(deviceB);
    await pageB.fill("#email", email);
    await pageB.fill("#password", "not the password");
    const { error } = await clickForAnswer(pageB, "#login");
    assert.match(error ?? "", /^invalid_credentials:/);
    assert.deepEqual(trafficB.lines().slice(-1), ["POST /auth/login 401"]);
    assert.equal(await refreshCookieOf(deviceB), undefined);
  });

  test("SPA: log in on a second device starts a second session", async () => {
    await pageB.fill("#password", PASSWORD);
    await pageB.click("#login");
    await waitForState(pageB, "signed-in");
    assert.deepEqual(trafficB.lines().slice(-1), ["POST /auth/login 200"]);
    const claims = await claimsOf(pageB);
    assert.notEqual(claims.sid, ctx.sidA);
    assert.ok(await refreshCookieOf(deviceB));
    ctx.sidB = claims.sid;
  });

  test("SPA: /auth/me and the session list through fetchWithAuth (screenshot saved)", async () => {
    const { result } = await clickForAnswer(ctx.pageA, "#call-me");
    assert.match(result ?? "", /^GET \/auth\/me -> 200\n/);
    assert.equal(bodyOf(result).user.email, email);
    const list = await clickForAnswer(ctx.pageA, "#list-sessions");
    const { sessions } = bodyOf(list.result);
    assert.deepEqual(sessions.map((s) => [s.id, s.current]).sort(), [[ctx.sidA, true], [ctx.sidB, false]].sort());
    await ctx.pageA.screenshot({ path: ctx.screenshot, fullPage: true });
  });

  test("SPA: calls the downstream API cross-origin with its access token", async () => {
    const { result } = await clickForAnswer(ctx.pageA, "#call-downstream");
    assert.match(result ?? "", /^GET downstream \/api\/me -> 200\n/);
    const body = bodyOf(result);
    assert.equal(body.claims.sid, ctx.sidA);
  });

  test("SPA: a reload restores the session from the refresh cookie", async () => {
    const before = await claimsOf(ctx.pageA);
    ctx.trafficA.reset();
    await ctx.pageA.reload();
    assert.equal(await waitForState(ctx.pageA, ["signed-in", "signed-out"]), "signed-in");
    const after = await claimsOf(ctx.pageA);
    assert.equal(after.sid, before.sid);
    assert.notEqual(after.jti, before.jti);
    assert.deepEqual(ctx.trafficA.lines(), ["POST /auth/refresh 200"]);
  });

  test("SPA: an expired access token is refreshed silently before the next call", async () => {
    const session = await ctx.pageA.evaluate(() => ({ ...window.spa.client.session }));
    const wait = session.expiresAt - Date.now() + 500;
    if (wait > 0) await sleep(wait);
    assert.ok(session.claims.exp * 1000 < Date.now(), "the token should have expired by now");
    ctx.trafficA.reset();
    const { result } = await clickForAnswer(ctx.pageA, "#call-me");
    assert.match(result ?? "", /^GET \/auth\/me -> 200\n/);
    assert.deepEqual(ctx.trafficA.lines(), ["POST /auth/refresh 200", "GET /auth/me 200"]);
    const after = await claimsOf(ctx.pageA);
    assert.equal(after.sid, session.claims.sid);
    assert.ok(after.exp * 1000 > Date.now());
  });

  test("SPA: four tabs refreshing at once send one refresh, all stay signed in, the family lives", async () => {
    const more = await Promise.all([1, 2, 3].map(() => openSpa(ctx.deviceA)));
    ctx.tabsA = [ctx.pageA, ...more];
    for (const page of ctx.tabsA) assert.equal(await waitForState(page, ["signed-in", "signed-out"]), "signed-in");
    ctx.trafficA.reset();
    const tokens = await Promise.all(ctx.tabsA.map((page) => page.evaluate(async () => (await window.spa.client.refresh())?.accessToken ?? null)));
    assert.ok(tokens.every((t) => t !== null), "a tab was signed out");
    assert.equal(new Set(tokens).size, 1, "the tabs should share the one new token");
    assert.deepEqual(ctx.trafficA.lines(), ["POST /auth/refresh 200"]);
    const statuses = await Promise.all(ctx.tabsA.map((page) => page.evaluate(async () => (await window.spa.client.fetchWithAuth("/auth/me")).status)));
    assert.deepEqual(statuses, [200, 200, 200, 200]);
    // The family was not revoked: it is still listed and its cookie still rotates.
    const res = await fetch(`${AUTH_URL}/auth/sessions`, { headers: { Authorization: `Bearer ${tokens[0]}` } });
    assert.equal(res.status, 200);
    assert.ok((await res.json()).sessions.some((s) => s.id === ctx.sidA && s.current));
    const again = await ctx.tabsA[3].evaluate(async () => (await window.spa.client.refresh())?.claims.sid ?? null);
    assert.equal(again, ctx.sidA);
  });

  test("SPA: revoking the other device's session signs that device out at its next refresh", async () => {
    // B starts with a fresh token, so its next call is refused for the revoked token itself.
    assert.ok(await pageB.evaluate(async () => (await window.spa.client.refresh()) !== null));
    await clickForAnswer(ctx.pageA, "#list-sessions");
    await ctx.pageA.bringToFront();
    await ctx.pageA.click(`tr[data-session-id="${ctx.sidB}"] button.revoke`);
    await ctx.pageA.waitForFunction((sid) => !document.querySelector(`tr[data-session-id="${sid}"]`), ctx.sidB);
    assert.ok(ctx.trafficA.lines().includes(`DELETE /auth/sessions/${ctx.sidB} 204`));
    trafficB.reset();
    const { result } = await clickForAnswer(pageB, "#call-me");
    assert.match(result ?? "", /^GET \/auth\/me -> 401\n/);
    assert.equal(await waitForState(pageB, "signed-out"), "signed-out");
    assert.deepEqual(trafficB.lines(), ["GET /auth/me 401", "POST /auth/refresh 401"]);
    assert.equal(await refreshCookieOf(deviceB), undefined, "the service clears the refused cookie");
    await deviceB.close();
  });
}
