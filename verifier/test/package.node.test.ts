/**
 * The package as it would be published: `npm run build` emits dist/ with types, every `exports`
 * target exists, the core entry point reaches no Hono module, and a TypeScript consumer that
 * imports it by name compiles (NodeNext) and runs in plain Node.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const dist = join(packageDir, "dist");
const manifest = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as {
  exports: Record<string, string | Record<string, string>>;
  dependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const consumerDir = join(packageDir, "test", "consumer");
const consumerScript = join(consumerDir, "dist", "consumer.js");
const CONSUMER_OUTPUT = {
  sub: "user-1",
  scopes: ["profile:read"],
  refused: 'Bearer realm="api", error="invalid_token", error_description="The access token is invalid."',
  profile: 200,
  billing: 403,
  missing: 401,
};

beforeAll(() => {
  execFileSync(npm, ["run", "build"], { cwd: packageDir, stdio: "pipe" });
  // Compiled against dist/ by package name, so it fails if the build or the exports map is wrong.
  execFileSync(process.execPath, [join(packageDir, "..", "node_modules", "typescript", "bin", "tsc"), "-p", consumerDir], { stdio: "pipe" });
}, 120_000);

/** Every package a built module imports, directly or through the package's own modules. */
function packagesReachedFrom(entry: string, seen = new Set<string>(), packages = new Set<string>()): Set<string> {
  if (seen.has(entry)) return packages;
  seen.add(entry);
  const source = readFileSync(entry, "utf8");
  // Side-effect and dynamic imports would escape this walk; tsc emits neither from this source.
  expect(source).not.toMatch(/^\s*import\s*["']|\bimport\s*\(/m);
  for (const [, specifier] of source.matchAll(/^\s*(?:import|export)\b[^"';]*?from\s+["']([^"']+)["']/gm)) {
    if (specifier!.startsWith(".")) packagesReachedFrom(resolve(dirname(entry), specifier!), seen, packages);
    else packages.add(specifier!);
  }
  return packages;
}

describe("the built package", () => {
  it("has every file its exports map names, types first", () => {
    for (const [entry, conditions] of Object.entries(manifest.exports)) {
      if (typeof conditions === "string") {
        expect(existsSync(join(packageDir, conditions)), entry).toBe(true);
        continue;
      }
      expect(Object.keys(conditions)[0], `${entry}: "types" must come first`).toBe("types");
      for (const target of Object.values(conditions)) expect(existsSync(join(packageDir, target)), `${entry} -> ${target}`).toBe(true);
    }
  });

  it("depends on jose only; hono is an optional peer", () => {
    expect(Object.keys(manifest.dependencies)).toEqual(["jose"]);
    expect(manifest.peerDependenciesMeta.hono?.optional).toBe(true);
  });

  it("keeps the core entry point free of Hono, and the /hono entry point uses it", () => {
    expect([...packagesReachedFrom(join(dist, "index.js"))]).toEqual(["jose"]);
    expect([...packagesReachedFrom(join(dist, "hono.js"))].sort()).toEqual(["hono/factory", "jose"]);
  });

  it("compiles and runs a consumer that imports it by name (NodeNext, plain Node)", () => {
    expect(JSON.parse(execFileSync(process.execPath, [consumerScript], { encoding: "utf8" }))).toEqual(CONSUMER_OUTPUT);
  });
});
