/**
 * GET /openapi.json and the description behind it: the committed document is what the sources build,
 * it names every route the app serves with the very schemas the routes validate with, the answers
 * the service really gives are documented, and the endpoint answers as a public document.
 * test/openapi.node.test.ts validates the document itself (OpenAPI 3.1, JSON Schema).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import pkg from "../package.json";
import { app } from "../src/app";
import type { Validates } from "../src/routes/context";
import { OPENAPI_CACHE_CONTROL } from "../src/routes/openapi";
import { OPENAPI_DOCUMENT } from "../src/routes/openapi.generated";
import { openApiDocument } from "../src/routes/openapi-document";
import { OPERATIONS } from "../src/routes/openapi-operations";
import { bearer, call, callWith, postJson, register, uniqueEmail } from "./helpers";

type Json = Record<string, any>;

const committed = async (): Promise<Json> => JSON.parse(OPENAPI_DOCUMENT);

/** Hono's `:id` as OpenAPI's `{id}`. */
const openApiPath = (honoPath: string) => honoPath.replace(/:(\w+)/g, "{$1}");
/** Every method and path the app serves (`ALL` entries are middleware and the 405 answers). */
const served = app.routes.filter((route) => route.method !== "ALL");
const key = (method: string, path: string) => `${method.toUpperCase()} ${path}`;

describe("the API description's sources", () => {
  it("src/routes/openapi.generated.ts is what they build (else: npm run openapi:generate)", () => {
    const built = JSON.parse(JSON.stringify(openApiDocument(pkg.version)));
    expect(JSON.parse(OPENAPI_DOCUMENT), "src/routes/openapi.generated.ts is stale: run npm run openapi:generate").toEqual(built);
    expect(OPENAPI_DOCUMENT).toBe(JSON.stringify(built));
  });

  it("documents every route the app serves, with its method, and no route it does not serve", async () => {
    const routes = new Set(served.map((route) => key(route.method, openApiPath(route.path))));
    const documented = new Set(OPERATIONS.map((operation) => key(operation.method, operation.path)));
    expect([...routes].filter((route) => !documented.has(route)), "routes missing from src/routes/openapi-operations.ts").toEqual([]);
    expect([...documented].filter((route) => !routes.has(route)), "documented routes the app does not serve").toEqual([]);
    const { paths } = await committed();
    expect(Object.entries(paths).flatMap(([path, item]) => Object.keys(item as Json).map((method) => key(method, path))).sort()).toEqual([...documented].sort());
  });

  it("names, for each route, exactly the schema objects its validators check", () => {
    const mismatches: string[] = [];
    for (const operation of OPERATIONS) {
      const validators = served
        .filter((route) => key(route.method, openApiPath(route.path)) === key(operation.method, operation.path))
        .flatMap(({ handler }) => ("validates" in handler ? [handler.validates as Validates] : []));
      const expected: Validates[] = [
        ...(operation.body && !operation.body.readByHandler ? [{ target: operation.body.type ?? "json", schema: operation.body.schema }] : []),
        ...(operation.params ? [{ target: "param" as const, schema: operation.params }] : []),
      ];
      const same = expected.length === validators.length && expected.every((e) => validators.some((v) => v.target === e.target && v.schema === e.schema));
      if (!same) mismatches.push(`${key(operation.method, operation.path)}: validates ${validators.map((v) => v.target).join(", ") || "nothing"}, documented ${expected.map((e) => e.target).join(", ") || "nothing"} (or another schema object)`);
    }
    expect(mismatches).toEqual([]);
    expect(OPERATIONS.filter((operation) => operation.body || operation.params).length).toBeGreaterThan(15);
  });
});

/**
 * Where an answer differs from its documented response: an undocumented status, a member missing
 * or not documented (objects without `additionalProperties` are taken as closed: the service adds
 * nothing it does not describe), a wrong type or constant.
 */
