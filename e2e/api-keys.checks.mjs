// API keys end to end: the SPA (device A, signed in) creates a key and shows it once; a script
// exchanges it at the token endpoint the way curl or a CI job would; the downstream worker accepts
// the token within the key's scopes; revoking the key in the SPA refuses the next exchange.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "./lib/runner.mjs";
import { decodePart } from "./lib/tokens.mjs";
import { AUTH_URL, DOWNSTREAM_URL } from "./lib/workers.mjs";

/** `curl -u "$KEY_ID:$KEY" -d grant_type=client_credentials $AUTH_URL/oauth/token` */
const exchange = (id, key) =>
  fetch(`${AUTH_URL}/oauth/token`, {
    method: "POST",
    headers: { Authorization: `Basic ${Buffer.from(`${id}:${key}`).toString("base64")}`, "Content-Type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials",
  });
const downstream = (path, token) => fetch(`${DOWNSTREAM_URL}${path}`, { headers: { Authorization: `Bearer ${token}` } });

/** @param {import("./run.mjs").Context} ctx */
export function apiKeyChecks(ctx) {
  /** @type {{ id: string, key: string }} */ let created;

  test("SPA: creates an API key and shows it once; a script exchanges it for a token the downstream API accepts within its scopes", async () => {
    const page = ctx.pageA;
    await page.bringToFront();
    await page.fill("#key-name", "e2e deploy");
    await page.click("#create-key");
    await page.waitForSelector("#new-key", { state: "visible" });
    created = { id: (await page.textContent("#new-key-id")) ?? "", key: (await page.textContent("#new-key-value")) ?? "" };
    assert.match(created.key, /^etsk_[A-Za-z0-9_-]{43}$/);
    assert.ok(!(await page.textContent("#result"))?.includes(created.key), "the key must not be in the answer box");
    assert.ok(!(await page.textContent("#log"))?.includes(created.key), "the key must not be in the event log");
    // The list is reloaded after the key is shown: wait for it rather than race it.
    await page.waitForSelector(`tr[data-key-id="${created.id}"]`, { timeout: 5_000 }).catch(() => assert.fail("the new key is listed"));

    const res = await exchange(created.id, created.key);
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    assert.equal(body.refresh_token, undefined);
    assert.equal(body.scope, "profile:read");
    assert.deepEqual([decodePart(body.access_token).client_id, decodePart(body.access_token).roles], [created.id, []]);
    assert.equal((await downstream("/api/profile", body.access_token)).status, 200);
    assert.equal((await downstream("/api/admin/report", body.access_token)).status, 403);
    ctx.keyToken = body.access_token;

    await page.click("#dismiss-key");
    assert.equal(await page.isVisible("#new-key"), false);
    assert.ok(!(await page.content()).includes(created.key.slice(5)), "dismissed: the key is gone from the page");
  });

  test("SPA: revoking the key refuses the next exchange (invalid_client) and its token; the worker's log never shows the key", async () => {
    const page = ctx.pageA;
    await page.bringToFront();
    await page.click(`tr[data-key-id="${created.id}"] button.revoke-key`);
    await page.waitForFunction((id) => !document.querySelector(`tr[data-key-id="${id}"]`), created.id);
    const refused = await exchange(created.id, created.key);
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).error, "invalid_client");
    assert.equal((await fetch(`${AUTH_URL}/auth/me`, { headers: { Authorization: `Bearer ${ctx.keyToken}` } })).status, 401);
    assert.equal((await downstream("/api/account", ctx.keyToken)).status, 401, "the introspecting route sees the revocation at once");
    const log = readFileSync(join(ctx.logDir, "auth-worker.log"), "utf8");
    assert.ok(log.includes(`DELETE /auth/api-keys/${created.id} 204`), "the log covers the revocation");
    assert.ok(!log.includes(created.key.slice(5)), "the key is in the worker's log");
  });
}
