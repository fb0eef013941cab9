/**
 * Property-based fuzzing (fast-check) of every JSON body (register, login, refresh, password, logout),
 * of the OAuth endpoints' form bodies, and of arbitrary requests to every route:
 * never a 5xx, every 4xx in the contract's `{error, error_description}` shape, and no state change
 * (users, sessions, refresh tokens) on rejected input. Run counts are modest: an input that passes
 * validation of register/login costs one full password hash.
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { bearer, call, COOKIE, PASSWORD, register, SPA_ORIGIN, uniqueEmail, type Login } from "./helpers";
import { errorBodyOf, storageDigest } from "./hardening";

let user: Login;
beforeAll(async () => {
  user = await register();
});

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  "application/jsonp",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=xyz",
  "application/json; charset=utf-16",
  "",
];

const printable = (maxLength: number) => fc.string({ unit: "grapheme-ascii", maxLength });
const anyJsonText = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: "binary", maxLength: 100 }),
  fc.constantFrom("", "{", "[]", "null", '{"email":', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{}}}', "x".repeat(9000)),
);
/** Values for a single field: right type or not, plausible or not. */
const fieldValue = (plausible: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 4, arbitrary: plausible },
    { weight: 3, arbitrary: fc.string({ maxLength: 300 }) },
    { weight: 2, arbitrary: fc.anything({ maxDepth: 2 }) },
    { weight: 1, arbitrary: fc.constantFrom(null, 0, -1, 1e308, true, [], {}, "", " ", "\u0000", "é".repeat(300)) },
  );
const extraKeys = fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 });
/** A configured client, an unknown one, or garbage. */
const clientId = fieldValue(fc.constantFrom("web", "ios-app", "admin-spa", "nobody"));
const b64url = (length: number) => fc.stringMatching(new RegExp(`^[A-Za-z0-9_-]{${length}}$`));
/** Forgeries naming the real family: any generation, random secret and tag. */
const forgedFamilyToken = () =>
  fc.tuple(fc.nat({ max: 1_000_000 }), b64url(43), b64url(22)).map(([generation, secret, tag]) => `${user.sid}.${generation}.${secret}.${tag}`);

async function send(path: string, init: RequestInit) {
  const before = await storageDigest();
  const res = await call(path, init);
  expect(res.status, `${init.method ?? "GET"} ${path} -> ${res.status}`).toBeLessThan(500);
  if (res.status >= 400) {
    if (init.method !== "HEAD") await errorBodyOf(res);
    expect(await storageDigest(), `a rejected ${path} changed state`).toEqual(before);
  }
  return { res, before };
}

const postJsonText = (path: string, body: string, headers: Record<string, string> = {}) =>
  send(path, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body });

