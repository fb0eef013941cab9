/**
 * Builds the OpenAPI 3.1 document from the table in src/routes/openapi-operations.ts, the request
 * schemas the routes validate with, the answer shapes and the error table of src/errors.ts.
 * Runs at build time only (npm run openapi:generate writes src/routes/openapi.generated.ts, which the
 * worker serves); test/openapi.test.ts rebuilds it and fails when the committed file differs.
 */
import * as z from "zod/mini";
import { DomainError, type ErrorCode } from "../domain-errors";
import { HTTP_ANSWERS } from "../errors";
import { REFRESH_COOKIE_FULL_NAME } from "../middleware/refresh-cookie";
import { OPERATIONS, type Answer, type HeaderName, type Operation, type SecurityScheme } from "./openapi-operations";
import * as answerSchemas from "./openapi-responses";

type Json = Record<string, unknown>;

/** What each error code means to a caller, in the error responses' descriptions. */
const ERROR_MEANINGS: Record<ErrorCode, string> = {
  invalid_request: "a field or parameter is missing or invalid; the description names it",
  invalid_credentials: "the email or password is incorrect",
  invalid_grant: "the refresh token is invalid, expired, revoked or was already used",
  invalid_token: "the access token is invalid, expired or revoked, or its session or account is gone",
  token_required: "no access token was sent",
  insufficient_scope: "the access token does not grant the permission",
  invalid_client: "unknown client_id, or bad resource-server credentials",
  unsupported_grant_type: "a grant other than refresh_token and client_credentials",
  invalid_scope: "a scope the API key does not hold",
  email_taken: "an account has this email",
  email_not_verified: "the email must be verified first (REQUIRE_VERIFIED_EMAIL)",
  not_found: "no such user or session, or the service sends no emails",
  rate_limited: "too many requests; retry after Retry-After seconds",
  storage_unavailable: "D1 or KV failed; nothing changed; retry after Retry-After seconds",
  email_unavailable: "the email could not be sent; nothing changed; retry after Retry-After seconds",
  retry_later: "a retry of a refresh token that was just rotated, which this location cannot answer yet (a key change rolling out); nothing changed; retry after Retry-After seconds",
  invalid_origin: "a request carrying the refresh cookie from an origin that is not allowed, or not JSON",
  payload_too_large: "the body exceeds 8 KiB",
  method_not_allowed: "the path does not take this method",
  misconfigured: "the service is misconfigured",
  internal_error: "an unexpected failure",
};

const HEADERS: Record<HeaderName | "WWW-Authenticate" | "Retry-After" | "Allow", Json> = {
  "Set-Cookie": { description: `The refresh token in \`${REFRESH_COOKIE_FULL_NAME}\` (HttpOnly, Secure, Path=/), or its removal.`, schema: { type: "string" } },
  "Cache-Control": { description: "How long a cache may keep the document.", schema: { type: "string" } },
  ETag: { description: "The key set's version; send it back in If-None-Match.", schema: { type: "string" } },
  "WWW-Authenticate": { description: "The challenge (RFC 6750 section 3; Basic for introspection).", schema: { type: "string" } },
  "Retry-After": { description: "Seconds to wait before retrying.", schema: { type: "integer" } },
  Allow: { description: "The methods the path takes.", schema: { type: "string" } },
};

const SECURITY_SCHEMES: Record<SecurityScheme, Json> = {
  bearerAuth: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "An access token (RS256, `typ` at+jwt) from login, register, refresh or /oauth/token." },
  refreshCookie: { type: "apiKey", in: "cookie", name: REFRESH_COOKIE_FULL_NAME, description: "The refresh token the service set as an HttpOnly cookie. Unsafe requests carrying it must come from an allowed Origin." },
  adminToken: { type: "http", scheme: "bearer", description: "The ADMIN_API_TOKEN secret (the operator credential), when it is set." },
  resourceServerBasic: { type: "http", scheme: "basic", description: "A resource server's id and secret from RESOURCE_SERVERS." },
  apiKeyBasic: { type: "http", scheme: "basic", description: "An API key: its id as the user name, the key (etsk_...) as the password." },
};

const TAGS = [
  { name: "auth", description: "Sessions for the service's own clients: the refresh token in an HttpOnly cookie (browsers) or the body." },
  { name: "account", description: "The signed-in user, password and email flows." },
  { name: "sessions", description: "The user's sessions (devices)." },
  { name: "api-keys", description: "The user's API keys, exchanged at /oauth/token (client_credentials) for short-lived access tokens." },
  { name: "oauth", description: "Standard OAuth 2.0 and OIDC endpoints, for client libraries and resource servers." },
  { name: "admin", description: "Operator endpoints: the ADMIN_API_TOKEN, or an access token granting the permission." },
  { name: "discovery", description: "Public documents, readable cross-origin." },
];

