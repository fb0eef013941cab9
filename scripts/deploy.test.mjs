// Tests of `npm run deploy` (scripts/deploy.mjs) against a stub wrangler that records its calls and
// prints canned `secret list` output: nothing here contacts Cloudflare. Run: npm run test:scripts
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { configProblems, parseSecretList, secretsFileNames, splitArgs } from "./deploy-checks.mjs";

const DEPLOY = fileURLToPath(new URL("./deploy.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "deploy-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// Exits 1 on the command named by STUB_FAIL (e.g. "d1 migrations apply DB_2"), prints STUB_SECRETS for
// `secret list` the way wrangler does (a pretty-printed JSON array of { name, type }).
const STUB = join(dir, "wrangler-stub.mjs");
writeFileSync(
  STUB,
  `import { appendFileSync } from "node:fs";
const args = process.argv.slice(2);
appendFileSync(process.env.STUB_LOG, JSON.stringify(args) + "\\n");
if (process.env.STUB_FAIL && args.join(" ").startsWith(process.env.STUB_FAIL)) {
  console.error("stub: " + process.env.STUB_FAIL + " failed");
  process.exit(1);
}
if (args[0] === "secret" && args[1] === "list") {
  const names = JSON.parse(process.env.STUB_SECRETS ?? "[]");
  console.log(JSON.stringify(names.map((name) => ({ name, type: "secret_text" })), null, "  "));
}
`,
);
writeFileSync(join(dir, "worker.js"), "export default { fetch() { return new Response('ok'); } };\n");

const d1 = (binding, id, env = "") => `
[[${env}d1_databases]]
binding = "${binding}"
database_name = "users-${binding.toLowerCase()}"
database_id = "${id}"
migrations_dir = "drizzle"
`;
const kv = (id, env = "") => `
[[${env}kv_namespaces]]
binding = "REVOCATIONS"
id = "${id}"
`;
const vars = (issuer, section = "vars") => `
[${section}]
ISSUER = "${issuer}"
AUDIENCE = "${issuer}"
ALLOWED_ORIGINS = "https://app.example.com"
`;
const HEAD = `name = "deploy-test"\nmain = "worker.js"\ncompatibility_date = "2026-11-01"\n`;
const GOOD = HEAD + vars("https://auth.example.com") + d1("DB", "11111111-1111-1111-1111-111111111111") + d1("DB_2", "22222222-2222-2222-2222-222222222222") + kv("a".repeat(32));
const BOTH_SECRETS = ["SIGNING_KEY", "REFRESH_TOKEN_KEY"];

let runs = 0;
/**
 * Runs the deploy script with the stub and returns its exit status, output and the recorded calls.
 * @param {{ toml: string, args?: string[], secrets?: string[], fail?: string }} options
 */
function runDeploy({ toml, args = [], secrets = BOTH_SECRETS, fail }) {
  const config = join(dir, `wrangler-${++runs}.toml`);
  const log = join(dir, `calls-${runs}.jsonl`);
  writeFileSync(config, toml);
  const result = spawnSync(process.execPath, [DEPLOY, "--config", config, ...args], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_BIN: STUB, STUB_LOG: log, STUB_SECRETS: JSON.stringify(secrets), STUB_FAIL: fail ?? "", WRANGLER_SEND_METRICS: "false" },
  });
  const calls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").map((line) => JSON.parse(line)) : [];
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls, config };
}