describe("fuzzing JSON bodies", () => {
  it("register: 201 creates exactly one user and one family; anything else changes nothing", async () => {
    const plausibleEmail = fc
      .tuple(fc.stringMatching(/^[a-z0-9][a-z0-9._+-]{0,15}$/), fc.domain())
      .map(([local, domain]) => `${local}@${domain}`.replace(/\.\./g, "."));
    const email = fc.oneof({ weight: 3, arbitrary: plausibleEmail }, { weight: 1, arbitrary: fc.constant(user.email) }, { weight: 1, arbitrary: fc.emailAddress() });
    const password = fc.oneof({ weight: 3, arbitrary: fc.string({ unit: "grapheme", minLength: 8, maxLength: 40 }) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) });
    const body = fc.oneof(
      fc.record({ email, password }),
      fc.record({ email, password, client_id: clientId }),
      fc.record({ email: fieldValue(email), password: fieldValue(password), client_id: clientId }, { requiredKeys: [] }),
    );
    await fc.assert(
      fc.asyncProperty(body, extraKeys, async (fields, extra) => {
        const { res, before } = await postJsonText("/auth/register", JSON.stringify({ ...extra, ...fields }));
        // 401 invalid_client: a client_id that is not configured.
        expect([201, 400, 401, 409, 413]).toContain(res.status);
        if (res.status === 201) {
          expect(((await res.json()) as { access_token: string }).access_token).toBeTruthy();
          expect(await storageDigest()).toEqual({ ...before, users: before.users! + 1, sessions: before.sessions! + 1, users_updated_sum: expect.any(Number), rotated_at_sum: expect.any(Number) });
        }
      }),
      { numRuns: 40 },
    );
  });

  it("login: never a token for a wrong password, never a state change when refused", async () => {
    const body = fc.record(
      {
        email: fieldValue(fc.oneof(fc.constant(user.email), fc.constant(user.email.toUpperCase()), fc.emailAddress())),
        password: fieldValue(fc.oneof(fc.constant(`${PASSWORD} `), fc.string({ minLength: 1, maxLength: 30 }))),
        client_id: clientId,
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(body, async (fields) => {
        const { res } = await postJsonText("/auth/login", JSON.stringify(fields));
        expect([400, 401, 413]).toContain(res.status);
      }),
      { numRuns: 25 },
    );
  });

  it("refresh: random tokens in the body or the cookie are refused without any change", async () => {
    const token = fc.oneof(forgedFamilyToken(), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/), fc.string({ maxLength: 100 }), fc.anything({ maxDepth: 1 }));
    const cookieValue = fc.option(fc.oneof(forgedFamilyToken(), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/), printable(80)), { nil: undefined });
    const origin = fc.constantFrom(SPA_ORIGIN, "https://evil.example", "null", "");
    await fc.assert(
      fc.asyncProperty(token, extraKeys, cookieValue, origin, fc.option(clientId, { nil: undefined }), async (refreshToken, extra, cookie, from, client) => {
        const headers: Record<string, string> = { Origin: from };
        if (cookie !== undefined) headers.Cookie = `${COOKIE}=${cookie}`;
        const { res } = await postJsonText("/auth/refresh", JSON.stringify({ ...extra, refresh_token: refreshToken, client_id: client }), headers);
        expect([400, 401, 403, 413]).toContain(res.status);
      }),
      { numRuns: 60 },
    );
  });

  it("logout: any body without a real token answers 204 or 413 and ends nothing", async () => {
    const body = fc.oneof(
      anyJsonText,
      fc.record({ refresh_token: fieldValue(forgedFamilyToken()), client_id: clientId }, { requiredKeys: [] }).map((fields) => JSON.stringify(fields)),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom(...CONTENT_TYPES), async (text, type) => {
        const before = await storageDigest();
        const res = await call("/auth/logout", { method: "POST", headers: type ? { "Content-Type": type } : {}, body: text });
        expect([204, 413]).toContain(res.status);
        if (res.status === 413) await errorBodyOf(res);
        expect(await storageDigest()).toEqual(before);
      }),
      { numRuns: 40 },
    );
    expect((await call("/auth/me", { headers: bearer(user.accessToken) })).status).toBe(200);
  });

  it("password change with a valid Bearer: wrong or malformed bodies are refused and change nothing", async () => {
    const body = fc.record({ current_password: fieldValue(fc.string({ minLength: 1, maxLength: 20 })), new_password: fieldValue(fc.string({ minLength: 8, maxLength: 20 })) }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(body, async (fields) => {
        const { res } = await postJsonText("/auth/password", JSON.stringify(fields), bearer(user.accessToken));
        expect([400, 401, 413]).toContain(res.status);
      }),
      { numRuns: 15 },
    );
  });
});

