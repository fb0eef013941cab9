#!/usr/bin/env node
// Post-deploy smoke test: registers a throw-away user and walks through the whole token life cycle
// against a running deployment, printing each step with its timing. Exits non-zero on any failure.
//
//   npm run smoke -- https://auth.example.com
//
// Optional environment: SMOKE_AUDIENCE (expected `aud`, default: the issuer from discovery),
// SMOKE_EMAIL_DOMAIN (default example.com), SMOKE_TIMEOUT_MS (per request, default 10000).
import { randomBytes, randomUUID } from "node:crypto";
import { createRemoteJWKSet, jwtVerify } from "jose";

const COOKIE = "__Host-refresh_token";
const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

const base = (process.argv[2] ?? process.env.SMOKE_BASE_URL ?? "").replace(/\/+$/, "");
if (!/^https?:\/\/[^/]+/.test(base)) {
  console.error("usage: npm run smoke -- <base-url>   (e.g. https://auth.example.com)");
  process.exit(2);
}
const origin = new URL(base).origin;
const timeoutMs = Number(process.env.SMOKE_TIMEOUT_MS ?? 10_000);

/** One HTTP exchange. `cookie` makes it a browser-style request: the refresh cookie, our Origin, JSON. */
async function http(method, path, { body, form, bearer, cookie, url } = {}) {
  const headers = { Accept: "application/json", "User-Agent": "edge-token-service-smoke" };
  if (body !== undefined || cookie) headers["Content-Type"] = "application/json";
  if (form !== undefined) headers["Content-Type"] = "application/x-www-form-urlencoded";
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (cookie) Object.assign(headers, { Cookie: `${COOKIE}=${cookie}`, Origin: origin });
  const res = await fetch(url ?? base + path, {
    method,
    headers,
    body: form !== undefined ? new URLSearchParams(form) : body !== undefined ? JSON.stringify(body) : cookie ? "{}" : undefined,
    redirect: "manual",
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}
function expectStatus(res, status, what) {
  check(res.status === status, `${what}: expected HTTP ${status}, got ${res.status} ${res.text.slice(0, 300)}`);
}
function expectError(res, status, code, what) {
  expectStatus(res, status, what);
  check(res.json?.error === code, `${what}: expected error "${code}", got ${res.text.slice(0, 300)}`);
}
function refreshCookieOf(res) {
  for (const cookie of res.headers.getSetCookie()) {
    if (!cookie.startsWith(`${COOKIE}=`)) continue;
    const value = cookie.slice(COOKIE.length + 1).split(";")[0];
    if (value) return value;
  }
  return undefined;
}
function expectTokenResponse(res, status, what) {
  expectStatus(res, status, what);
  check(typeof res.json?.access_token === "string" && res.json.token_type === "Bearer", `${what}: no Bearer access_token in ${res.text.slice(0, 200)}`);
  check(/no-store/.test(res.headers.get("Cache-Control") ?? ""), `${what}: token response without Cache-Control: no-store`);
}

const results = [];
async function step(name, fn) {
  const started = performance.now();
  try {
    const detail = await fn();
    const ms = performance.now() - started;
    results.push({ name, ok: true, ms });
    console.log(`  ok    ${name.padEnd(52)} ${ms.toFixed(0).padStart(6)} ms${detail ? `  ${detail}` : ""}`);
  } catch (err) {
    const ms = performance.now() - started;
    results.push({ name, ok: false, ms });
    const cause = err instanceof Error && err.cause ? ` (${err.cause.code ?? err.cause.message ?? err.cause})` : "";
    console.log(`  FAIL  ${name.padEnd(52)} ${ms.toFixed(0).padStart(6)} ms  ${err instanceof Error ? err.message : err}${cause}`);
    throw err;
  }
}

const email = `smoke-${Date.now()}-${randomBytes(4).toString("hex")}@${process.env.SMOKE_EMAIL_DOMAIN ?? "example.com"}`;
const password = `smoke-${randomUUID()}`;
const s = {}; // state carried between steps

async function run() {
  console.log(`smoke test against ${base} (throw-away user ${email})`);

  await step("GET /health", async () => expectStatus(await http("GET", "/health"), 200, "health"));

  await step("GET /.well-known/openid-configuration", async () => {
    const res = await http("GET", "/.well-known/openid-configuration");
    expectStatus(res, 200, "discovery");
    const d = res.json ?? {};
    check(typeof d.issuer === "string" && typeof d.jwks_uri === "string", "discovery: issuer or jwks_uri missing");
    check(d.id_token_signing_alg_values_supported?.includes("RS256"), "discovery: RS256 not among the signing algorithms");
    s.issuer = d.issuer;
    s.audience = process.env.SMOKE_AUDIENCE ?? d.issuer;
    s.jwksUri = d.jwks_uri;
    s.tokenEndpoint = d.token_endpoint;
    s.userinfoEndpoint = d.userinfo_endpoint;
    s.revocationEndpoint = d.revocation_endpoint;
    check(s.tokenEndpoint && s.userinfoEndpoint && s.revocationEndpoint, "discovery: token, userinfo or revocation endpoint missing");
    return `issuer ${d.issuer}${d.issuer === base ? "" : ` (differs from the base URL ${base})`}`;
  });

  // The API description is bundled (src/routes/openapi.generated.ts): served with the issuer as its server.
  await step("GET /openapi.json", async () => {
    const res = await http("GET", "/openapi.json");
    expectStatus(res, 200, "openapi");
    check(res.json?.openapi === "3.1.0" && res.json.paths?.["/auth/login"], "openapi: not the OpenAPI 3.1 document of this service");
    check(res.json.servers?.[0]?.url === s.issuer, `openapi: servers ${JSON.stringify(res.json.servers)}, expected the issuer ${s.issuer}`);
    return `${Object.keys(res.json.paths).length} paths, version ${res.json.info?.version}`;
  });

  await step("GET jwks_uri", async () => {
    const res = await http("GET", "", { url: s.jwksUri });
    expectStatus(res, 200, "jwks");
    const keys = res.json?.keys;
    check(Array.isArray(keys) && keys.length > 0, "jwks: no keys");
    for (const key of keys) {
      check(key.kty === "RSA" && typeof key.kid === "string", `jwks: unexpected key ${JSON.stringify(key).slice(0, 100)}`);
      const leaked = PRIVATE_JWK_MEMBERS.filter((m) => m in key);
      check(leaked.length === 0, `jwks: PRIVATE key members published: ${leaked.join(", ")}`);
    }
    check(/public/.test(res.headers.get("Cache-Control") ?? ""), "jwks: not publicly cacheable");
    s.jwks = createRemoteJWKSet(new URL(s.jwksUri));
    return `${keys.length} key(s), kid ${keys[0].kid}`;
  });

  const verify = async (token, what) => {
    const { payload, protectedHeader } = await jwtVerify(token, s.jwks, {
      algorithms: ["RS256"],
      issuer: s.issuer,
      audience: s.audience,
      typ: "at+jwt",
      requiredClaims: ["exp", "iat", "sub", "jti"],
    }).catch((err) => {
      throw new Error(`${what}: the access token does not verify against the JWKS: ${err.message}`);
    });
    return { payload, protectedHeader };
  };

  // The list lives in D1 (migration 0006): an empty or missing table would let every password through.
  await step("POST /auth/register with a common password: 400", async () => {
    const res = await http("POST", "/auth/register", { body: { email: `common-${email}`, password: "password123" } });
    expectStatus(res, 400, "common password");
    check(/common/.test(res.json?.error_description ?? ""), `common password: ${res.json?.error_description}`);
  });

  await step("POST /auth/register", async () => {
    const res = await http("POST", "/auth/register", { body: { email, password } });
    expectTokenResponse(res, 201, "register");
    s.userId = res.json.user?.id;
    s.access = res.json.access_token;
    s.cookie = refreshCookieOf(res);
    check(s.userId && s.cookie, "register: no user id or no refresh cookie");
    return `user ${s.userId}`;
  });

  await step("verify the access token with the JWKS (RS256)", async () => {
    const { payload, protectedHeader } = await verify(s.access, "register");
    check(payload.sub === s.userId, `sub ${payload.sub} is not the new user ${s.userId}`);
    return `kid ${protectedHeader.kid}, expires in ${payload.exp - Math.floor(Date.now() / 1000)} s`;
  });

  await step("GET /auth/me", async () => {
    const res = await http("GET", "/auth/me", { bearer: s.access });
    expectStatus(res, 200, "me");
    check(res.json?.user?.email === email, `me: unexpected user ${res.text.slice(0, 200)}`);
  });

  await step("POST /auth/login (second session)", async () => {
    const res = await http("POST", "/auth/login", { body: { email, password } });
    expectTokenResponse(res, 200, "login");
    s.bodyRefresh = refreshCookieOf(res);
    check(s.bodyRefresh, "login: no refresh cookie");
  });

  await step("POST /auth/refresh (JSON body, non-browser)", async () => {
    const res = await http("POST", "/auth/refresh", { body: { refresh_token: s.bodyRefresh } });
    expectTokenResponse(res, 200, "refresh (body)");
    const next = res.json.refresh_token;
    check(typeof next === "string" && next !== s.bodyRefresh, "refresh (body): no rotated refresh_token in the body");
    s.bodyRefresh = next;
    s.bodyAccess = res.json.access_token;
    await verify(s.bodyAccess, "refresh (body)");
  });

  await step("POST token_endpoint (OAuth refresh grant)", async () => {
    const res = await http("POST", "", { url: s.tokenEndpoint, form: { grant_type: "refresh_token", refresh_token: s.bodyRefresh, client_id: "web" } });
    expectTokenResponse(res, 200, "token endpoint");
    check(typeof res.json.refresh_token === "string" && res.json.refresh_token !== s.bodyRefresh, "token endpoint: no rotated refresh_token");
    s.bodyRefresh = res.json.refresh_token;
    s.bodyAccess = res.json.access_token;
    const { payload } = await verify(s.bodyAccess, "token endpoint");
    check(payload.client_id === "web", `token endpoint: client_id ${payload.client_id}, expected web (RFC 9068)`);
  });

  await step("GET userinfo_endpoint (OIDC)", async () => {
    const res = await http("GET", "", { url: s.userinfoEndpoint, bearer: s.bodyAccess });
    expectStatus(res, 200, "userinfo");
    check(res.json?.sub === s.userId && res.json?.email === email, `userinfo: unexpected answer ${res.text.slice(0, 200)}`);
  });

  await step("POST /auth/refresh (cookie, Origin = base URL)", async () => {
    const res = await http("POST", "/auth/refresh", { cookie: s.cookie });
    expectTokenResponse(res, 200, "refresh (cookie)");
    const next = refreshCookieOf(res);
    check(next && next !== s.cookie, "refresh (cookie): the cookie was not rotated");
    s.cookie = next;
    s.access = res.json.access_token;
    await verify(s.access, "refresh (cookie)");
  });

  await step("GET /auth/sessions", async () => {
    const res = await http("GET", "/auth/sessions", { bearer: s.access });
    expectStatus(res, 200, "sessions");
    const sessions = res.json?.sessions ?? [];
    check(sessions.length === 2, `sessions: expected 2 live sessions, got ${sessions.length}`);
    check(sessions.filter((x) => x.current).length === 1, "sessions: not exactly one current session");
  });

  await step("POST /auth/logout (cookie + Bearer)", async () => {
    const res = await http("POST", "/auth/logout", { cookie: s.cookie, bearer: s.access });
    expectStatus(res, 204, "logout");
    check(refreshCookieOf(res) === undefined, "logout: the refresh cookie was not cleared");
  });

  await step("after logout: refresh token and access token refused", async () => {
    expectError(await http("POST", "/auth/refresh", { cookie: s.cookie }), 401, "invalid_grant", "refresh after logout");
    expectError(await http("GET", "/auth/me", { bearer: s.access }), 401, "invalid_token", "me after logout");
  });

  await step("POST revocation_endpoint (RFC 7009)", async () => {
    const res = await http("POST", "", { url: s.revocationEndpoint, form: { token: s.bodyAccess, client_id: "web" } });
    expectStatus(res, 200, "revocation");
    expectError(await http("GET", "/auth/me", { bearer: s.bodyAccess }), 401, "invalid_token", "me after revocation");
    const next = await http("POST", "/auth/refresh", { body: { refresh_token: s.bodyRefresh } });
    expectTokenResponse(next, 200, "refresh after revoking the access token");
    s.bodyRefresh = next.json.refresh_token;
    s.bodyAccess = next.json.access_token;
  });

  await step("POST /auth/logout-all (clean-up)", async () => {
    expectStatus(await http("POST", "/auth/logout-all", { bearer: s.bodyAccess }), 204, "logout-all");
    expectError(await http("POST", "/auth/refresh", { body: { refresh_token: s.bodyRefresh } }), 401, "invalid_grant", "refresh after logout-all");
    s.cleanedUp = true;
  });
}

const started = performance.now();
let failed = false;
try {
  await run();
} catch {
  failed = true;
} finally {
  // Best effort: never leave live sessions of the throw-away user behind.
  if (!s.cleanedUp) {
    for (const token of [s.bodyAccess, s.access].filter(Boolean)) {
      await http("POST", "/auth/logout-all", { bearer: token }).catch(() => undefined);
    }
  }
}
const passed = results.filter((r) => r.ok).length;
const total = ((performance.now() - started) / 1000).toFixed(1);
console.log(`${failed ? "FAILED" : "passed"}: ${passed}/${results.length} steps in ${total} s against ${base}`);
process.exit(failed ? 1 : 0);
