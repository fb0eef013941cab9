// Checks behind `npm run deploy` (scripts/deploy.mjs): pure functions over the resolved wrangler config,
// the command line and the output of `wrangler secret list`, so that tests need no Cloudflare account.

/** Secrets the worker cannot run without, and how to make each value. */
export const REQUIRED_SECRETS = [
  { name: "SIGNING_KEY", make: "npm run keys:generate   (paste the private JWK)" },
  { name: "REFRESH_TOKEN_KEY", make: "npm run keys:generate   (paste the refresh-token MAC key)" },
];

/** Secrets the worker reads when set; reported, never required. */
export const OPTIONAL_SECRETS = [
  { name: "ADMIN_API_TOKEN", meaning: "the operator credential of the /admin endpoints (without it, only admins' access tokens)" },
  { name: "PREVIOUS_PUBLIC_KEYS", meaning: "keys still published after a rotation" },
  { name: "NEXT_PUBLIC_KEY", meaning: "key published ahead of a rotation" },
  { name: "NEXT_REFRESH_TOKEN_KEY", meaning: "refresh-token MAC key accepted ahead of a rotation" },
  { name: "PREVIOUS_REFRESH_TOKEN_KEY", meaning: "refresh-token MAC key still accepted after a rotation" },
  { name: "RESOURCE_SERVERS", meaning: "credentials of resource servers for /oauth/introspect" },
];

/** Binding names the worker's code uses (src/env.ts). */
const REVOCATIONS_BINDING = "REVOCATIONS";

/** wrangler's global flags that must reach every command, so that all of them act on the same Worker. */
const SHARED_FLAGS = new Set(["--env", "-e", "--config", "-c", "--profile"]);

/**
 * Splits `npm run deploy -- <args>` into what each wrangler command gets.
 * @param {string[]} argv
 * @returns {{ env?: string, config?: string, shared: string[], name: string[], deploy: string[],
 *   vars: Record<string, string>, secretsFile?: string, refused?: string, help: boolean }}
 */
export function splitArgs(argv) {
  /** @type {ReturnType<typeof splitArgs>} */
  const out = { shared: [], name: [], deploy: [], vars: {}, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = /** @type {string} */ (argv[i]);
    const [flag, inline] = arg.startsWith("-") && arg.includes("=") ? splitOnce(arg, "=") : [arg, undefined];
    const takeValue = () => inline ?? argv[++i] ?? "";
    if (flag === "--help" || flag === "-h") out.help = true;
    else if (flag === "--dry-run") out.refused = "--dry-run: `npm run deploy` always deploys; build without deploying with `npx wrangler deploy --dry-run`";
    else if (flag === "--cwd") out.refused = "--cwd: run `npm run deploy` in the project directory, or pass --config";
    else if (SHARED_FLAGS.has(flag)) {
      const value = takeValue();
      out.shared.push(flag, value);
      if (flag === "--env" || flag === "-e") out.env = value;
      if (flag === "--config" || flag === "-c") out.config = value;
    } else if (flag === "--name") out.name.push(flag, takeValue());
    else if (flag === "--secrets-file") {
      out.secretsFile = takeValue();
      out.deploy.push(flag, out.secretsFile);
    } else if (flag === "--var") {
      // wrangler's --var is an array option: `--var A:1 B:2` sets both.
      const values = inline !== undefined ? [inline] : [];
      while (inline === undefined && i + 1 < argv.length && !argv[i + 1]?.startsWith("-")) values.push(/** @type {string} */ (argv[++i]));
      for (const value of values) {
        const [key, val] = splitOnce(value, ":");
        out.vars[key] = val ?? "";
      }
      out.deploy.push("--var", ...values);
    } else out.deploy.push(arg);
  }
  return out;
}

/** @param {string} s @param {string} sep @returns {[string, string | undefined]} */
function splitOnce(s, sep) {
  const at = s.indexOf(sep);
  return at < 0 ? [s, undefined] : [s.slice(0, at), s.slice(at + 1)];
}

/**
 * @typedef {{ d1_databases?: Array<{ binding: string, database_name?: string, database_id?: string, migrations_dir?: string }>,
 *   kv_namespaces?: Array<{ binding: string, id?: string }>, send_email?: Array<{ name: string }>, vars?: Record<string, unknown> }} DeployConfig
 */

