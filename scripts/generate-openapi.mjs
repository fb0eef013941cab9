#!/usr/bin/env node
// Writes public/openapi.json, the OpenAPI 3.1 document GET /openapi.json serves, from the
// routes' own zod schemas and the table in src/routes/openapi-operations.ts (the builder is
// src/routes/openapi-document.ts). Run after changing a route, its schema or that table:
//   npm run openapi:generate            (or with --check: exit 1 when the committed file is stale)
// test/openapi.test.ts fails while the committed file and the sources disagree.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const at = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const OUTPUT = at("public/openapi.json");

/** The builder, bundled by esbuild (the sources are TypeScript with bundler-style imports) and loaded. */
async function loadBuilder() {
  const { outputFiles } = await build({ entryPoints: [at("src/routes/openapi-document.ts")], bundle: true, format: "esm", platform: "node", write: false, logLevel: "error" });
  return import(`data:text/javascript;base64,${Buffer.from(outputFiles[0].text).toString("base64")}`);
}

const { openApiDocument } = await loadBuilder();
const { version } = JSON.parse(readFileSync(at("package.json"), "utf8"));
const text = `${JSON.stringify(openApiDocument(version), null, 2)}\n`;

if (process.argv.includes("--check")) {
  const committed = readFileSync(OUTPUT, "utf8");
  if (committed !== text) {
    console.error("public/openapi.json is stale: run npm run openapi:generate");
    process.exit(1);
  }
  console.log("public/openapi.json is up to date");
} else {
  writeFileSync(OUTPUT, text);
  console.log(`wrote public/openapi.json (${text.length} bytes)`);
}
