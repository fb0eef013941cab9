/**
 * The edge token service: one Hono app on Cloudflare Workers. Contract: DESIGN.md (shared),
 * summarised in README.md. Layers: routes and middleware (HTTP) -> services -> stores.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";
import { DomainError } from "./domain-errors";
import type { AppEnv } from "./app-env";
import type { Env } from "./env";
import { errorResponse } from "./errors";
import { runHousekeeping } from "./housekeeping";
import { noStore } from "./middleware/no-store";
import { isUnder, onlyWhen } from "./middleware/only-when";
import { corsForAllowedOrigins, requireAllowedOriginForCookie } from "./middleware/origin-guard";
import { rateLimitByNetwork } from "./middleware/rate-limit";
import { provideServices } from "./middleware/services";
import { accountRoutes } from "./routes/account";
import { adminRoutes } from "./routes/admin";
import { apiKeyRoutes } from "./routes/api-keys";
import { authRoutes } from "./routes/auth";
import { lifecycleRoutes } from "./routes/lifecycle";
import { oauthRoutes } from "./routes/oauth";
import { sessionRoutes } from "./routes/sessions";
import { wellKnownRoutes } from "./routes/well-known";
import { servicesFor } from "./services";

/** JSON bodies of this API are tiny; anything bigger is refused before parsing or hashing. */
const MAX_BODY_BYTES = 8 * 1024;

const app = new Hono<AppEnv>();

/** Headers that only mean something for HTML documents; every answer here is JSON. */
const HTML_ONLY_HEADERS_OFF = {
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
} as const;

// Public JSON documents fetched by every verifier: readable cross-origin, and no headers beyond those
// that matter for them (extra ones add bytes to the hottest response for nothing).
app.use(
  "/.well-known/*",
  secureHeaders({ ...HTML_ONLY_HEADERS_OFF, crossOriginResourcePolicy: "cross-origin", referrerPolicy: false, xFrameOptions: false }),
);
// The API answers JSON to scripts, never pages: OWASP's set for REST APIs (nothing may frame, run or
// embed an answer).
app.use(
  onlyWhen(
    (c) => !isUnder(c.req.path, "/.well-known"),
    secureHeaders({
      ...HTML_ONLY_HEADERS_OFF,
      contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      xFrameOptions: "DENY",
    }),
  ),
);

for (const api of ["/auth/*", "/oauth/*", "/admin/*"]) {
  app.use(api, noStore);
  app.use(
    api,
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: () => {
        throw new DomainError("payload_too_large", `The request body exceeds ${MAX_BODY_BYTES} bytes.`);
      },
    }),
  );
}
// After the headers above, so that an answer to a setting that fails to parse has them too.
app.use(provideServices);
// Browsers may call the API and the token, revocation and userinfo endpoints; introspection is
// server to server and answers no CORS.
const cors = corsForAllowedOrigins();
app.use("/auth/*", cors);
app.use("/oauth/*", onlyWhen((c) => c.req.path !== "/oauth/introspect", cors));
// Routes with their own per-network limiter (login, register, refresh, token) are not counted twice.
const HAVE_OWN_NETWORK_LIMITER = new Set(["/auth/login", "/auth/register", "/auth/refresh", "/oauth/token"]);
const perNetwork = onlyWhen((c) => !HAVE_OWN_NETWORK_LIMITER.has(c.req.path), rateLimitByNetwork("AUTH_RATE_LIMITER"));
for (const api of ["/auth/*", "/oauth/*", "/admin/*"]) app.use(api, perNetwork);
app.use("/auth/*", requireAllowedOriginForCookie());
app.use("/oauth/*", requireAllowedOriginForCookie({ requireJson: false }));

app.route("/auth", authRoutes);
app.route("/auth", accountRoutes);
app.route("/auth", lifecycleRoutes);
app.route("/auth/sessions", sessionRoutes);
app.route("/auth/api-keys", apiKeyRoutes);
app.route("/.well-known", wellKnownRoutes);
app.route("/admin", adminRoutes);
app.route("/oauth", oauthRoutes);
app.get("/health", (c) => c.json({ status: "ok" }));

answerWrongMethodsWith405(app);
app.notFound(() => {
  throw new DomainError("not_found", "No such endpoint.");
});
app.onError(errorResponse);

/** A known path with another method gets 405 and an `Allow` header instead of 404. */
function answerWrongMethodsWith405(hono: Hono<AppEnv>) {
  const allowed = new Map<string, Set<string>>();
  for (const route of hono.routes) {
    if (route.method === "ALL") continue;
    allowed.set(route.path, (allowed.get(route.path) ?? new Set()).add(route.method));
  }
  for (const [path, methods] of allowed) {
    if (methods.has("GET")) methods.add("HEAD");
    const allow = [...methods, "OPTIONS"].join(", ");
    hono.all(path, () => {
      throw new DomainError("method_not_allowed", `Method not allowed. Allowed: ${allow}.`, { allow });
    });
  }
}

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
