/**
 * The edge token service: one Hono app on Cloudflare Workers. Contract: DESIGN.md (shared),
 * summarised in README.md. Layers: routes and middleware (HTTP) -> services -> stores.
 */
import { app } from "./app";
import type { Env } from "./env";
import { runHousekeeping } from "./housekeeping";
import { servicesFor } from "./services";

/**
 * The JWKS is what every verifier fetches. A plain GET of it skips routing and middleware and gets
 * the body and headers the Hono route gave for this env. Workers pass the same env object to every
 * request while the environment is unchanged, and a changed secret comes with a new env object, so
 * the answer is kept per env object. Its headers are kept as a `Headers` object: the Response
 * constructor copies one in a single call, where a list of pairs costs workerd a call per header
 * (~0.07 ms of CPU per request, measured; see bench/RESULTS.md).
 */
const jwksAnswers = new WeakMap<Env, { body: string; headers: Headers }>();

/** The path (and query) of an absolute URL, without parsing all of it. */
const pathOf = (url: string) => url.slice(url.indexOf("/", url.indexOf("//") + 2));

async function fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  if (request.method === "GET" && pathOf(request.url) === "/.well-known/jwks.json" && !request.headers.has("If-None-Match")) {
    const known = jwksAnswers.get(env);
    if (known) return new Response(known.body, { headers: known.headers });
    // Errors (a key that fails to load) are the Hono route's to answer, and are not kept.
    const res = await app.fetch(request, env, ctx);
    if (res.status === 200) jwksAnswers.set(env, { body: await res.clone().text(), headers: new Headers(res.headers) });
    return res;
  }
  return app.fetch(request, env, ctx);
}

export default {
  fetch,
  async scheduled(_controller, env, ctx) {
    const services = servicesFor(env);
    ctx.waitUntil(runHousekeeping(services.housekeeping, services.config).then(() => undefined));
  },
} satisfies ExportedHandler<Env>;