function shapeErrors(document: Json, schema: Json, value: unknown, where: string): string[] {
  if (schema.$ref) return shapeErrors(document, document.components.schemas[schema.$ref.split("/").pop()], value, where);
  if (schema.anyOf) return schema.anyOf.some((branch: Json) => shapeErrors(document, branch, value, where).length === 0) ? [] : [`${where}: matches no anyOf branch`];
  const actual = value === null ? "null" : Array.isArray(value) ? "array" : Number.isInteger(value) ? "integer" : typeof value;
  const types = [schema.type ?? []].flat();
  if (types.length && !types.includes(actual) && !(actual === "integer" && types.includes("number"))) return [`${where}: ${actual}, documented ${types.join("|")}`];
  if ("const" in schema && value !== schema.const) return [`${where}: ${JSON.stringify(value)}, documented ${JSON.stringify(schema.const)}`];
  if (schema.enum && !schema.enum.includes(value)) return [`${where}: ${JSON.stringify(value)} is not in the documented enum`];
  if (actual === "array") return (value as unknown[]).flatMap((item, i) => shapeErrors(document, schema.items ?? {}, item, `${where}[${i}]`));
  if (actual !== "object") return [];
  const object = value as Json;
  const properties: Json = schema.properties ?? {};
  return [
    ...(schema.required ?? []).filter((name: string) => !(name in object)).map((name: string) => `${where}.${name}: missing`),
    ...Object.keys(object)
      .filter((name) => !(name in properties) && schema.additionalProperties === undefined)
      .map((name) => `${where}.${name}: not documented`),
    ...Object.entries(object).flatMap(([name, member]) => (properties[name] ? shapeErrors(document, properties[name], member, `${where}.${name}`) : [])),
  ];
}

async function undocumented(document: Json, method: string, path: string, res: Response): Promise<string[]> {
  const operation = document.paths[path]?.[method.toLowerCase()];
  if (!operation) return [`${method} ${path}: not documented`];
  let response = operation.responses[res.status];
  if (!response) return [`${method} ${path}: status ${res.status} not documented`];
  if (response.$ref) response = document.components.responses[response.$ref.split("/").pop()];
  const body = await res.text();
  const schema = response.content?.["application/json"]?.schema;
  if (!schema) return body ? [`${method} ${path} ${res.status}: a body, documented none`] : [];
  return shapeErrors(document, schema, JSON.parse(body), `${method} ${path} ${res.status}`);
}

const form = (fields: Record<string, string>, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
  body: new URLSearchParams(fields),
});

