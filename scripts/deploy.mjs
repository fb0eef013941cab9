#!/usr/bin/env node
// One-command deploy: checks the config and the Worker's secrets, applies the remote D1 migrations of
// every D1 binding, then runs `wrangler deploy`. It refuses, before changing anything, when a resource id
// is still a placeholder, ISSUER is not a public https URL, or a required secret is not set.
//
//   npm run deploy                                  # the top-level Worker of wrangler.toml
//   npm run deploy -- --env production              # --env, --config, --profile reach every wrangler command
//   npm run deploy -- --secrets-file prod.env       # first deploy: upload the secrets with the Worker
//   npm run deploy -- --keep-vars                   # any other flag goes to `wrangler deploy` only
//
// WRANGLER_BIN: a Node script to run instead of wrangler (the tests use a stub that records its calls).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import {
  configProblems,
  missingSecretsMessage,
  optionalSecretsReport,
  parseSecretList,
  secretsFileNames,
  splitArgs,
} from "./deploy-checks.mjs";

const USAGE = `usage: npm run deploy [-- --env <name>] [-- --config <file>] [-- --secrets-file <file>] [-- <wrangler deploy flags>]`;

class Refusal extends Error {}

/** The wrangler CLI as [executable, ...leading args]: WRANGLER_BIN or the project's own wrangler. */
function wranglerCommand() {
  if (process.env.WRANGLER_BIN) return [process.execPath, process.env.WRANGLER_BIN];
  const manifest = createRequire(import.meta.url).resolve("wrangler/package.json");
  return [process.execPath, join(dirname(manifest), "bin", "wrangler.js")];
}

/**
 * Runs wrangler; stdout is captured when `capture`, otherwise shown. Throws a Refusal on failure.
 * @param {string[]} args
 * @param {{ capture?: boolean, step: string, hint?: string }} options
 */
function wrangler(args, { capture = false, step, hint }) {
  const [exe, ...pre] = wranglerCommand();
  console.log(`\ndeploy: ${step}: wrangler ${args.join(" ")}`);
  const result = spawnSync(/** @type {string} */ (exe), [...pre, ...args], {
    stdio: ["inherit", capture ? "pipe" : "inherit", "inherit"],
    encoding: "utf8",
  });
  if (result.error) throw result.error;
  if (result.status !== 0) {
    const why = `${step} failed (wrangler exited with ${result.status ?? result.signal}); nothing after it ran`;
    throw new Refusal(hint ? `${why}\n  ${hint}` : why);
  }
  return result.stdout ?? "";
}

/**
 * The Worker's config as wrangler resolves it for this --env (bindings are not inherited by environments).
 * @param {{ config?: string, env?: string }} args
 */
async function readWranglerConfig({ config, env }) {
  const { experimental_readRawConfig, unstable_readConfig } = await import("wrangler");
  let resolved;
  try {
    resolved = unstable_readConfig({ config, env });
  } catch (error) {
    throw new Refusal(`cannot read the wrangler config: ${error instanceof Error ? error.message : error}`);
  }
  // wrangler only warns and then deploys a new Worker "<name>-<env>" with the top-level bindings.
  if (env && !experimental_readRawConfig({ config }).rawConfig.env?.[env]) {
    throw new Refusal(`--env ${env}: ${relative(".", resolved.configPath ?? "wrangler.toml")} has no [env.${env}] section`);
  }
  return resolved;
}

/** @param {string[]} shared */
const suffix = (shared) => (shared.length ? ` ${shared.join(" ")}` : "");

/** @param {string} path */
function readSecretsFile(path) {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw new Refusal(`--secrets-file ${path}: ${error instanceof Error ? error.message : error}`);
  }
}

/**
 * The whole deploy; throws a Refusal (nothing changed, or nothing after the failed step) when it stops.
 * @param {string[]} argv the arguments after `npm run deploy --`
 */
export async function deploy(argv) {
  const args = splitArgs(argv);
  if (args.help) {
    console.log(USAGE);
    return;
  }
  if (args.refused) throw new Refusal(args.refused);

  const config = await readWranglerConfig(args);
  const { problems, warnings } = configProblems(config, args);
  for (const warning of warnings) console.warn(`deploy: warning: ${warning}`);
  if (problems.length) {
    const where = `${relative(".", config.configPath ?? "wrangler.toml")}${args.env ? ` (env ${args.env})` : ""}`;
    throw new Refusal(`${where}:\n  - ${problems.join("\n  - ")}`);
  }

  let present = args.secretsFile ? secretsFileNames(readSecretsFile(args.secretsFile)) : [];
  if (!missingSecretsMessage(present, args.shared) && args.secretsFile) {
    console.log(`\ndeploy: every required secret is in ${args.secretsFile}; the deploy uploads them`);
  } else {
    const listed = wrangler(["secret", "list", "--format", "json", ...args.name, ...args.shared], {
      capture: true,
      step: "listing the Worker's secrets",
      hint:
        "Not logged in: npx wrangler login. Several accounts: set CLOUDFLARE_ACCOUNT_ID. A new Worker: setting a secret " +
        `creates it (npx wrangler secret put SIGNING_KEY${suffix(args.shared)}), or pass --secrets-file.`,
    });
    try {
      present = [...present, ...parseSecretList(listed)];
    } catch (error) {
      throw new Refusal(error instanceof Error ? error.message : String(error));
    }
    const missing = missingSecretsMessage(present, args.shared);
    if (missing) throw new Refusal(missing);
  }
  console.log(`deploy: required secrets are set. Optional secrets:\n${optionalSecretsReport(present)}`);

  for (const db of config.d1_databases) {
    wrangler(["d1", "migrations", "apply", db.binding, "--remote", ...args.shared], {
      step: `applying the D1 migrations of ${db.binding} (${db.database_name ?? db.database_id})`,
    });
  }
  wrangler(["deploy", ...args.name, ...args.shared, ...args.deploy], { step: "deploying the Worker" });
  console.log(`\ndeploy: done. Check it: npm run smoke -- ${args.vars.ISSUER ?? config.vars?.ISSUER}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  deploy(process.argv.slice(2)).catch((error) => {
    if (error instanceof Refusal) {
      console.error(`\ndeploy: not deployed: ${error.message}`);
      process.exit(1);
    }
    throw error;
  });
}