describe("fuzzing the OAuth endpoints' form bodies", () => {
  const fieldNames = fc.constantFrom("grant_type", "refresh_token", "client_id", "token", "token_type_hint", "client_secret", "scope");
  const value = fc.oneof(
    fc.constantFrom("refresh_token", "client_credentials", "password", "web", "ios-app", "billing-api", "access_token", ""),
    forgedFamilyToken(),
    fc.string({ maxLength: 100 }),
  );
  /** Pairs, so that a parameter may come twice (RFC 6749 section 3.2 refuses that). */
  const form = fc.array(fc.tuple(fc.oneof({ weight: 4, arbitrary: fieldNames }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }), value), { maxLength: 6 });
  const authorization = fc.option(
    fc.oneof(fc.constant(`Basic ${btoa("billing-api:wrong")}`), printable(60).map((s) => `Basic ${s}`), printable(60)),
    { nil: undefined },
  );

  it("token, revocation and introspection: never a 5xx, the error shape, no state change, nothing revoked", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("/oauth/token", "/oauth/revoke", "/oauth/introspect"), form, fc.constantFrom(...CONTENT_TYPES), authorization, async (path, pairs, type, auth) => {
        const headers: Record<string, string> = {};
        if (type) headers["Content-Type"] = type;
        if (auth !== undefined) headers.Authorization = auth;
        const before = await storageDigest();
        const { res } = await send(path, { method: "POST", headers, body: new URLSearchParams(pairs).toString() });
        expect(await storageDigest()).toEqual(before);
        if (path === "/oauth/token") expect(res.status).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: 80 },
    );
    expect((await call("/auth/me", { headers: bearer(user.accessToken) })).status).toBe(200);
  });
});

describe("fuzzing arbitrary requests to every route", () => {
  const paths = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(
      "/auth/register",
      "/auth/login",
      "/auth/refresh",
      "/auth/logout",
      "/auth/logout-all",
      "/auth/me",
      "/auth/password",
      "/auth/sessions",
      "/auth/sessions/SID",
      "/.well-known/jwks.json",
      "/.well-known/openid-configuration",
      "/.well-known/oauth-authorization-server",
      "/oauth/token",
      "/oauth/revoke",
      "/oauth/introspect",
      "/oauth/userinfo",
      "/health",
      "/admin/users/SID/disable",
    ) },
    { weight: 1, arbitrary: fc.webPath().map((p) => (p.startsWith("/") ? p : `/${p}`)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map((s) => `/auth/${encodeURIComponent(s)}`) },
  );
  const methods = fc.constantFrom("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE");
  const authorization = fc.option(
    fc.oneof(
      printable(200),
      printable(200).map((s) => `Bearer ${s}`),
      fc.array(fc.base64String({ maxLength: 60 }), { minLength: 1, maxLength: 6 }).map((parts) => `Bearer ${parts.join(".")}`),
    ),
    { nil: undefined },
  );
  const cookie = fc.option(fc.oneof(printable(100), printable(60).map((v) => `${COOKIE}=${v}`)), { nil: undefined });

  it("never a 5xx, always the error shape, never a state change", async () => {
    await fc.assert(
      fc.asyncProperty(paths, methods, fc.constantFrom(...CONTENT_TYPES), anyJsonText, authorization, cookie, async (path, method, type, body, auth, cookieHeader) => {
        const headers: Record<string, string> = { Origin: SPA_ORIGIN };
        if (type) headers["Content-Type"] = type;
        if (auth !== undefined) headers.Authorization = auth;
        if (cookieHeader !== undefined) headers.Cookie = cookieHeader;
        const withBody = method !== "GET" && method !== "HEAD";
        const before = await storageDigest();
        const { res } = await send(path.replace("SID", user.sid), { method, headers, body: withBody ? body : undefined });
        // Without valid credentials nothing may change, whatever the status.
        expect(await storageDigest()).toEqual(before);
        if (res.status >= 400) expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
      }),
      { numRuns: 150 },
    );
  });

  it("session ids and garbage in DELETE /auth/sessions/:id with a valid Bearer change nothing", async () => {
    const id = fc.oneof(fc.uuid(), fc.string({ minLength: 1, maxLength: 60 }), fc.constantFrom("' OR 1=1 --", "..%2F..%2Fetc", "%00", "*"));
    await fc.assert(
      fc.asyncProperty(id, async (value) => {
        const { res } = await send(`/auth/sessions/${encodeURIComponent(value)}`, { method: "DELETE", headers: bearer(user.accessToken) });
        expect([400, 404]).toContain(res.status);
      }),
      { numRuns: 40 },
    );
    expect((await call("/auth/me", { headers: bearer(user.accessToken) })).status).toBe(200);
  });
});

it("registers with a fuzz-free body still work afterwards (the fixtures were not broken)", async () => {
  const res = await call("/auth/register", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email: uniqueEmail("after-fuzz"), password: PASSWORD }),
  });
  expect(res.status).toBe(201);
});