describe("the answers the service gives", () => {
  it("have documented statuses and the documented shapes", async () => {
    const document = await committed();
    const admin = { ADMIN_API_TOKEN: "test-admin-token" };
    const user = await register();
    const answers: [string, string, Response][] = [];
    const record = async (method: string, path: string, res: Promise<Response>) => {
      answers.push([method, path, await res]);
      return answers.at(-1)![2].clone();
    };
    await record("POST", "/auth/register", postJson("/auth/register", { email: uniqueEmail(), password: "a long enough passphrase" }));
    await record("POST", "/auth/login", postJson("/auth/login", { email: user.email, password: "wrong password!" }));
    const rotated = (await (await record("POST", "/auth/refresh", postJson("/auth/refresh", { refresh_token: user.refreshToken }))).json()) as Json;
    await record("POST", "/oauth/token", call("/oauth/token", form({ grant_type: "refresh_token", refresh_token: rotated.refresh_token, client_id: "web" })));
    await record("GET", "/auth/me", call("/auth/me", { headers: bearer(user.accessToken) }));
    await record("GET", "/auth/me", call("/auth/me"));
    await record("GET", "/auth/sessions", call("/auth/sessions", { headers: bearer(user.accessToken) }));
    await record("GET", "/oauth/userinfo", call("/oauth/userinfo", { headers: bearer(user.accessToken) }));
    const basic = { Authorization: `Basic ${btoa(`billing-api:${env.TEST_RESOURCE_SERVER_SECRET}`)}` };
    await record("POST", "/oauth/introspect", call("/oauth/introspect", form({ token: user.accessToken }, basic)));
    await record("POST", "/oauth/introspect", call("/oauth/introspect", form({ token: "not-a-token" }, basic)));
    await record("POST", "/oauth/revoke", call("/oauth/revoke", form({ token: "unknown", client_id: "web" })));
    await record("PUT", "/admin/users/{id}/roles/{role}", callWith(admin, `/admin/users/${user.userId}/roles/support`, { method: "PUT", headers: bearer("test-admin-token") }));
    await record("GET", "/admin/users/{id}/roles", callWith(admin, `/admin/users/${user.userId}/roles`, { headers: bearer("test-admin-token") }));
    await record("DELETE", "/auth/sessions/{id}", call(`/auth/sessions/${crypto.randomUUID()}`, { method: "DELETE", headers: bearer(user.accessToken) }));
    for (const path of ["/.well-known/jwks.json", "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration", "/health", "/openapi.json"]) {
      await record("GET", path, call(path));
    }

    expect(answers.map(([method, path, res]) => `${method} ${path} ${res.status}`)).toEqual([
      "POST /auth/register 201", "POST /auth/login 401", "POST /auth/refresh 200", "POST /oauth/token 200", "GET /auth/me 200", "GET /auth/me 401",
      "GET /auth/sessions 200", "GET /oauth/userinfo 200", "POST /oauth/introspect 200", "POST /oauth/introspect 200", "POST /oauth/revoke 200",
      "PUT /admin/users/{id}/roles/{role} 201", "GET /admin/users/{id}/roles 200", "DELETE /auth/sessions/{id} 404",
      "GET /.well-known/jwks.json 200", "GET /.well-known/oauth-authorization-server 200", "GET /.well-known/openid-configuration 200", "GET /health 200", "GET /openapi.json 200",
    ]);
    const errors = (await Promise.all(answers.map(([method, path, res]) => undocumented(document, method, path, res)))).flat();
    expect(errors).toEqual([]);
  });

  it("would be caught with a member or a status the description lacks (self-check)", async () => {
    const document = await committed();
    const me = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });
    const user = { id: crypto.randomUUID(), email: "a@example.com", role: "user", roles: ["user"], email_verified: false, created_at: new Date().toISOString() };
    expect(await undocumented(document, "GET", "/auth/me", me({ user }))).toEqual([]);
    expect(await undocumented(document, "GET", "/auth/me", me({ user: { ...user, secret: 1 } }))).toEqual(["GET /auth/me 200.user.secret: not documented"]);
    expect(await undocumented(document, "GET", "/auth/me", me({ user: { ...user, roles: "user" } }))).toEqual(["GET /auth/me 200.user.roles: string, documented array"]);
    expect(await undocumented(document, "GET", "/auth/me", me({}, 418))).toEqual(["GET /auth/me: status 418 not documented"]);
  });
});

describe("GET /openapi.json", () => {
  it("serves the committed document, naming the issuer as its server, cacheable and readable from any origin", async () => {
    const res = await call("/openapi.json", { headers: { Origin: "https://editor.example" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/json/);
    expect(res.headers.get("Cache-Control")).toBe(OPENAPI_CACHE_CONTROL);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(res.headers.get("Cross-Origin-Resource-Policy")).toBe("cross-origin");
    expect(res.headers.get("Set-Cookie")).toBeNull();
    const { issuer } = (await (await call("/.well-known/openid-configuration")).json()) as { issuer: string };
    expect(await res.json()).toEqual({ ...(await committed()), servers: [{ url: issuer }] });
  });

  it("answers HEAD and a CORS preflight, and 405 to other methods", async () => {
    expect((await call("/openapi.json", { method: "HEAD" })).status).toBe(200);
    const preflight = await call("/openapi.json", { method: "OPTIONS", headers: { Origin: "https://editor.example", "Access-Control-Request-Method": "GET" } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("Access-Control-Allow-Origin")).toBe("*");
    const post = await call("/openapi.json", { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("Allow")).toBe("GET, HEAD, OPTIONS");
  });
});
