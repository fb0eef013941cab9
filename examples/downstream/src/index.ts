/**
 * A downstream Hono worker that accepts the edge token service's access tokens, verified offline
 * against its JWKS, two ways: hono's own `jwk` middleware (/hono/*) and jose (/jose/*).
 */
import { Hono, type MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { jwk } from "hono/jwk";
import { createMiddleware } from "hono/factory";
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";

interface Bindings {
  ISSUER: string;
  AUDIENCE: string;
  JWKS_URI: string;
  ALLOWED_ORIGIN: string;
}
type AppEnv = { Bindings: Bindings; Variables: { jwtPayload: JWTPayload } };

const app = new Hono<AppEnv>();

app.use("*", (c, next) => cors({ origin: c.env.ALLOWED_ORIGIN, allowHeaders: ["Authorization"], maxAge: 600 })(c, next));
app.get("/health", (c) => c.json({ status: "ok" }));

// --- hono/jwk: fetches jwks_uri on every request, so a new kid is seen at once after a rotation.
let honoAuth: MiddlewareHandler<AppEnv> | undefined;
app.use("/hono/*", (c, next) => {
  honoAuth ??= jwk({
    jwks_uri: c.env.JWKS_URI,
    alg: ["RS256"], // pinned: never the token's own choice
    verification: { iss: c.env.ISSUER, aud: c.env.AUDIENCE, typ: "at+jwt" },
  });
  return honoAuth(c, next);
});
app.get("/hono/me", (c) => c.json({ verifier: "hono/jwk", claims: c.var.jwtPayload }));

// --- jose: caches the JWKS (cacheMaxAge, 10 min) and refetches on an unknown kid, at most once per
// cooldownDuration (lowered from 30 s so a rotation is picked up quickly; it still caps the
// refetches an attacker can cause with made-up kids).
let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
const joseAuth = createMiddleware<AppEnv>(async (c, next) => {
  jwks ??= createRemoteJWKSet(new URL(c.env.JWKS_URI), { cooldownDuration: 5_000 });
  const token = /^Bearer ([\w.-]+)$/.exec(c.req.header("Authorization") ?? "")?.[1];
  if (!token) return c.json({ error: "invalid_token", error_description: "Bearer token required" }, 401);
  try {
    const { payload } = await jwtVerify(token, jwks, {
      algorithms: ["RS256"],
      typ: "at+jwt",
      issuer: c.env.ISSUER,
      audience: c.env.AUDIENCE,
      requiredClaims: ["exp", "iat", "sub", "jti"],
      clockTolerance: 60,
    });
    c.set("jwtPayload", payload);
  } catch (err) {
    const code = (err as { code?: string }).code ?? "ERR_JWT_INVALID";
    return c.json({ error: "invalid_token", error_description: code }, 401, { "WWW-Authenticate": 'Bearer error="invalid_token"' });
  }
  await next();
});
app.use("/jose/*", joseAuth);
app.get("/jose/me", (c) => c.json({ verifier: "jose", claims: c.var.jwtPayload }));

export default app;
