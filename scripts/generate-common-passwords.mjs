#!/usr/bin/env node
// Fills a D1 migration with the common-password list, from the installed @zxcvbn-ts/language-common
// (a devDependency; nothing is downloaded). The list lives in D1 (table `common_passwords`), not in
// the worker's bundle. Migration 0006 holds the first list; after upgrading the package:
//   npx drizzle-kit generate --custom --name common_passwords_update
//   npm run passwords:generate -- drizzle/<that migration>.sql
// Everything in the file after the marker line is replaced. Entries are only added (`insert or
// ignore`): an entry a later list drops stays refused, and entries operators added are kept.
// test/common-passwords.test.ts fails while the database and the installed package disagree.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dictionary } from "@zxcvbn-ts/language-common";

const PACKAGE = "@zxcvbn-ts/language-common";
const DICTIONARY = "passwords-common";
/** The registration and password-change minimum length: shorter entries can never be chosen. */
export const MIN_LENGTH = 8;
/** How many of the most common passwords of at least MIN_LENGTH characters to ship (ASVS asks 3,000). */
export const SIZE = 5000;
/** D1 takes statements of up to 100 KB; 250 rows are about 4 KB. */
const ROWS_PER_INSERT = 250;
const MARKER = "-- The common-password list, written by scripts/generate-common-passwords.mjs: do not edit below.";

/** The same normalisation as the lookup (src/accounts/service.ts): NFC (as hashed), trimmed, lower-cased. */
export const normalise = (password) => password.normalize("NFC").trim().toLowerCase();

/** The SIZE most common entries, in the package's rank order, that meet MIN_LENGTH once normalised. */
export function selectCommonPasswords(ranked) {
  const chosen = new Set();
  for (const entry of ranked) {
    const password = normalise(entry);
    if (password.length >= MIN_LENGTH) chosen.add(password);
    if (chosen.size === SIZE) return [...chosen];
  }
  throw new Error(`${PACKAGE} has only ${chosen.size} entries of ${MIN_LENGTH}+ characters; ${SIZE} are needed`);
}

const literal = (text) => `'${text.replaceAll("'", "''")}'`;

/** The SQL that adds the package's list (sorted, so that a diff between two lists reads well). */
export function listStatements(passwords, source) {
  const sorted = [...passwords].sort();
  const statements = [];
  for (let i = 0; i < sorted.length; i += ROWS_PER_INSERT) {
    const rows = sorted.slice(i, i + ROWS_PER_INSERT).map((password) => `(${literal(password)})`);
    statements.push(`insert or ignore into \`common_passwords\` (\`password\`) values\n${rows.join(",\n")};`);
  }
  return `-- ${sorted.length} passwords of ${MIN_LENGTH}+ characters from ${source}.\n${statements.join("\n--> statement-breakpoint\n")}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const target = process.argv[2];
  if (!target || !existsSync(target)) {
    console.error("usage: npm run passwords:generate -- drizzle/<migration>.sql (an existing migration, e.g. from drizzle-kit generate --custom)");
    process.exit(2);
  }
  const { version } = createRequire(import.meta.url)(`${PACKAGE}/package.json`);
  const current = readFileSync(target, "utf8");
  const head = current.includes(MARKER) ? current.slice(0, current.indexOf(MARKER)) : `${current.trimEnd()}\n--> statement-breakpoint\n`;
  writeFileSync(target, `${head}${MARKER}\n${listStatements(selectCommonPasswords(dictionary[DICTIONARY]), `${PACKAGE}@${version}`)}\n`);
  console.log(`wrote ${target}: ${SIZE} passwords of ${MIN_LENGTH}+ characters from ${PACKAGE}@${version}`);
}
