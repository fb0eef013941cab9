/**
 * The answers' shapes, for the API description only (src/routes/openapi-operations.ts): the
 * routes build their answers in code and never import this module, so none of it is in the worker
 * bundle. Each export becomes a named schema under `components.schemas`.
 */
import * as z from "zod/mini";
import { HTTP_ANSWERS } from "../errors";

const text = (description: string) => z.string().check(z.describe(description));
const timestamp = (description: string) => z.iso.datetime().check(z.describe(description));
const seconds = (description: string) => z.int().check(z.describe(description));

/** The one error shape of every endpoint (RFC 6749 section 5.2); `Error` in the description. */
const ErrorAnswer = z.object({
  error: z.enum([...new Set(Object.values(HTTP_ANSWERS).map((answer) => answer.error))] as [string, ...string[]]),
  error_description: text("What went wrong, for a developer; never an email's existence, SQL or a stack."),
});
export { ErrorAnswer as Error };

export const User = z.object({
  id: z.uuid(),
  email: z.email(),
  role: text("DEPRECATED, kept one release: the first of `roles` (admin first, then any but user)."),
  roles: z.array(z.string()).check(z.describe("Sorted.")),
  email_verified: z.boolean(),
  created_at: z.iso.datetime(),
});

export const UserAnswer = z.object({ user: User });

const accessToken = {
  access_token: text("An RS256 access token (`typ` at+jwt), to send as `Authorization: Bearer`."),
  token_type: z.literal("Bearer"),
  expires_in: seconds("Seconds until the access token expires."),
};

export const LoginAnswer = z.object({ user: User, ...accessToken });

export const RegisterAnswer = z.object({
  user: User,
  access_token: z.optional(accessToken.access_token),
  token_type: z.optional(accessToken.token_type),
  expires_in: z.optional(accessToken.expires_in),
}).check(z.describe("Without the token members when REQUIRE_VERIFIED_EMAIL is on: the session starts at the first login after verifying."));

export const TokenAnswer = z.object({
  ...accessToken,
  refresh_token: z.optional(text("The next refresh token: at /oauth/token always, at /auth/refresh when the old one came in the body.")),
});

export const ApiKey = z.object({
  id: z.uuid().check(z.describe("The key's id: its client_id at the token endpoint.")),
  name: z.string(),
  prefix: z.string().check(z.describe("The key's first characters, to recognise it.")),
  scopes: z.array(z.string()),
  created_at: z.iso.datetime(),
  last_used_at: z.nullable(z.iso.datetime().check(z.describe("Updated at most once an hour."))),
  expires_at: z.nullable(z.iso.datetime()),
});
export const ApiKeyList = z.object({ api_keys: z.array(ApiKey) });

const createdKey = {
  id: ApiKey.shape.id,
  key: z.string().check(z.regex(/^etsk_[A-Za-z0-9_-]{43}$/), z.describe("The secret: shown in this answer only, never again.")),
  name: ApiKey.shape.name,
  prefix: ApiKey.shape.prefix,
  scopes: ApiKey.shape.scopes,
  created_at: ApiKey.shape.created_at,
  expires_at: ApiKey.shape.expires_at,
};
export const CreatedApiKey = z.object(createdKey);
export const CreatedServiceAccountKey = z.object({ ...createdKey, service_account: z.string() });
export const ServiceAccountKeyList = z.object({ service_account: z.string(), api_keys: z.array(ApiKey) });

export const Session = z.object({
  id: z.uuid(),
  client_id: z.string(),
  created_at: z.iso.datetime(),
  last_used_at: z.iso.datetime(),
  expires_at: z.iso.datetime(),
  user_agent: z.nullable(z.string()),
  current: z.boolean().check(z.describe("True for the session of the access token that asks.")),
});

export const SessionList = z.object({ sessions: z.array(Session) });

export const RoleGrant = z.object({
  role: z.string(),
  granted_at: timestamp("When the role was granted."),
  granted_by: z.nullable(text("Who granted it: a user id or `admin-api-token`.")),
});

export const UserRoles = z.object({ user_id: z.uuid(), roles: z.array(RoleGrant) });

export const Introspection = z.object({
  active: z.boolean(),
  token_type: z.optional(z.literal("Bearer")),
  iss: z.optional(z.string()),
  aud: z.optional(z.string()),
  sub: z.optional(z.string()),
  iat: z.optional(z.int()),
  exp: z.optional(z.int()),
  jti: z.optional(z.string()),
  client_id: z.optional(z.string()),
  sid: z.optional(z.string()),
  roles: z.optional(z.array(z.string())),
  scope: z.optional(z.string()),
  role: z.optional(z.string()),
  email_verified: z.optional(z.boolean()),
}).check(z.describe("RFC 7662: only `active: false` for a token that is invalid, expired, revoked or whose session ended."));

export const UserInfo = z.object({
  sub: z.uuid(),
  email: z.email(),
  email_verified: z.boolean(),
  roles: z.array(z.string()),
  role: text("DEPRECATED, kept one release."),
});

export const JsonWebKeySet = z.object({
  keys: z.array(z.looseObject({ kty: z.literal("RSA"), kid: z.string(), alg: z.literal("RS256"), use: z.literal("sig"), n: z.string(), e: z.string() })),
});

export const AuthorizationServerMetadata = z.object({
  issuer: z.url(),
  jwks_uri: z.url(),
  token_endpoint: z.url(),
  token_endpoint_auth_methods_supported: z.array(z.string()),
  grant_types_supported: z.array(z.string()),
  response_types_supported: z.array(z.string()).check(z.describe("Empty: there is no authorization endpoint.")),
  revocation_endpoint: z.url(),
  revocation_endpoint_auth_methods_supported: z.array(z.string()),
  introspection_endpoint: z.url(),
  introspection_endpoint_auth_methods_supported: z.array(z.string()),
  userinfo_endpoint: z.url(),
  claims_supported: z.array(z.string()),
});

export const OpenIdConfiguration = z.extend(AuthorizationServerMetadata, {
  subject_types_supported: z.array(z.string()),
  id_token_signing_alg_values_supported: z.array(z.string()),
});

export const Health = z.object({ status: z.literal("ok") });

export const OpenApiDocument = z.looseObject({ openapi: z.literal("3.1.0") }).check(z.describe("This document."));
