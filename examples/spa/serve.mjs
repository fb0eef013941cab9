#!/usr/bin/env node
// Serves the example SPA on http://localhost:5173 (loopback only): index.html plus app.js, the
// TypeScript bundled by esbuild on every request (cheap with an incremental context).
// Usage: node examples/spa/serve.mjs   env: PORT, AUTH_URL, DOWNSTREAM_URL
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const port = Number(process.env.PORT ?? 5173);
const authUrl = process.env.AUTH_URL ?? "http://localhost:8787";
const downstreamUrl = process.env.DOWNSTREAM_URL ?? "http://localhost:8788";

const bundler = await esbuild.context({
  entryPoints: [join(here, "main.ts")],
  bundle: true,
  format: "esm",
  target: "es2022",
  sourcemap: "inline",
  write: false,
  define: { AUTH_URL: JSON.stringify(authUrl), DOWNSTREAM_URL: JSON.stringify(downstreamUrl) },
  logLevel: "warning",
});

const securityHeaders = {
  // The access token lives in this page's memory: keep third-party script out.
  "Content-Security-Policy": `default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self' ${authUrl} ${downstreamUrl}; frame-ancestors 'none'`,
  "Referrer-Policy": "no-referrer",
  "X-Content-Type-Options": "nosniff",
  "Cache-Control": "no-store",
};

/** @param {import("node:http").IncomingMessage} req @param {import("node:http").ServerResponse} res */
async function handle(req, res) {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  try {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { Allow: "GET, HEAD" }).end();
    } else if (path === "/app.js") {
      const result = await bundler.rebuild();
      res.writeHead(200, { ...securityHeaders, "Content-Type": "text/javascript; charset=utf-8" }).end(result.outputFiles?.[0]?.text);
    } else if (path === "/health") {
      res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
    } else if (path === "/" || path === "/index.html") {
      res.writeHead(200, { ...securityHeaders, "Content-Type": "text/html; charset=utf-8" }).end(await readFile(join(here, "index.html")));
    } else {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not found");
    }
  } catch (err) {
    console.error(err);
    if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
    res.end("build or server error; see the server log");
  }
}

// `localhost` may resolve to either loopback address: answer on both, and on nothing else.
const servers = ["127.0.0.1", "::1"].map((host) =>
  createServer((req, res) => void handle(req, res)).listen(port, host).on("error", (err) => {
    console.error(`spa: cannot listen on [${host}]:${port}: ${err.message}`);
    process.exit(1);
  }),
);
console.log(`spa: http://localhost:${port} (auth ${authUrl}, downstream ${downstreamUrl})`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const server of servers) server.close();
    void bundler.dispose().then(() => process.exit(0));
  });
}
