// Account emails end to end: the SPA in Chromium asks for a reset link, the link is read from the
// email wrangler dev kept, opened in the browser, and the new password set on the SPA's page.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { authTraffic, openSpa, SPA_URL, waitForState } from "./lib/browser.mjs";
import { emailsTo, linkIn, waitForEmail } from "./lib/mail.mjs";
import { test } from "./lib/runner.mjs";
import { PASSWORD, registerViaApi, uniqueEmail } from "./lib/tokens.mjs";
import { AUTH_URL } from "./lib/workers.mjs";

const NEW_PASSWORD = "a brand new passphrase for e2e";

/** @param {import("./run.mjs").Context} ctx */
export function accountEmailChecks(ctx) {
  /** @type {{ email: string }} */ let user;
  /** @type {string} */ let resetUrl;

  test("registration sends a verification email through the send_email binding (kept by wrangler dev)", async () => {
    user = await registerViaApi("mail");
    const mail = await waitForEmail(user.email, /verify/i);
    assert.equal(mail.from, "no-reply@auth.example.com");
    assert.match(linkIn(mail), new RegExp(`^${SPA_URL}/#/verify-email\\?token=[A-Za-z0-9_-]{44}$`));
    assert.match(mail.html ?? "", /<a href="http:\/\/localhost:5173\/#\/verify-email\?token=/);
  });

  test("SPA: forgot password answers alike for an unknown address, and emails a link to a known one", async () => {
    const context = (ctx.resetContext = await ctx.browser.newContext());
    const traffic = authTraffic(context);
    const page = await openSpa(context);
    assert.equal(await waitForState(page, "signed-out"), "signed-out");
    traffic.reset(); // the restore's refresh
    for (const address of [uniqueEmail("nobody"), user.email]) {
      await page.fill("#forgot-email", address);
      await page.click("#forgot");
      await page.waitForFunction(() => /requestPasswordReset/.test(document.getElementById("result").textContent ?? ""));
      await page.evaluate(() => (document.getElementById("result").textContent = ""));
    }
    assert.deepEqual(traffic.lines(), ["POST /auth/password/forgot 202", "POST /auth/password/forgot 202"]);
    resetUrl = linkIn(await waitForEmail(user.email, /reset/i));
    assert.match(resetUrl, new RegExp(`^${SPA_URL}/#/reset-password\\?token=[A-Za-z0-9_-]{44}$`));
  });

  test("SPA: the reset link opens the form, the token leaves the address bar, the new password works and the old one not", async () => {
    const page = await ctx.resetContext.newPage();
    const traffic = authTraffic(ctx.resetContext);
    await page.goto(resetUrl);
    await page.waitForSelector("#reset-form", { state: "visible" });
    assert.equal(page.url(), `${SPA_URL}/#/reset-password`, "the token must be gone from the URL");
    await page.fill("#reset-new-password", NEW_PASSWORD);
    await page.click("#reset-submit");
    await page.waitForFunction(() => document.getElementById("link-page").dataset.done === "reset-password");
    assert.match(await page.textContent("#link-result"), /password is changed/);
    assert.ok(traffic.lines().includes("POST /auth/password/reset 204"));
    // The notice that the password changed.
    await waitForEmail(user.email, /password was changed/i);

    await page.fill("#email", user.email);
    await page.fill("#password", PASSWORD);
    await page.click("#login");
    await page.waitForFunction(() => /invalid_credentials/.test(document.getElementById("error").textContent ?? ""));
    await page.fill("#password", NEW_PASSWORD);
    await page.click("#login");
    assert.equal(await waitForState(page, "signed-in"), "signed-in");
  });

  test("the used link is refused; the worker's log never shows a token", async () => {
    const token = new URL(resetUrl.replace("#/reset-password?", "?")).searchParams.get("token");
    const res = await fetch(`${AUTH_URL}/auth/password/reset`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token, new_password: "yet another passphrase" }) });
    assert.equal(res.status, 400);
    const log = readFileSync(join(ctx.logDir, "auth-worker.log"), "utf8");
    for (const mail of await emailsTo(user.email)) {
      const kept = /token=([A-Za-z0-9_-]+)/.exec(mail.text ?? "");
      if (kept) assert.ok(!log.includes(kept[1]), "a link token is in the worker's log");
    }
    await ctx.resetContext.close();
  });
}
