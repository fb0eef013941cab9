/** The service's settings, parsed once per env object from the worker's vars (see wrangler.toml). */
import * as z from "zod/mini";
import { ConfigurationError } from "./domain-errors";

/** Clock leeway every verifier of this service's access tokens allows (DESIGN.md, Tokens). */
export const CLOCK_TOLERANCE_SECONDS = 60;

/** Browsers cap cookie Max-Age at 400 days; no lifetime here may exceed it. */
const MAX_LIFETIME_SECONDS = 400 * 24 * 3600;
const seconds = (fallback: number, min = 0) =>
  z._default(z.coerce.number().check(z.int(), z.minimum(min), z.maximum(MAX_LIFETIME_SECONDS)), fallback);
const BINDING_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CLIENT_ID = /^[A-Za-z0-9._~-]{1,64}$/;

/** A role name: what `user_roles` holds and the access token's `roles` claim lists. */
export const ROLE_NAME = /^[a-z][a-z0-9_:-]{0,31}$/;
/** A permission: an RFC 6749 scope-token (no space, quote or backslash), at most 64 characters. */
export const PERMISSION_NAME = /^[\x21\x23-\x5B\x5D-\x7E]{1,64}$/;
/**
 * Every permission of ROLE_PERMISSIONS, joined with spaces, fits in this many characters: the
 * largest `scope` claim a token can carry, so that tokens stay small (src/roles).
 */
export const MAX_SCOPE_LENGTH = 256;
/** The map when ROLE_PERMISSIONS is not set (wrangler.toml sets the same). */
const DEFAULT_ROLE_PERMISSIONS = '{"user": ["profile:read"], "admin": ["users:manage", "roles:manage"]}';

/** The client every request that names none belongs to; its origins are ALLOWED_ORIGINS. */
export const DEFAULT_CLIENT_ID = "web";

/** `OAUTH_CLIENTS`: `{"<client id>": {"origins": ["https://app.example.com"]}, "ios": {}}`. */
const ClientsSchema = z.record(z.string().check(z.regex(CLIENT_ID)), z.object({ origins: z.optional(z.array(z.string())) }));