/**
 * What stops a deploy in the resolved wrangler config (see wrangler's `unstable_readConfig`):
 * placeholder or missing resource ids, missing bindings, an issuer that is not a public https URL.
 * @param {DeployConfig} config
 * @param {{ vars?: Record<string, string>, env?: string }} [options] `--var` overrides and the `--env` name
 * @returns {{ problems: string[], warnings: string[] }}
 */
export function configProblems(config, { vars = {}, env } = {}) {
  const where = {
    table: (/** @type {string} */ name) => (env ? `[[env.${env}.${name}]]` : `[[${name}]]`),
    vars: env ? `[env.${env}.vars]` : "[vars]",
  };
  const merged = { ...config.vars, ...vars };
  const text = (/** @type {string} */ name) => (typeof merged[name] === "string" ? merged[name] : "");
  const warnings = [];
  if (text("ALLOWED_ORIGINS").split(",").some((origin) => isLocalUrl(origin.trim()))) {
    warnings.push(`ALLOWED_ORIGINS still lists a localhost origin ("${text("ALLOWED_ORIGINS")}"): list your SPA's origin instead`);
  }
  const problems = [
    ...d1Problems(config.d1_databases ?? [], text("USER_DATABASES") || "DB", where.table("d1_databases")),
    ...kvProblems(config.kv_namespaces ?? [], where.table("kv_namespaces")),
  ];
  const issuer = text("ISSUER");
  if (!isPublicHttpsUrl(issuer)) {
    problems.push(`ISSUER is ${issuer ? `"${issuer}"` : "not set (the worker falls back to http://localhost:8787)"}: set it to the worker's public https URL in ${where.vars}`);
  }
  if ((config.send_email ?? []).some((binding) => binding.name === "EMAIL")) problems.push(...emailProblems(text, where.vars));
  if (text("DEV_PRINT_EMAIL_LINKS")) warnings.push(`DEV_PRINT_EMAIL_LINKS is set in ${where.vars}: it is for .dev.vars only (the worker ignores it unless ISSUER is localhost); remove it`);
  const audience = text("AUDIENCE");
  if (!audience || isLocalUrl(audience)) {
    problems.push(`AUDIENCE is ${audience ? `"${audience}"` : "not set"}: set it in ${where.vars} to what your downstream services check (often the public URL)`);
  }
  return { problems, warnings };
}

/**
 * Account emails are on (an EMAIL `[[send_email]]` binding): the sender must be a real address and
 * the links must point at the deployed front end.
 * @param {(name: string) => string} text the merged vars
 * @param {string} vars where the vars go, e.g. [vars]
 */
function emailProblems(text, vars) {
  const problems = [];
  const from = text("EMAIL_FROM");
  if (!from || /@([^@]+\.)?example\.(com|org|net)$/i.test(from)) {
    problems.push(
      `EMAIL_FROM is ${from ? `the placeholder "${from}"` : "not set"}: set it in ${vars} to an address on your domain onboarded to ` +
        "Cloudflare Email Service (README, Account emails), or remove the [[send_email]] block to run without account emails",
    );
  }
  const appUrl = text("APP_URL");
  if (!isPublicHttpsUrl(appUrl)) {
    problems.push(`APP_URL is ${appUrl ? `"${appUrl}"` : "not set"}: emailed links would not reach your users; set it in ${vars} to your front end's public https URL`);
  }
  return problems;
}

/**
 * @param {NonNullable<DeployConfig["d1_databases"]>} d1
 * @param {string} userDatabases the USER_DATABASES var: the D1 bindings the worker spreads users over
 * @param {string} table where the blocks go, e.g. [[d1_databases]]
 */
