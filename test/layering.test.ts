/// <reference types="vite/types/importMeta.d.ts" />
/**
 * Storage code never imports Hono, not even through another module: D1 queries, KV revocation, the
 * failed-login lockout, housekeeping and the storage failure type stay usable without the HTTP layer
 * (the Cron Trigger, scripts, tests).
 */
import { describe, expect, it } from "vitest";

const sources = import.meta.glob<string>("../src/**/*.ts", { query: "?raw", import: "default", eager: true });
const STORAGE_MODULES = Object.keys(sources).filter(
  (path) =>
    /^\.\.\/src\/(db|revocation)\//.test(path) ||
    ["../src/storage.ts", "../src/accounts/login-lockout.ts", "../src/housekeeping.ts"].includes(path),
);
const IMPORT = /^\s*(?:import|export)\b[^"';]*?from\s+["']([^"']+)["']/gm;
/** Import forms the walker does not follow; a module using one must be checked by other means. */
const UNFOLLOWED_IMPORT = /^\s*import\s*["']|\bimport\s*\(/m;

function resolveRelative(from: string, specifier: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== ".") parts.push(part);
  }
  const base = parts.join("/");
  const candidate = [`${base}.ts`, `${base}/index.ts`].find((path) => path in sources);
  if (!candidate) throw new Error(`${from}: cannot resolve ${specifier}`);
  return candidate;
}

/** Every package a module imports, directly or through the project's own modules. */
function packagesReachedFrom(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    if (UNFOLLOWED_IMPORT.test(sources[path]!)) throw new Error(`${path}: a side-effect or dynamic import the walker cannot follow`);
    for (const [, specifier] of sources[path]!.matchAll(IMPORT)) {
      if (specifier!.startsWith(".")) visit(resolveRelative(path, specifier!));
      else packages.add(specifier!);
    }
  };
  visit(entry);
  return packages;
}

const isHono = (pkg: string) => pkg === "hono" || pkg.startsWith("hono/") || pkg.startsWith("@hono/");

describe("layering", () => {
  it("finds the storage modules and sees Hono where it is used", () => {
    expect(STORAGE_MODULES).toEqual(expect.arrayContaining(["../src/db/sessions.ts", "../src/revocation/index.ts", "../src/storage.ts"]));
    // accounts/service.ts imports no Hono itself; it reaches Hono through sessions/service -> errors.
    expect(sources["../src/accounts/service.ts"]).not.toMatch(/from\s+["'](@?hono)/);
    expect([...packagesReachedFrom("../src/accounts/service.ts")].some(isHono)).toBe(true);
  });

  it.each(STORAGE_MODULES)("%s reaches no Hono module", (path) => {
    expect([...packagesReachedFrom(path)].filter(isHono)).toEqual([]);
  });
});