const ConfigSchema = z.object({
  ISSUER: z._default(z.url(), "http://localhost:8787"),
  AUDIENCE: z._default(z.string().check(z.minLength(1)), "http://localhost:8787"),
  ACCESS_TOKEN_TTL_SECONDS: seconds(900, 1),
  REFRESH_TOKEN_TTL_SECONDS: seconds(7 * 24 * 3600, 1),
  SESSION_ABSOLUTE_TTL_SECONDS: seconds(30 * 24 * 3600, 1),
  SESSION_IDLE_TIMEOUT_SECONDS: seconds(7 * 24 * 3600, 1),
  REFRESH_GRACE_SECONDS: seconds(10, 0),
  ALLOWED_ORIGINS: z._default(z.string(), "http://localhost:5173"),
  COOKIE_SAMESITE: z._default(z.enum(["Strict", "Lax", "None"]), "Strict"),
  USER_DATABASES: z._default(z.string(), "DB"),
  OAUTH_CLIENTS: z._default(z.string(), "{}"),
  ROLE_PERMISSIONS: z._default(z.string(), DEFAULT_ROLE_PERMISSIONS),
  EMAIL_FROM: z.optional(z.email()),
  EMAIL_FROM_NAME: z.optional(z.string().check(z.maxLength(64), z.regex(/^[^\r\n<>"]*$/))),
  APP_URL: z._default(z.url({ protocol: /^https?$/ }), "http://localhost:5173"),
  EMAIL_VERIFICATION_TTL_SECONDS: seconds(24 * 3600, 60),
  PASSWORD_RESET_TTL_SECONDS: seconds(30 * 60, 60),
  EMAIL_CHANGE_TTL_SECONDS: seconds(3600, 60),
  REQUIRE_VERIFIED_EMAIL: z._default(z.enum(["true", "false"]), "false"),
  DEV_PRINT_EMAIL_LINKS: z._default(z.enum(["true", "false"]), "false"),
});

/** `ROLE_PERMISSIONS`: `{"<role>": ["<permission>", ...], ...}`. */
const RolePermissionsSchema = z.record(z.string().check(z.regex(ROLE_NAME)), z.array(z.string().check(z.regex(PERMISSION_NAME))));

/** Role -> the permissions it grants. A role that is not a key grants none. */
export type RolePermissions = ReadonlyMap<string, readonly string[]>;

/** A public OAuth client (no secret); a browser client lists the origins its pages run on. */
export interface ClientConfig {
  id: string;
  origins: readonly string[];
}

/** Settings of the service (times in ms unless the name says seconds). */
export interface Config {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlMs: number;
  sessionAbsoluteTtlMs: number;
  sessionIdleTimeoutMs: number;
  refreshGraceMs: number;
  /** Every client's origins (the default client's are ALLOWED_ORIGINS): who may use the cookie and CORS. */
  allowedOrigins: ReadonlySet<string>;
  /** The configured OAuth clients, the default one included. */
  clients: ReadonlyMap<string, ClientConfig>;
  cookieSameSite: "Strict" | "Lax" | "None";
  /** D1 binding names users are spread over, in placement order (DESIGN.md, Scale). */
  userDatabases: readonly string[];
  /** ROLE_PERMISSIONS: what each role grants, as the access token's `scope`. */
  rolePermissions: RolePermissions;
  /** Account emails (verification, reset, email change); see {@link EmailConfig}. */
  email: EmailConfig;
}

/** Settings of the account-lifecycle emails (README.md, "Account emails"). */
export interface EmailConfig {
  /** Sender address; undefined when the worker has no EMAIL binding (emails are off). */
  from?: { email: string; name?: string };
  /** The front end's base URL: links are `${appUrl}#/<page>?token=...`. */
  appUrl: string;
  verificationTtlMs: number;
  resetTtlMs: number;
  changeTtlMs: number;
  /** When true, an unverified user cannot log in (403 `email_not_verified`) and registering starts no session. */
  requireVerified: boolean;
  /** Local development only: log each link to the console (never when the issuer is not localhost). */
  printLinks: boolean;
}

const cache = new WeakMap<object, Config>();

/** Parses and caches the config for this env object; a bad value is a {@link ConfigurationError}. */
export function getConfig(env: object): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigurationError(`Invalid setting ${issue?.path.join(".")}: ${issue?.message}`);
  }
  const v = parsed.data;
  const list = (text: string) =>
    text
      .split(",")
      .map((item) => item.trim())
      .filter(Boolean);
  const userDatabases = list(v.USER_DATABASES);
  if (userDatabases.length === 0 || userDatabases.some((name) => !BINDING_NAME.test(name)) || new Set(userDatabases).size !== userDatabases.length) {
    throw new ConfigurationError("USER_DATABASES must list distinct D1 binding names, e.g. \"DB\" or \"DB,DB_2\".");
  }
  const clients = parseClients(v.OAUTH_CLIENTS, list(v.ALLOWED_ORIGINS));
  const issuer = v.ISSUER.replace(/\/$/, "");
  // Every endpoint is served at the root: an issuer with a path would name endpoints that do not exist.
  const issuerUrl = new URL(issuer);
  if (issuerUrl.pathname !== "/" || issuerUrl.search || issuerUrl.hash || issuerUrl.username || issuerUrl.password) throw new ConfigurationError(`ISSUER must be an origin (scheme, host, port), without a path, query or fragment: ${JSON.stringify(v.ISSUER)}.`);
  const config: Config = {
    issuer,
    audience: v.AUDIENCE,
    accessTokenTtlSeconds: v.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlMs: v.REFRESH_TOKEN_TTL_SECONDS * 1000,
    sessionAbsoluteTtlMs: v.SESSION_ABSOLUTE_TTL_SECONDS * 1000,
    sessionIdleTimeoutMs: v.SESSION_IDLE_TIMEOUT_SECONDS * 1000,
    refreshGraceMs: v.REFRESH_GRACE_SECONDS * 1000,
    allowedOrigins: new Set([...clients.values()].flatMap((client) => client.origins)),
    clients,
    cookieSameSite: v.COOKIE_SAMESITE,
    userDatabases,
    rolePermissions: parseRolePermissions(v.ROLE_PERMISSIONS),
    email: emailConfig(env, v, issuer),
  };
  cache.set(env, config);
  return config;
}

/** Emails are on when the EMAIL binding exists; then the sender address is required. */
function emailConfig(env: object, v: z.infer<typeof ConfigSchema>, issuer: string): EmailConfig {
  const hasBinding = typeof (env as { EMAIL?: { send?: unknown } }).EMAIL?.send === "function";
  if (hasBinding && !v.EMAIL_FROM) throw new ConfigurationError("EMAIL_FROM must be set to the sender address when the EMAIL binding exists.");
  const requireVerified = v.REQUIRE_VERIFIED_EMAIL === "true";
  if (requireVerified && !hasBinding) throw new ConfigurationError("REQUIRE_VERIFIED_EMAIL needs the EMAIL binding: nobody could verify an address.");
  if (v.APP_URL.includes("#")) throw new ConfigurationError("APP_URL must not hold a fragment: links add #/<page>?token=... to it.");
  const name = v.EMAIL_FROM_NAME?.trim();
  return {
    from: hasBinding ? { email: v.EMAIL_FROM!, ...(name ? { name } : {}) } : undefined,
    appUrl: v.APP_URL.replace(/\/$/, ""),
    verificationTtlMs: v.EMAIL_VERIFICATION_TTL_SECONDS * 1000,
    resetTtlMs: v.PASSWORD_RESET_TTL_SECONDS * 1000,
    changeTtlMs: v.EMAIL_CHANGE_TTL_SECONDS * 1000,
    requireVerified,
    // Defence in depth: a var copied into a deployment still prints nothing unless the issuer is local.
    printLinks: v.DEV_PRINT_EMAIL_LINKS === "true" && isLocalhost(issuer),
  };
}

function isLocalhost(url: string): boolean {
  const host = new URL(url).hostname;
  return host === "localhost" || host === "127.0.0.1" || host === "[::1]";
}

/** A setting holding JSON, validated by `schema`; a ConfigurationError names the setting and the fault. */
function parseJsonSetting<T extends z.ZodMiniType>(name: string, json: string, schema: T): z.infer<T> {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ConfigurationError(`${name} is not valid JSON.`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigurationError(`Invalid ${name} ${issue?.path.join(".")}: ${issue?.message}`);
  }
  return parsed.data;
}

function parseClients(json: string, defaultOrigins: string[]): Map<string, ClientConfig> {
  const parsed = parseJsonSetting("OAUTH_CLIENTS", json, ClientsSchema);
  const origin = (text: string) => text.trim().replace(/\/$/, "");
  const clients = new Map<string, ClientConfig>([[DEFAULT_CLIENT_ID, { id: DEFAULT_CLIENT_ID, origins: defaultOrigins.map(origin) }]]);
  for (const [id, client] of Object.entries(parsed)) {
    const origins = [...(id === DEFAULT_CLIENT_ID ? defaultOrigins : []), ...(client.origins ?? [])].map(origin);
    clients.set(id, { id, origins: [...new Set(origins)] });
  }
  return clients;
}

/**
 * Parses ROLE_PERMISSIONS. Refused: invalid JSON, a role or permission name outside the grammar, and
 * more permissions in all than fit in {@link MAX_SCOPE_LENGTH} (the largest `scope` a token can carry).
 */
function parseRolePermissions(json: string): RolePermissions {
  const parsed = parseJsonSetting("ROLE_PERMISSIONS", json, RolePermissionsSchema);
  const map = new Map(Object.entries(parsed).map(([role, permissions]) => [role, [...new Set(permissions)].sort()]));
  const everyPermission = new Set([...map.values()].flat());
  if ([...everyPermission].join(" ").length > MAX_SCOPE_LENGTH) {
    throw new ConfigurationError(`ROLE_PERMISSIONS names more permissions than fit in a token: at most ${MAX_SCOPE_LENGTH} characters in all, joined by spaces.`);
  }
  return map;
}