function d1Problems(d1, userDatabases, table) {
  const problems = [];
  if (d1.length === 0) problems.push(`no D1 database: add a ${table} block with binding = "DB"`);
  for (const db of d1) {
    if (isPlaceholderId(db.database_id)) {
      problems.push(
        `D1 binding ${db.binding}: database_id is ${db.database_id ? "the placeholder" : "missing"}. Create the database ` +
          `(npx wrangler d1 create ${db.database_name ?? "<name>"}) and put the printed id in ${table}`,
      );
    }
    if (!db.migrations_dir) problems.push(`D1 binding ${db.binding}: no migrations_dir; add migrations_dir = "drizzle"`);
  }
  for (const name of userDatabases.split(",").map((n) => n.trim()).filter(Boolean)) {
    if (!d1.some((db) => db.binding === name)) problems.push(`USER_DATABASES names ${name}, which is not a D1 binding: add a ${table} block for it`);
  }
  return problems;
}

/**
 * @param {NonNullable<DeployConfig["kv_namespaces"]>} kv
 * @param {string} table where the blocks go, e.g. [[kv_namespaces]]
 */
function kvProblems(kv, table) {
  const problems = [];
  if (!kv.some((ns) => ns.binding === REVOCATIONS_BINDING)) problems.push(`no KV namespace bound as ${REVOCATIONS_BINDING}: add a ${table} block`);
  for (const ns of kv) {
    if (isPlaceholderId(ns.id)) {
      problems.push(
        `KV binding ${ns.binding}: id is ${ns.id ? "the placeholder" : "missing"}. Create the namespace ` +
          `(npx wrangler kv namespace create ${ns.binding}) and put the printed id in ${table}`,
      );
    }
  }
  return problems;
}

/** True for a missing id or one made only of zeros and dashes (the placeholders in wrangler.toml). */
export function isPlaceholderId(/** @type {string | undefined} */ id) {
  return !id || /^[0-]+$/.test(id);
}

/** @param {string} value */
function isLocalUrl(value) {
  try {
    const { hostname } = new URL(value);
    return hostname === "localhost" || hostname.endsWith(".localhost") || hostname === "[::1]" || hostname.startsWith("127.");
  } catch {
    return false;
  }
}

/** @param {string} value */
function isPublicHttpsUrl(value) {
  try {
    return new URL(value).protocol === "https:" && !isLocalUrl(value);
  } catch {
    return false;
  }
}

/**
 * Names in the output of `wrangler secret list --format json`: a JSON array of `{ name, type }`.
 * @param {string} stdout
 * @returns {string[]}
 */
export function parseSecretList(stdout) {
  const start = stdout.indexOf("[");
  const list = start < 0 ? undefined : JSON.parse(stdout.slice(start));
  if (!Array.isArray(list) || !list.every((s) => s && typeof s.name === "string")) {
    throw new Error(`unexpected output of wrangler secret list: ${stdout.slice(0, 200)}`);
  }
  return list.map((s) => s.name);
}

/**
 * Secret names in a `--secrets-file` (dotenv lines or a JSON object, as wrangler accepts).
 * @param {string} text
 * @returns {string[]}
 */
export function secretsFileNames(text) {
  if (text.trim().startsWith("{")) return Object.keys(JSON.parse(text));
  return [...text.matchAll(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=/gm)].map((m) => /** @type {string} */ (m[1]));
}

/**
 * The refusal for missing required secrets, one line per secret with the commands that set it.
 * @param {string[]} present secret names the Worker has (or the deploy uploads)
 * @param {string[]} sharedArgs `--env` / `--config` / `--profile` flags to repeat in the commands
 * @returns {string | undefined} undefined when every required secret is present
 */
export function missingSecretsMessage(present, sharedArgs) {
  const missing = REQUIRED_SECRETS.filter((s) => !present.includes(s.name));
  if (missing.length === 0) return undefined;
  const suffix = sharedArgs.length ? ` ${sharedArgs.join(" ")}` : "";
  const lines = missing.map((s) => `  ${s.name}: make it with  ${s.make}\n    then set it:  npx wrangler secret put ${s.name}${suffix}`);
  return `required secrets are not set:\n${lines.join("\n")}`;
}

/** One line per optional secret: set or not, and what it does. @param {string[]} present */
export function optionalSecretsReport(present) {
  return OPTIONAL_SECRETS.map((s) => `  ${present.includes(s.name) ? "set    " : "not set"}  ${s.name} (${s.meaning})`).join("\n");
}
