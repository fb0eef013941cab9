// The auth worker and the downstream worker under `wrangler dev`, with e2e-only state and secrets:
// never the developer's .dev.vars or .wrangler/state.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { start, stop, waitForHttp } from "./processes.mjs";

const run = promisify(execFile);

export const AUTH_PORT = 8787;
export const AUTH_URL = `http://localhost:${AUTH_PORT}`;
export const DOWNSTREAM_PORT = 8788;
export const DOWNSTREAM_URL = `http://localhost:${DOWNSTREAM_PORT}`;
const AUTH_INSPECTOR_PORT = 9347;
const DOWNSTREAM_INSPECTOR_PORT = 9348;
/** Short enough that the run sees a token expire; see the browser checks. */
export const ACCESS_TOKEN_TTL_SECONDS = 20;
/** The refresh-token MAC key of this run: the same across restarts (a signing-key rotation keeps it). */
const REFRESH_TOKEN_KEY = randomBytes(32).toString("base64url");
/** The auth worker's ADMIN_API_TOKEN secret of this run (the authorization checks grant roles with it). */
export const ADMIN_API_TOKEN = randomBytes(32).toString("base64url");
/** The downstream worker's introspection credentials: an entry of the auth worker's RESOURCE_SERVERS. */
const DOWNSTREAM_CLIENT_ID = "downstream-example";
const DOWNSTREAM_CLIENT_SECRET = randomBytes(32).toString("base64url");

/**
 * @param {{ root: string, stateDir: string, logDir: string }} dirs
 */
export function authWorker({ root, stateDir, logDir }) {
  const persistTo = join(stateDir, "wrangler-state");
  const envFile = join(stateDir, "e2e.dev.vars");
  const wrangler = wranglerBin(root);
  /** @type {import("./processes.mjs").Proc | undefined} */
  let proc;

  return {
    /** Applies the D1 migrations to the e2e state dir (once). */
    async migrate() {
      await run(process.execPath, [wrangler, "d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo], {
        cwd: root,
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
      });
    },
    /**
     * (Re)starts the worker with these secrets; the D1/KV state survives restarts.
     * @param {{ signingKey: object, previousPublicKeys?: object[] }} secrets
     */
    async start({ signingKey, previousPublicKeys = [] }) {
      if (proc) await stop(proc);
      // dotenv format, like .dev.vars; wrangler reads it instead of .dev.vars when --env-file is given.
      const secrets = {
        SIGNING_KEY: JSON.stringify(signingKey),
        PREVIOUS_PUBLIC_KEYS: JSON.stringify(previousPublicKeys),
        REFRESH_TOKEN_KEY,
        ADMIN_API_TOKEN,
        RESOURCE_SERVERS: JSON.stringify({ [DOWNSTREAM_CLIENT_ID]: DOWNSTREAM_CLIENT_SECRET }),
      };
      writeFileSync(envFile, Object.entries(secrets).map(([name, value]) => `${name}='${value}'\n`).join(""), { mode: 0o600 });
      proc = start(
        "auth worker",
        process.execPath,
        [
          wrangler,
          "dev",
          "--port", String(AUTH_PORT),
          "--inspector-port", String(AUTH_INSPECTOR_PORT),
          "--persist-to", persistTo,
          "--env-file", envFile,
          "--var", `ACCESS_TOKEN_TTL_SECONDS:${ACCESS_TOKEN_TTL_SECONDS}`,
          "--show-interactive-dev-session=false",
          // info: the log then holds the worker's own lines and the emails wrangler dev kept, which
          // the account-email checks search for link tokens (there must be none).
          "--log-level", "info",
        ],
        { cwd: root, logFile: join(logDir, "auth-worker.log") },
      );
      await waitForHttp(proc, `${AUTH_URL}/health`);
    },
    async stop() {
      if (proc) await stop(proc);
      proc = undefined;
    },
  };
}

/** @param {{ root: string, stateDir: string, logDir: string }} dirs */
export async function startDownstreamWorker({ root, stateDir, logDir }) {
  const proc = start(
    "downstream worker",
    process.execPath,
    [
      wranglerBin(root),
      "dev",
      "--config", join(root, "examples", "downstream", "wrangler.toml"),
      "--port", String(DOWNSTREAM_PORT),
      "--inspector-port", String(DOWNSTREAM_INSPECTOR_PORT),
      "--persist-to", join(stateDir, "downstream-state"),
      // INTROSPECTION_CLIENT_ID is in its wrangler.toml; the secret would be in its .dev.vars.
      "--var", `INTROSPECTION_CLIENT_ID:${DOWNSTREAM_CLIENT_ID}`,
      "--var", `INTROSPECTION_CLIENT_SECRET:${DOWNSTREAM_CLIENT_SECRET}`,
      "--show-interactive-dev-session=false",
      "--log-level", "warn",
    ],
    { cwd: root, logFile: join(logDir, "downstream-worker.log") },
  );
  await waitForHttp(proc, `${DOWNSTREAM_URL}/health`);
  return proc;
}

/** Run with this Node (22, from the `node` devDependency), not whatever `node` is first on PATH. */
function wranglerBin(root) {
  return join(root, "node_modules", "wrangler", "bin", "wrangler.js");
}
