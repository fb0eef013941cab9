#!/usr/bin/env node
/**
 * Mutation checks (CONTRIBUTING.md, "Mutation checks"): applies each hand-written mutation of
 * test/mutations/mutations.mjs to src/ (or client/src/), runs the tests said to kill it, and
 * restores the file. A mutation is killed when at least one of those tests FAILS (an assertion,
 * not a file that no longer loads); one that survives means the suite would pass on broken code.
 *
 *   node test/mutations/run.mjs               every mutation
 *   node test/mutations/run.mjs R1 F8         only these ids
 *   node test/mutations/run.mjs --baseline    the killing tests on the unmutated code, in one run (must all pass)
 *   node test/mutations/run.mjs --list        the table, nothing run
 *   node test/mutations/run.mjs --check       every mutation still applies to the sources, nothing run
 *   node test/mutations/run.mjs --markdown    the table for CONTRIBUTING.md
 *
 * It refuses to touch a file that has uncommitted changes, and puts every file back as it was,
 * also on Ctrl-C. Runs the "workers" (or "node") project only; about 30-60 s per mutation.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { MUTATIONS } from "./mutations.mjs";

const root = resolve(fileURLToPath(import.meta.url), "../../..");
const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith("--")));
const ids = args.filter((a) => !a.startsWith("--"));
const selected = ids.length ? MUTATIONS.filter((m) => ids.includes(m.id)) : MUTATIONS;
const unknown = ids.filter((id) => !MUTATIONS.some((m) => m.id === id));
if (unknown.length) fail(`unknown mutation ids: ${unknown.join(", ")}`);

if (flags.has("--check")) {
  // Every find still matches exactly once (cheap: run it after editing src/).
  for (const m of selected) {
    const text = readFileSync(join(root, m.file), "utf8");
    for (const [find] of m.replace) {
      const count = text.split(find).length - 1;
      if (count !== 1) fail(`${m.id}: ${JSON.stringify(find)} occurs ${count} times in ${m.file}`);
    }
  }
  console.log(`${selected.length} mutations apply`);
  process.exit(0);
}

if (flags.has("--markdown")) {
  // The table of CONTRIBUTING.md, "Mutation checks".
  const cell = (text) => text.replace(/\|/g, "\\|");
  const code = (text) => {
    const oneLine = text.trim().replace(/\s*\n\s*/g, " ");
    if (!oneLine) return "(nothing)";
    return cell(oneLine.includes("`") ? `\`\` ${oneLine} \`\`` : `\`${oneLine}\``);
  };
  console.log("| id | file | mutation | killed by |\n| --- | --- | --- | --- |");
  for (const m of selected) {
    const change = m.replace.map(([find, replace]) => `${code(find)} → ${code(replace)}`).join("; ");
    const killers = m.killers.map((k) => `${k.file}: "${cell(k.test)}"`).join("; ");
    console.log(`| ${m.id} | ${m.file} | ${cell(m.what)}: ${change} | ${killers} |`);
  }
  process.exit(0);
}

if (flags.has("--list")) {
  for (const m of selected) console.log(`${m.id}\t${m.file}\t${m.what}\n\tkilled by: ${m.killers.map((k) => `${k.file} "${k.test}"`).join("; ")}`);
  process.exit(0);
}

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const scratch = mkdtempSync(join(tmpdir(), "mutations-"));

/** Runs the killing tests; returns the failed and passed test names (or why nothing ran). */
function runKillers(mutation) {
  const files = [...new Set(mutation.killers.map((k) => k.file))];
  const pattern = mutation.killers.map((k) => escape(k.test)).join("|");
  const output = join(scratch, `${mutation.id}.json`);
  const project = mutation.project ?? "workers";
  spawnSync("npx", ["vitest", "run", "--project", project, ...files, "-t", pattern, "--reporter=json", `--outputFile=${output}`], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    stdio: ["ignore", "ignore", "ignore"],
  });
  let report;
  try {
    report = JSON.parse(readFileSync(output, "utf8"));
  } catch {
    return { failed: [], passed: [], broken: "vitest wrote no report" };
  }
  const results = report.testResults.flatMap((file) => file.assertionResults);
  const brokenFiles = report.testResults.filter((file) => file.status === "failed" && file.assertionResults.length === 0);
  return {
    failed: results.filter((r) => r.status === "failed").map((r) => r.fullName),
    passed: results.filter((r) => r.status === "passed").map((r) => r.fullName),
    broken: brokenFiles.length ? brokenFiles.map((f) => `${f.name}: ${f.message?.split("\n")[0]}`).join("; ") : undefined,
  };
}

function isClean(file) {
  return spawnSync("git", ["diff", "--quiet", "HEAD", "--", file], { cwd: root }).status === 0;
}

/** Applies the mutation's replacements (each must match exactly once); returns the original text. */
function apply(mutation) {
  const path = join(root, mutation.file);
  const original = readFileSync(path, "utf8");
  let text = original;
  for (const [find, replace] of mutation.replace) {
    const count = text.split(find).length - 1;
    if (count !== 1) throw new Error(`${mutation.id}: ${JSON.stringify(find)} occurs ${count} times in ${mutation.file}`);
    text = text.replace(find, () => replace);
  }
  writeFileSync(path, text);
  return original;
}

let restore;
process.on("SIGINT", () => {
  restore?.();
  process.exit(130);
});

if (flags.has("--baseline")) {
  // One run per project of every killing test, on the unmutated code: each must pass.
  const failing = [];
  for (const project of new Set(selected.map((m) => m.project ?? "workers"))) {
    const killers = selected.filter((m) => (m.project ?? "workers") === project).flatMap((m) => m.killers);
    const { failed, passed, broken } = runKillers({ id: `baseline-${project}`, project, killers });
    for (const mutation of selected.filter((m) => (m.project ?? "workers") === project)) {
      const matches = (name) => mutation.killers.some((k) => name.includes(k.test));
      const ran = passed.filter(matches).length;
      const bad = failed.filter(matches);
      const ok = ran > 0 && bad.length === 0 && !broken;
      console.log(`${ok ? "pass    " : "FAILING "} ${mutation.id}  ${ran} killing tests passed${bad.length ? `, failed: ${bad.join("; ")}` : ""}${broken ? ` (${broken})` : ""}`);
      if (!ok) failing.push(mutation.id);
    }
  }
  rmSync(scratch, { recursive: true, force: true });
  if (failing.length) fail(`killing tests not passing on the unmutated code: ${failing.join(", ")}`);
  console.log(`${selected.length} baselines passed`);
  process.exit(0);
}

const survivors = [];
for (const mutation of selected) {
  const started = Date.now();
  if (!isClean(mutation.file)) fail(`${mutation.file} has uncommitted changes; commit or stash them first`);
  const path = join(root, mutation.file);
  const original = apply(mutation);
  restore = () => writeFileSync(path, original);
  let result;
  try {
    result = runKillers(mutation);
  } finally {
    restore();
    restore = undefined;
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  const killed = result.failed.length > 0 && !result.broken;
  if (!killed) survivors.push(mutation.id);
  const detail = killed ? `by ${result.failed.join("; ")}` : result.broken ? `(${result.broken})` : `(${result.passed.length} tests passed)`;
  console.log(`${killed ? "killed  " : "SURVIVED"} ${mutation.id} ${mutation.what} ${detail} [${seconds} s]`);
}
rmSync(scratch, { recursive: true, force: true });
if (survivors.length) fail(`survived: ${survivors.join(", ")}`);
console.log(`${selected.length} mutations killed`);

function fail(message) {
  console.error(message);
  process.exit(1);
}