const byName = ([a]: [string, unknown], [b]: [string, unknown]) => (a < b ? -1 : a > b ? 1 : 0);
const ref = (kind: string, name: string) => ({ $ref: `#/components/${kind}/${name}` });

/** What describing the operations collects for `components`. */
interface Collected {
  nameOf: (schema: z.ZodMiniType) => string;
  headers: Set<string>;
  /** Error responses by name: one per set of error codes (the status is the operation's key). */
  responses: Map<string, Json>;
}

/** The OpenAPI 3.1 document of every public endpoint; `version` is the package's. */
export function openApiDocument(version: string): Json {
  const names = schemaNames();
  const registry = z.registry<{ id: string }>();
  for (const [schema, id] of names) registry.add(schema, { id });
  const { schemas } = z.toJSONSchema(registry, { io: "input", uri: (id) => `#/components/schemas/${id}`, unrepresentable: "throw", override: tidy });
  if ("__shared" in schemas) fail("a schema is shared without a name: give it one in src/routes/openapi-responses.ts");
  const collected: Collected = {
    nameOf: (schema) => names.get(schema) ?? fail("an answer body that is not in src/routes/openapi-responses.ts"),
    headers: new Set(),
    responses: new Map(),
  };

  const paths: Record<string, Json> = {};
  for (const operation of OPERATIONS) (paths[operation.path] ??= {})[operation.method] = describeOperation(operation, collected);
  return {
    openapi: "3.1.0",
    info: {
      title: "Edge token service",
      version,
      description: "A JWT authentication server on Cloudflare Workers. Every error answers the `Error` schema; every /auth, /oauth and /admin answer has `Cache-Control: no-store`; another method on a known path answers 405 `invalid_request` with `Allow`.",
    },
    servers: [{ url: "/" }],
    tags: TAGS,
    paths,
    components: {
      // By name: a module namespace's order is not the same under every bundler.
      schemas: Object.fromEntries(Object.entries(schemas).sort(byName).map(([id, schema]) => [id, withoutDialect(schema)])),
      responses: Object.fromEntries([...collected.responses].sort(byName)),
      headers: Object.fromEntries(Object.entries(HEADERS).filter(([name]) => collected.headers.has(name))),
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

/** Every named schema: the answers by their export names, the request bodies by the names in the table. */
function schemaNames(): Map<z.ZodMiniType, string> {
  const names = new Map<z.ZodMiniType, string>();
  const taken = new Set<string>();
  const name = (schema: z.ZodMiniType, id: string) => {
    const known = names.get(schema);
    if (known === id) return;
    if (known !== undefined || taken.has(id)) fail(`the schema name ${id} is used twice, or one schema has two names`);
    names.set(schema, id);
    taken.add(id);
  };
  for (const [id, schema] of Object.entries(answerSchemas)) name(schema, id);
  for (const { body } of OPERATIONS) if (body) name(body.schema, body.name);
  return names;
}

function describeOperation(operation: Operation, collected: Collected): Json {
  const { body, params, security } = operation;
  const responses: Record<string, Json> = {};
  for (const answer of operation.answers) responses[answer.status] = successResponse(answer, collected);
  for (const [status, codes] of errorsByStatus(operation)) responses[status] = errorResponse(codes, collected);
  responses.default = errorResponse(["misconfigured", "internal_error"], collected);
  return {
    operationId: operation.operationId,
    tags: [operation.tag],
    summary: operation.summary,
    ...(operation.description ? { description: operation.description } : {}),
    ...(security ? { security: security.map((alternative) => Object.fromEntries(alternative.map((scheme) => [scheme, []]))) } : {}),
    ...(params ? { parameters: pathParameters(params) } : {}),
    ...(body
      ? {
          requestBody: {
            required: !body.readByHandler,
            content: { [body.type === "form" ? "application/x-www-form-urlencoded" : "application/json"]: { schema: ref("schemas", collected.nameOf(body.schema)) } },
          },
        }
      : {}),
    responses,
  };
}

function successResponse(answer: Answer, collected: Collected): Json {
  return {
    description: answer.description,
    ...headersOf(answer.headers ?? [], collected),
    ...(answer.body ? { content: { "application/json": { schema: ref("schemas", collected.nameOf(answer.body)) } } } : {}),
  };
}

/** A reference to the shared response for these codes (all of one status), added on first use. */
function errorResponse(codes: ErrorCode[], collected: Collected): Json {
  const name = codes.join("-");
  if (!collected.responses.has(name)) {
    collected.responses.set(name, {
      description: describeErrors(codes),
      ...headersOf([...new Set(codes.flatMap(headerNamesOf))], collected),
      content: { "application/json": { schema: ref("schemas", "Error") } },
    });
  }
  return ref("responses", name);
}

/** One line per `error` member (several codes may answer the same one), with what each code means. */
function describeErrors(codes: ErrorCode[]): string {
  const meanings = new Map<string, string[]>();
  for (const code of codes) meanings.set(HTTP_ANSWERS[code].error, [...(meanings.get(HTTP_ANSWERS[code].error) ?? []), ERROR_MEANINGS[code]]);
  return [...meanings].map(([error, reasons]) => `\`${error}\`: ${reasons.join("; or ")}.`).join("\n");
}

const headersOf = (names: string[], collected: Collected) => {
  names.forEach((name) => collected.headers.add(name));
  return names.length ? { headers: Object.fromEntries(names.map((name) => [name, ref("headers", name)])) } : {};
};

/** The error codes of an operation: its own and those every route of its kind can answer, by status. */
function errorsByStatus(operation: Operation): Map<number, ErrorCode[]> {
  const codes = new Set(operation.errors);
  if (operation.body || operation.params) codes.add("invalid_request");
  if (operation.body) codes.add("payload_too_large");
  const alternatives = operation.security ?? [];
  if (alternatives.some((schemes) => schemes.includes("bearerAuth") || schemes.includes("adminToken"))) {
    codes.add("invalid_token");
    if (!alternatives.some((schemes) => schemes.length === 0)) codes.add("token_required");
  }
  if (/^\/(auth|oauth|admin)\//.test(operation.path) && operation.method !== "get") codes.add("invalid_origin");
  if (/^\/(auth|oauth|admin)\//.test(operation.path)) {
    codes.add("rate_limited");
    codes.add("storage_unavailable");
  }
  const atOAuthEndpoint = operation.path.startsWith("/oauth/");
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const answer = HTTP_ANSWERS[code];
    const status = (atOAuthEndpoint && answer.oauthStatus) || answer.status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return new Map([...byStatus].sort(([a], [b]) => a - b));
}

/** The headers src/errors.ts sets for a code, found by asking it with every detail filled in. */
function headerNamesOf(code: ErrorCode): string[] {
  const sample = new DomainError(code, "", { retryAfterSeconds: 1, allow: "GET", scope: "x", challenge: "Basic" });
  const names = Object.keys(HTTP_ANSWERS[code].headers?.(sample) ?? {});
  for (const name of names) if (!(name in HEADERS)) fail(`describe the header ${name} in src/routes/openapi-document.ts`);
  return names;
}

function pathParameters(params: z.ZodMiniObject): Json[] {
  const { properties = {} } = z.toJSONSchema(params, { io: "input", unrepresentable: "throw", override: tidy }) as { properties?: Record<string, Json> };
  return Object.entries(properties).map(([name, schema]) => ({ name, in: "path", required: true, schema }));
}

/**
 * Says what zod checks the way readers expect: `format` (uuid, email, date-time) without zod's long
 * regular expression, also for a string trimmed before its format check (a pipe, whose input side
 * alone zod describes), and an integer without the safe-integer bounds zod adds to every `z.int()`.
 */
function tidy({ zodSchema, jsonSchema }: { zodSchema: z.core.$ZodType; jsonSchema: { format?: string; pattern?: string; minimum?: number; maximum?: number } }) {
  const { def } = zodSchema._zod;
  if (def.type === "pipe" && !jsonSchema.format) {
    const { format } = (def as z.core.$ZodPipeDef).out._zod.def as { format?: string };
    if (format) jsonSchema.format = format;
  }
  if (jsonSchema.format && jsonSchema.pattern) delete jsonSchema.pattern;
  if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
  if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
}

/**
 * Component schemas take the document's dialect (OpenAPI 3.1: JSON Schema 2020-12) and base URI:
 * no `$schema` or `$id` (zod's `$id` is a fragment, which 2020-12 does not allow) each.
 */
function withoutDialect(schema: Json): Json {
  const { $schema: _dialect, $id: _id, ...rest } = schema;
  return rest;
}

function fail(message: string): never {
  throw new Error(message);
}
