// The SPA through key rotations, then logout.
import assert from "node:assert/strict";
import { clickForAnswer, refreshCookieOf, waitForState } from "./lib/browser.mjs";
import { test } from "./lib/runner.mjs";
import { decodePart } from "./lib/tokens.mjs";
import { AUTH_URL } from "./lib/workers.mjs";

/** @param {import("./run.mjs").Context} ctx */
export function spaRotationChecks(ctx) {
  test("SPA: stays signed in across the planned rotation; its next token carries the new kid", async () => {
    const { result } = await clickForAnswer(ctx.pageA, "#call-me");
    assert.match(result ?? "", /^GET \/auth\/me -> 200\n/);
    const token = await ctx.pageA.evaluate(async () => (await window.spa.client.refresh())?.accessToken);
    assert.equal(decodePart(token, 0).kid, ctx.keys[1].kid);
  });

  test("SPA: after an emergency rotation (old key dropped) a refused token is refreshed and the call retried", async () => {
    await ctx.worker.start({ signingKey: ctx.keys[2].privateJwk, previousPublicKeys: [] });
    ctx.trafficA.reset();
    const { result } = await clickForAnswer(ctx.pageA, "#call-me");
    assert.match(result ?? "", /^GET \/auth\/me -> 200\n/);
    assert.deepEqual(ctx.trafficA.lines(), ["GET /auth/me 401", "POST /auth/refresh 200", "GET /auth/me 200"]);
    const token = await ctx.pageA.evaluate(() => window.spa.client.session?.accessToken);
    assert.equal(decodePart(token, 0).kid, ctx.keys[2].kid);
  });
}

/** @param {import("./run.mjs").Context} ctx */
export function spaLogoutChecks(ctx) {
  test("SPA: logout clears the cookie, signs out every tab and ends the family", async () => {
    const cookie = await refreshCookieOf(ctx.deviceA);
    assert.ok(cookie, "signed-in tabs should have a refresh cookie");
    ctx.trafficA.reset();
    await ctx.pageA.bringToFront();
    await ctx.pageA.click("#logout");
    for (const page of ctx.tabsA) assert.equal(await waitForState(page, "signed-out"), "signed-out");
    assert.deepEqual(ctx.trafficA.lines(), ["POST /auth/logout 204"]);
    assert.equal(await refreshCookieOf(ctx.deviceA), undefined);
    // The old refresh token is dead server-side too, not just forgotten by the browser.
    const res = await fetch(`${AUTH_URL}/auth/refresh`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: cookie.value }),
    });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).error, "invalid_grant");
    await ctx.pageA.reload();
    assert.equal(await waitForState(ctx.pageA, ["signed-in", "signed-out"]), "signed-out");
  });
}
