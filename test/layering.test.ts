/// <reference types="vite/types/importMeta.d.ts" />
/**
 * The three layers, in one direction (CONTRIBUTING.md, issue "Architecture"): HTTP (routes,
 * middleware, the app and its error table) -> services (accounts, api-keys, clients, lifecycle, roles, sessions,
 * tokens, revocation, housekeeping) -> stores (D1, KV). Beside them: the composition root (src/services.ts, which wires
 * services to stores), primitives the services use (keys, passwords), and foundation modules anyone
 * may import (domain errors, config, env, client info). No import circles. Read from the sources.
 */
import { describe, expect, it } from "vitest";

type Layer = "http" | "composition" | "services" | "stores" | "primitives" | "foundation";

const LAYER_OF: [RegExp, Layer][] = [
  [/^src\/(index|app|app-env|errors)\.ts$|^src\/(routes|middleware)\//, "http"],
  [/^src\/services\.ts$/, "composition"],
  [/^src\/(accounts|api-keys|clients|lifecycle|roles|sessions|tokens|revocation)\/|^src\/housekeeping\.ts$/, "services"],
  [/^src\/stores\//, "stores"],
  [/^src\/(keys|passwords)\//, "primitives"],
  [/^src\/(domain-errors|config|env|client-info)\.ts$/, "foundation"],
];

/** Which layers each layer may import (besides itself); services see stores only through their interfaces. */
const MAY_IMPORT: Record<Layer, Layer[]> = {
  http: ["composition", "services", "foundation"],
  composition: ["services", "stores", "primitives", "foundation"],
  services: ["stores", "primitives", "foundation"],
  stores: ["foundation"],
  primitives: ["foundation"],
  foundation: [],
};
const STORE_INTERFACES = "src/stores/types.ts";
const isHono = (pkg: string) => pkg === "hono" || pkg.startsWith("hono/") || pkg.startsWith("@hono/");

const IMPORT = /^\s*(?:import|export)\b[^"';]*?from\s+["']([^"']+)["']/gm;
/** Import forms the walker does not follow; a module using one must be checked by other means. */
const UNFOLLOWED_IMPORT = /^\s*import\s*["']|\bimport\s*\(/m;

export function layerOf(path: string): Layer | undefined {
  return LAYER_OF.find(([pattern]) => pattern.test(path))?.[1];
}

function resolve(from: string, specifier: string, sources: Record<string, string>): string {
  const parts = from.split("/").slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== ".") parts.push(part);
  }
  const base = parts.join("/");
  const found = [`${base}.ts`, `${base}/index.ts`].find((path) => path in sources);
  if (!found) throw new Error(`${from}: cannot resolve ${specifier}`);
  return found;
}

/** Every rule broken by these sources (paths relative to the repository root). */
export function layeringViolations(sources: Record<string, string>): string[] {
  const violations: string[] = [];
  const graph = new Map<string, string[]>();
  for (const [path, text] of Object.entries(sources)) {
    const layer = layerOf(path);
    if (!layer) {
      violations.push(`${path}: in no layer`);
      continue;
    }
    if (UNFOLLOWED_IMPORT.test(text)) violations.push(`${path}: a side-effect or dynamic import the walker cannot follow`);
    const edges: string[] = [];
    for (const [, specifier] of text.matchAll(IMPORT)) {
      if (!specifier!.startsWith(".")) {
        if (isHono(specifier!) && layer !== "http") violations.push(`${path} (${layer}) imports ${specifier}`);
        continue;
      }
      const target = resolve(path, specifier!, sources);
      edges.push(target);
      const targetLayer = layerOf(target)!;
      if (targetLayer === layer) continue;
      if (layer === "services" && targetLayer === "stores" && target !== STORE_INTERFACES) {
        violations.push(`${path} (services) imports the store implementation ${target}`);
      } else if (!MAY_IMPORT[layer].includes(targetLayer)) {
        violations.push(`${path} (${layer}) imports ${target} (${targetLayer})`);
      }
    }
    graph.set(path, edges);
  }
  return [...violations, ...circles(graph)];
}

/** Each import circle, once, as "a -> b -> a". */
function circles(graph: Map<string, string[]>): string[] {
  const found = new Set<string>();
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") found.add(`circle: ${[...stack.slice(stack.indexOf(next)), next].join(" -> ")}`);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return [...found];
}

const sources = Object.fromEntries(
  Object.entries(import.meta.glob<string>("../src/**/*.ts", { query: "?raw", import: "default", eager: true }))
    .filter(([path]) => !path.endsWith(".test.ts"))
    .map(([path, text]) => [path.replace(/^\.\.\//, ""), text]),
);

describe("layering", () => {
  it("puts every source module in a layer", () => {
    expect(Object.keys(sources).length).toBeGreaterThan(30);
    expect(Object.keys(sources).filter((path) => !layerOf(path))).toEqual([]);
  });

  it("routes and middleware reach services, stores never reach services or Hono, and nothing imports in a circle", () => {
    expect(layeringViolations(sources)).toEqual([]);
  });

  it("finds each kind of violation (self-check on made-up sources)", () => {
    const made = {
      "src/routes/a.ts": 'import { x } from "../stores/d1/users";\nimport { k } from "../keys";',
      "src/stores/d1/users.ts": 'import { s } from "../../sessions/service";',
      "src/sessions/service.ts": 'import { Hono } from "hono";\nimport { D } from "../stores/d1/users";\nimport type { T } from "../stores/types";',
      "src/stores/types.ts": "",
      "src/keys/index.ts": "",
      "src/config.ts": 'import { e } from "./env";',
      "src/env.ts": 'import { c } from "./config";',
    };
    expect(layeringViolations(made)).toEqual([
      "src/routes/a.ts (http) imports src/stores/d1/users.ts (stores)",
      "src/routes/a.ts (http) imports src/keys/index.ts (primitives)",
      "src/stores/d1/users.ts (stores) imports src/sessions/service.ts (services)",
      "src/sessions/service.ts (services) imports hono",
      "src/sessions/service.ts (services) imports the store implementation src/stores/d1/users.ts",
      "circle: src/stores/d1/users.ts -> src/sessions/service.ts -> src/stores/d1/users.ts",
      "circle: src/config.ts -> src/env.ts -> src/config.ts",
    ]);
  });
});
