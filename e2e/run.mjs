#!/usr/bin/env node
// End-to-end run against real processes: the auth worker and a downstream worker under
// `wrangler dev`, the example SPA in Debian's Chromium, PyJWT and jsonwebtoken verifiers; the
// downstream worker verifies with @edge-token-service/verifier.
// Usage: npm run test:e2e   (needs scripts/install-e2e-deps.sh once)
// Leaves logs and a screenshot in artifacts/e2e/; its wrangler state and secrets live in a temp
// dir that is removed afterwards (never the developer's .dev.vars or .wrangler/).
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSigningKey } from "../scripts/generate-key.mjs";
import { launchChromium, SPA_PORT, SPA_URL } from "./lib/browser.mjs";
import { authorizationChecks } from "./authorization.checks.mjs";
import { assertPortFree, killAllNow, start, stopAll, waitForHttp } from "./lib/processes.mjs";
import { runTests } from "./lib/runner.mjs";
import { startVerifiers } from "./lib/verifiers.mjs";
import { authWorker, AUTH_PORT, AUTH_URL, DOWNSTREAM_PORT, DOWNSTREAM_URL, startDownstreamWorker } from "./lib/workers.mjs";
import { accountEmailChecks } from "./account-emails.checks.mjs";
import { apiKeyChecks } from "./api-keys.checks.mjs";
import { spaLogoutChecks, spaRotationChecks } from "./spa-end.checks.mjs";
import { spaSessionChecks } from "./spa.checks.mjs";
import { rotationChecks, verifierChecks } from "./verifiers.checks.mjs";

/**
 * What the checks share. Later checks build on earlier ones (device A's tabs live until logout).
 * @typedef {{
 *   browser: import("playwright-core").Browser,
 *   worker: ReturnType<typeof authWorker>,
 *   keys: ReturnType<typeof generateSigningKey>[],
 *   verifiers: import("./lib/verifiers.mjs").Verifier[],
 *   screenshot: string,
 *   logDir: string,
 *   [shared: string]: any,
 * }} Context
 */

const RUN_TIMEOUT_MS = 6 * 60_000;
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const artifacts = join(root, "artifacts", "e2e");
const logDir = join(artifacts, "logs");
rmSync(logDir, { recursive: true, force: true });
mkdirSync(logDir, { recursive: true });
const stateDir = mkdtempSync(join(tmpdir(), "edge-auth-e2e-"));
const dirs = { root, stateDir, logDir };

process.on("exit", () => {
  killAllNow();
  rmSync(stateDir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping`);
    void stopAll().finally(() => process.exit(130));
  });
}
setTimeout(() => {
  console.error(`e2e: still running after ${RUN_TIMEOUT_MS / 1000} s; giving up`);
  process.exit(1); // the exit handler kills every child process group
}, RUN_TIMEOUT_MS).unref();

let browser;
let exitCode = 1;
try {
  const started = Date.now();
  for (const port of [AUTH_PORT, DOWNSTREAM_PORT, SPA_PORT]) await assertPortFree(port);
  // Three keys: the first signing key, the planned rotation's, the emergency rotation's.
  const keys = [generateSigningKey(), generateSigningKey(), generateSigningKey()];
  const worker = authWorker(dirs);
  const spa = start("spa server", process.execPath, [join(root, "examples", "spa", "serve.mjs")], {
    cwd: root,
    env: { AUTH_URL, DOWNSTREAM_URL },
    logFile: join(logDir, "spa.log"),
  });
  await Promise.all([
    worker.migrate().then(() => worker.start({ signingKey: keys[0].privateJwk })),
    startDownstreamWorker(dirs),
    waitForHttp(spa, `${SPA_URL}/health`),
  ]);
  browser = await launchChromium();
  console.log(`e2e: worker, downstream worker, SPA and Chromium up in ${Date.now() - started} ms (logs: ${logDir})`);

  /** @type {Context} */
  const ctx = { browser, worker, keys, logDir, verifiers: startVerifiers(dirs), screenshot: join(artifacts, "spa-signed-in.png") };
  verifierChecks(ctx);
  authorizationChecks(ctx);
  spaSessionChecks(ctx);
  apiKeyChecks(ctx);
  rotationChecks(ctx);
  spaRotationChecks(ctx);
  spaLogoutChecks(ctx);
  accountEmailChecks(ctx);
  const { passed, failed } = await runTests();
  console.log(`e2e: finished in ${Math.round((Date.now() - started) / 1000)} s; screenshot: ${ctx.screenshot}`);
  console.log(`${passed} passed, ${failed} failed`);
  exitCode = failed === 0 && passed > 0 ? 0 : 1;
} catch (err) {
  console.error(`e2e: setup failed: ${err instanceof Error ? err.stack : err}`);
  console.log("0 passed, 1 failed");
} finally {
  await browser?.close().catch(() => undefined);
  await stopAll();
}
process.exit(exitCode);