describe("npm run deploy, with a stub wrangler", () => {
  test("checks the secrets, migrates every D1 binding, then deploys, forwarding the flags", () => {
    const { status, calls, config, stderr } = runDeploy({ toml: GOOD, args: ["--keep-vars", "--var", "FOO:bar"] });
    assert.equal(status, 0, stderr);
    assert.deepEqual(calls, [
      ["secret", "list", "--format", "json", "--config", config],
      ["d1", "migrations", "apply", "DB", "--remote", "--config", config],
      ["d1", "migrations", "apply", "DB_2", "--remote", "--config", config],
      ["deploy", "--config", config, "--keep-vars", "--var", "FOO:bar"],
    ]);
  });

  test("--env selects that environment's bindings and reaches every command", () => {
    const toml =
      GOOD +
      vars("https://auth.example.org", "env.production.vars") +
      d1("DB", "33333333-3333-3333-3333-333333333333", "env.production.") +
      kv("b".repeat(32), "env.production.");
    const { status, calls, config, stderr } = runDeploy({ toml, args: ["--env", "production"] });
    assert.equal(status, 0, stderr);
    const shared = ["--config", config, "--env", "production"];
    assert.deepEqual(calls, [
      ["secret", "list", "--format", "json", ...shared],
      ["d1", "migrations", "apply", "DB", "--remote", ...shared],
      ["deploy", ...shared],
    ]);
  });

  test("refuses an --env that the config does not define", () => {
    const { status, calls, stderr } = runDeploy({ toml: GOOD, args: ["--env", "prod"] });
    assert.equal(status, 1);
    assert.match(stderr, /has no \[env\.prod\] section/);
    assert.deepEqual(calls, []);
  });

  test("refuses before any change when a required secret is missing, naming it and its command", () => {
    const toml = GOOD + vars("https://auth.example.org", "env.staging.vars") + d1("DB", "33333333-3333-3333-3333-333333333333", "env.staging.") + kv("b".repeat(32), "env.staging.");
    const { status, calls, stderr } = runDeploy({ toml, secrets: ["ADMIN_API_TOKEN"], args: ["-e", "staging"] });
    assert.equal(status, 1);
    assert.match(stderr, /required secrets are not set/);
    assert.match(stderr, /npx wrangler secret put SIGNING_KEY --config \S+ -e staging/);
    assert.match(stderr, /npx wrangler secret put REFRESH_TOKEN_KEY/);
    assert.deepEqual(calls.map((c) => c.slice(0, 2)), [["secret", "list"]]);
  });

  test("reports the optional secrets", () => {
    const { status, stdout } = runDeploy({ toml: GOOD, secrets: [...BOTH_SECRETS, "ADMIN_API_TOKEN"] });
    assert.equal(status, 0);
    assert.match(stdout, /^ {2}set +ADMIN_API_TOKEN/m);
    assert.match(stdout, /^ {2}not set +PREVIOUS_PUBLIC_KEYS/m);
  });

  test("refuses placeholder ids and a localhost ISSUER without calling wrangler", () => {
    const toml = HEAD + vars("http://localhost:8787") + d1("DB", "00000000-0000-0000-0000-000000000000") + kv("0".repeat(32));
    const { status, calls, stderr } = runDeploy({ toml });
    assert.equal(status, 1);
    assert.match(stderr, /D1 binding DB: database_id is the placeholder.*npx wrangler d1 create users-db/);
    assert.match(stderr, /KV binding REVOCATIONS: id is the placeholder.*npx wrangler kv namespace create REVOCATIONS/);
    assert.match(stderr, /ISSUER is "http:\/\/localhost:8787"/);
    assert.deepEqual(calls, []);
  });

  test("a --var ISSUER override counts", () => {
    const toml = HEAD + vars("http://localhost:8787") + d1("DB", "11111111-1111-1111-1111-111111111111") + kv("a".repeat(32));
    const { status, calls, stderr } = runDeploy({ toml, args: ["--var", "ISSUER:https://auth.example.com", "AUDIENCE:api"] });
    assert.equal(status, 0, stderr);
    assert.deepEqual(calls.at(-1)?.slice(-3), ["--var", "ISSUER:https://auth.example.com", "AUDIENCE:api"]);
  });

  test("a failed migration stops before the deploy", () => {
    const { status, calls, stderr } = runDeploy({ toml: GOOD, fail: "d1 migrations apply DB_2" });
    assert.equal(status, 1);
    assert.match(stderr, /applying the D1 migrations of DB_2 .*failed/);
    assert.ok(!calls.some((c) => c[0] === "deploy"));
  });

  test("a failed secret list (not logged in, or no Worker yet) stops everything", () => {
    const { status, calls, stderr } = runDeploy({ toml: GOOD, fail: "secret list" });
    assert.equal(status, 1);
    assert.match(stderr, /listing the Worker's secrets failed/);
    assert.match(stderr, /npx wrangler login/);
    assert.equal(calls.length, 1);
  });

  test("a first deploy with every required secret in --secrets-file skips the secret list", () => {
    const file = join(dir, "prod.env");
    writeFileSync(file, "SIGNING_KEY='{\"kty\":\"RSA\"}'\nREFRESH_TOKEN_KEY=abc\n");
    const { status, calls, config, stderr } = runDeploy({ toml: GOOD, fail: "secret list", args: ["--secrets-file", file] });
    assert.equal(status, 0, stderr);
    assert.deepEqual(calls.at(-1), ["deploy", "--config", config, "--secrets-file", file]);
    assert.ok(!calls.some((c) => c[0] === "secret"));
  });

  test("refuses --dry-run, which would still migrate the remote databases", () => {
    const { status, calls, stderr } = runDeploy({ toml: GOOD, args: ["--dry-run"] });
    assert.equal(status, 1);
    assert.match(stderr, /npx wrangler deploy --dry-run/);
    assert.deepEqual(calls, []);
  });
});

describe("deploy checks", () => {
  test("splitArgs: --flag=value forms, --var arrays, wrangler deploy's own flags", () => {
    const args = splitArgs(["--env=prod", "-c", "w.toml", "--var=A:1", "--var", "B:x:y", "C:", "--minify", "--name", "n"]);
    assert.equal(args.env, "prod");
    assert.equal(args.config, "w.toml");
    assert.deepEqual(args.shared, ["--env", "prod", "-c", "w.toml"]);
    assert.deepEqual(args.vars, { A: "1", B: "x:y", C: "" });
    assert.deepEqual(args.deploy, ["--var", "A:1", "--var", "B:x:y", "C:", "--minify"]);
    assert.deepEqual(args.name, ["--name", "n"]);
  });

  test("configProblems: a missing binding, a missing migrations_dir and a missing ISSUER are refused", () => {
    const { problems } = configProblems({ d1_databases: [{ binding: "DB", database_id: "1234" }], kv_namespaces: [], vars: {} });
    assert.equal(problems.length, 4);
    assert.match(problems.join("\n"), /no migrations_dir/);
    assert.match(problems.join("\n"), /no KV namespace bound as REVOCATIONS/);
    assert.match(problems.join("\n"), /ISSUER is not set/);
    assert.match(problems.join("\n"), /AUDIENCE is not set/);
  });

  test("configProblems: every database in USER_DATABASES must be a D1 binding", () => {
    const config = {
      d1_databases: [{ binding: "DB", database_id: "1234", migrations_dir: "drizzle" }],
      kv_namespaces: [{ binding: "REVOCATIONS", id: "abcd" }],
      vars: { ISSUER: "https://auth.example.com", AUDIENCE: "api", USER_DATABASES: "DB, DB_2" },
    };
    assert.deepEqual(configProblems(config).problems, [
      'USER_DATABASES names DB_2, which is not a D1 binding: add a [[d1_databases]] block for it',
    ]);
    assert.deepEqual(configProblems(config, { vars: { USER_DATABASES: "DB" } }).problems, []);
    assert.equal(configProblems({ ...config, d1_databases: [], vars: { ...config.vars, USER_DATABASES: undefined } }).problems.length, 2);
  });

  test("configProblems: a complete config passes; a non-URL audience is fine", () => {
    const config = {
      d1_databases: [{ binding: "DB", database_id: "1234", migrations_dir: "drizzle" }],
      kv_namespaces: [{ binding: "REVOCATIONS", id: "abcd" }],
      vars: { ISSUER: "https://auth.example.com", AUDIENCE: "api://orders", ALLOWED_ORIGINS: "https://app.example.com" },
    };
    assert.deepEqual(configProblems(config), { problems: [], warnings: [] });
  });

  test("configProblems: with the EMAIL binding, a placeholder or missing sender and a local APP_URL are refused", () => {
    const config = {
      d1_databases: [{ binding: "DB", database_id: "1234", migrations_dir: "drizzle" }],
      kv_namespaces: [{ binding: "REVOCATIONS", id: "abcd" }],
      send_email: [{ name: "EMAIL" }],
      vars: { ISSUER: "https://auth.example.com", AUDIENCE: "api", EMAIL_FROM: "no-reply@auth.example.com", APP_URL: "http://localhost:5173", DEV_PRINT_EMAIL_LINKS: "true" },
    };
    const { problems, warnings } = configProblems(config);
    assert.equal(problems.length, 2);
    assert.match(problems[0], /EMAIL_FROM is the placeholder "no-reply@auth.example.com"/);
    assert.match(problems[1], /APP_URL is "http:\/\/localhost:5173"/);
    assert.match(warnings.join("\n"), /DEV_PRINT_EMAIL_LINKS/);
    const fixed = { ...config, vars: { ISSUER: "https://auth.example.com", AUDIENCE: "api", EMAIL_FROM: "no-reply@mail.acme.io", APP_URL: "https://app.acme.io" } };
    assert.deepEqual(configProblems(fixed), { problems: [], warnings: [] });
    assert.deepEqual(configProblems({ ...config, send_email: [] }).problems, []);
  });

  test("parseSecretList reads wrangler's JSON and rejects anything else", () => {
    assert.deepEqual(parseSecretList('[\n  {\n    "name": "SIGNING_KEY",\n    "type": "secret_text"\n  }\n]\n'), ["SIGNING_KEY"]);
    assert.deepEqual(parseSecretList("[]\n"), []);
    assert.throws(() => parseSecretList("Secret Name: SIGNING_KEY\n"), /unexpected output/);
  });

  test("secretsFileNames reads dotenv and JSON secrets files", () => {
    assert.deepEqual(secretsFileNames("# c\nSIGNING_KEY='{}'\nexport REFRESH_TOKEN_KEY=x\n"), ["SIGNING_KEY", "REFRESH_TOKEN_KEY"]);
    assert.deepEqual(secretsFileNames('{"SIGNING_KEY":"x"}'), ["SIGNING_KEY"]);
  });
});
