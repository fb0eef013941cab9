/**
 * CPU profile of a worker under load, through the DevTools protocol that `wrangler dev` serves on its
 * --inspector-port, summarized by original source (through the bundle's source map).
 */
import { readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import { join } from "node:path";
import { WebSocket } from "undici";

export async function withProfile(inspectorPort, intervalUs, during) {
  // wrangler's inspector proxy wants an Origin header, which the standard WebSocket cannot set.
  const ws = new WebSocket(`ws://127.0.0.1:${inspectorPort}/ws`, { headers: { Origin: "http://localhost" } });
  const pending = new Map();
  let nextId = 1;
  ws.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    const waiter = msg.id !== undefined && pending.get(msg.id);
    if (!waiter) return; // events, and answers to wrangler's own requests
    pending.delete(msg.id);
    if (msg.error) waiter.reject(new Error(JSON.stringify(msg.error)));
    else waiter.resolve(msg.result);
  };
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = (e) => reject(new Error(`inspector on ${inspectorPort}: ${e.message}`));
  });
  const call = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: intervalUs });
  await call("Profiler.start");
  const result = await during();
  const { profile } = await call("Profiler.stop");
  ws.close();
  return { result, profile };
}

/**
 * Self time by function and by module, and inclusive time of the service's own functions (src/).
 * `bundleDir` holds the bundle wrangler dev serves (index.js + index.js.map): frames are mapped back
 * to the original file and line through the source map, so minified bundles read fine.
 */
export function summarizeProfile(profile, bundleDir, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const counts = new Map();
  for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  const total = profile.samples.length;
  const locate = locator(bundleDir);
  const self = new Map();
  const modules = new Map();
  const inclusive = new Map();
  const add = (map, key, count) => map.set(key, (map.get(key) ?? 0) + count);
  for (const [id, count] of counts) {
    const where = locate(byId.get(id).callFrame);
    add(self, where.label, count);
    add(modules, where.module, count);
    const seen = new Set();
    for (let n = id; n !== undefined; n = parent.get(n)) {
      const w = locate(byId.get(n).callFrame);
      if (w.module.startsWith("src/") && !seen.has(w.label)) add(inclusive, w.label, count), seen.add(w.label);
    }
  }
  const rows = (map) =>
    [...map].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, c]) => `${((c / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
  return { total, self: rows(self), modules: rows(modules), inclusive: rows(inclusive) };
}

/** Maps a frame of the bundle to its original module (`src/...` or the npm package) and line. */
function locator(bundleDir) {
  let map;
  try {
    map = new SourceMap(JSON.parse(readFileSync(join(bundleDir, "index.js.map"), "utf8")));
  } catch {
    map = undefined;
  }
  return (frame) => {
    const name = frame.functionName || "(anonymous)";
    if (!frame.url) return { module: name, label: name };
    if (frame.url !== "index.js" || !map) return { module: frame.url, label: `${name} [${frame.url}:${frame.lineNumber + 1}]` };
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber);
    const source = entry?.originalSource ?? "index.js";
    const module = source.includes("node_modules/")
      ? source.replace(/^.*node_modules\/((?:@[^/]+\/)?[^/]+)\/.*$/, "$1")
      : source.replace(/^.*?\b(src\/|bench\/)/, "$1");
    // drizzle-orm ships source maps that point to its own src/, which land as node_modules/src/...
    const pkg = module === "src" ? "drizzle-orm" : module;
    const file = source.includes("node_modules/") ? source.replace(/^.*node_modules\/(src\/)?/, pkg === "drizzle-orm" ? "drizzle-orm/$1" : "") : module;
    return { module: pkg, label: `${entry?.name ?? name} [${file}:${(entry?.originalLine ?? frame.lineNumber) + 1}]` };
  };
}
