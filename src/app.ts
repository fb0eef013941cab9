/**
 * The Hono app: headers, limits, CORS, the routes, 405s and the error answers. src/index.ts wraps
 * it with the JWKS fast path and the scheduled housekeeping.
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { secureHeaders } from "hono/secure-headers";
import { DomainError } from "./domain-errors";
import type { AppEnv } from "./app-env";
import { errorResponse } from "./errors";
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
import { OPENAPI_PATH, openApiRoutes } from "./routes/openapi";
import { sessionRoutes } from "./routes/sessions";
import { wellKnownRoutes } from "./routes/well-known";

/** JSON bodies of this API are tiny; anything bigger is refused before parsing or hashing. */
const MAX_BODY_BYTES = 8 * 1024;

/** Every route of the service; `app.routes` lists them (test/openapi.test.ts checks the API description against it). */
export const app = new Hono<AppEnv>();

/** Headers that only mean something for HTML documents; every answer here is JSON. */
const HTML_ONLY_HEADERS_OFF = {
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
} as const;

// Public JSON documents fetched by every verifier (and the API description, read by tools): readable
// cross-origin, and no headers beyond those that matter for them (extra ones add bytes to the hottest
// response for nothing). No HSTS: servers fetch these, and browsers get it from every API answer.
const publicDocumentHeaders = secureHeaders({
  ...HTML_ONLY_HEADERS_OFF,
  crossOriginResourcePolicy: "cross-origin",
  referrerPolicy: false,
  strictTransportSecurity: false,
  xFrameOptions: false,
});
app.use("/.well-known/*", publicDocumentHeaders);
app.use(OPENAPI_PATH, publicDocumentHeaders);
// The API answers JSON to scripts, never pages: OWASP's set for REST APIs (nothing may frame, run or
// embed an answer).
app.use(
  onlyWhen(
    (c) => !isUnder(c.req.path, "/.well-known") && c.req.path !== OPENAPI_PATH,
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
// The cookie (Path=/) reaches these too; they never read it, so they only check the Origin.
app.use("/oauth/*", requireAllowedOriginForCookie({ requireJson: false }));
app.use("/admin/*", requireAllowedOriginForCookie({ requireJson: false }));

app.route("/auth", authRoutes);
app.route("/auth", accountRoutes);
app.route("/auth", lifecycleRoutes);
app.route("/auth/sessions", sessionRoutes);
app.route("/auth/api-keys", apiKeyRoutes);
app.route("/.well-known", wellKnownRoutes);
app.route("/admin", adminRoutes);
app.route("/oauth", oauthRoutes);
app.get("/health", (c) => c.json({ status: "ok" }));
app.route("/", openApiRoutes);

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
