/**
 * The API description's one table: per route, what the OpenAPI document says beyond what the code
 * already knows. Request schemas are the very objects the routes validate with (imported from the
 * route modules); test/openapi.test.ts checks that every route is here and that each validator's
 * schema is the one named here. Only the generator (npm run openapi:generate) and the tests import
 * this module: it is not in the worker bundle.
 *
 * Errors: list the codes the route's own logic or service raises. src/routes/openapi-document.ts
 * adds those every route of its kind can answer: invalid_request (bodies, parameters),
 * payload_too_large (bodies), token_required/invalid_token (Bearer), invalid_origin (unsafe
 * methods under /auth and /oauth), rate_limited and storage_unavailable (/auth, /oauth, /admin).
 */
import { ChangePasswordBody } from "./account";
import { API_KEY_OPERATIONS, ADMIN_OPERATIONS } from "./openapi-admin-operations";
import { LoginBody, RefreshBody, RegisterBody } from "./auth";
import { ChangeEmailBody, ForgotPasswordBody, ResendBody, ResetPasswordBody, TokenBody } from "./lifecycle";
import { IntrospectionRequest, RevocationRequest, TokenRequest } from "./oauth";
import * as answers from "./openapi-responses";
import { SessionIdParams } from "./sessions";
import { bearer, json, noContent, publicDocument, setsCookie, type Operation } from "./openapi-table";

export type { Answer, HeaderName, Operation, SecurityScheme } from "./openapi-table";

/** Every public endpoint, in the order of the document. */
export const OPERATIONS: Operation[] = [
  {
    method: "post", path: "/auth/register", operationId: "register", tag: "auth",
    summary: "Create an account and start a session",
    description: "Sets the refresh cookie when a session starts. A common or short password is refused naming `password`.",
    body: { name: "RegisterRequest", schema: RegisterBody },
    answers: [json(answers.RegisterAnswer, "Registered", 201, setsCookie)],
    errors: ["invalid_client", "email_taken"],
  },
  {
    method: "post", path: "/auth/login", operationId: "login", tag: "auth",
    summary: "Sign in with email and password",
    description: "Sets the refresh cookie. Failed attempts count towards a lockout per email and network (429).",
    body: { name: "LoginRequest", schema: LoginBody },
    answers: [json(answers.LoginAnswer, "Signed in", 200, setsCookie)],
    errors: ["invalid_credentials", "email_not_verified", "invalid_client"],
  },
  {
    method: "post", path: "/auth/refresh", operationId: "refresh", tag: "auth",
    summary: "Rotate the refresh token for a new access token",
    description: "The refresh token comes from the cookie, or else from the body; the new one goes back the same way. A reused token revokes its whole session (401 invalid_grant, cookie cleared).",
    security: [["refreshCookie"], []],
    body: { name: "RefreshRequest", schema: RefreshBody },
    answers: [json(answers.TokenAnswer, "Rotated", 200, setsCookie)],
    errors: ["invalid_grant", "invalid_client", "retry_later"],
  },
  {
    method: "post", path: "/auth/logout", operationId: "logout", tag: "auth",
    summary: "End this session",
    description: "Revokes the session of the refresh token (cookie or body) and of the access token, if given; 204 even when there is nothing to revoke.",
    security: [["refreshCookie"], ["bearerAuth"], []],
    body: { name: "RefreshRequest", schema: RefreshBody, readByHandler: true },
    answers: [{ status: 204, description: "Signed out; the cookie is cleared", headers: setsCookie }],
    errors: ["invalid_request"],
  },
  {
    method: "post", path: "/auth/logout-all", operationId: "logoutAll", tag: "auth",
    summary: "End every session of the user",
    security: bearer,
    answers: [{ status: 204, description: "Every session revoked; the cookie is cleared", headers: setsCookie }],
  },
  {
    method: "get", path: "/auth/me", operationId: "me", tag: "account",
    summary: "The signed-in user",
    security: bearer,
    answers: [json(answers.UserAnswer)],
  },
  {
    method: "post", path: "/auth/password", operationId: "changePassword", tag: "account",
    summary: "Change the password",
    description: "Keeps this session; revokes every other one.",
    security: bearer,
    body: { name: "ChangePasswordRequest", schema: ChangePasswordBody },
    answers: [noContent("Changed")],
    errors: ["invalid_credentials"],
  },
  {
    method: "post", path: "/auth/email/verify", operationId: "verifyEmail", tag: "account",
    summary: "Verify the email with the link's token",
    description: "404 when the service sends no emails.",
    body: { name: "LinkTokenRequest", schema: TokenBody },
    answers: [noContent("Verified")],
    errors: ["not_found"],
  },
  {
    method: "post", path: "/auth/email/verify/resend", operationId: "resendVerification", tag: "account",
    summary: "Send a new verification link",
    description: "For the signed-in user (sent before the answer), or without a token for `email` (always 202, whether or not it has an account).",
    security: [["bearerAuth"], []],
    body: { name: "ResendVerificationRequest", schema: ResendBody },
    answers: [{ status: 202, description: "Accepted" }],
    errors: ["not_found", "email_unavailable"],
  },
  {
    method: "post", path: "/auth/password/forgot", operationId: "forgotPassword", tag: "account",
    summary: "Email a password-reset link",
    description: "Always 202, whether or not the address has an account.",
    body: { name: "ForgotPasswordRequest", schema: ForgotPasswordBody },
    answers: [{ status: 202, description: "Accepted" }],
    errors: ["not_found"],
  },
  {
    method: "post", path: "/auth/password/reset", operationId: "resetPassword", tag: "account",
    summary: "Set a new password with the link's token",
    description: "Revokes every session of the user.",
    body: { name: "ResetPasswordRequest", schema: ResetPasswordBody },
    answers: [noContent("Password set")],
    errors: ["not_found"],
  },
  {
    method: "post", path: "/auth/email/change", operationId: "changeEmail", tag: "account",
    summary: "Ask to change the email",
    description: "Emails a confirmation link to the new address and a notice to the current one; nothing changes until the link is used.",
    security: bearer,
    body: { name: "ChangeEmailRequest", schema: ChangeEmailBody },
    answers: [{ status: 202, description: "Accepted" }],
    errors: ["invalid_credentials", "email_taken", "not_found", "email_unavailable"],
  },
  {
    method: "post", path: "/auth/email/change/confirm", operationId: "confirmEmailChange", tag: "account",
    summary: "Confirm the new email with the link's token",
    body: { name: "LinkTokenRequest", schema: TokenBody },
    answers: [noContent("Changed")],
    errors: ["email_taken", "not_found"],
  },
  {
    method: "get", path: "/auth/sessions", operationId: "listSessions", tag: "sessions",
    summary: "The user's live sessions (devices)",
    security: bearer,
    answers: [json(answers.SessionList)],
  },
  {
    method: "delete", path: "/auth/sessions/{id}", operationId: "deleteSession", tag: "sessions",
    summary: "Revoke one of the user's sessions",
    description: "Idempotent: revoking a revoked session answers 204 again.",
    security: bearer,
    params: SessionIdParams,
    answers: [noContent("Revoked")],
    errors: ["not_found"],
  },
  ...API_KEY_OPERATIONS,
  {
    method: "post", path: "/oauth/token", operationId: "token", tag: "oauth",
    summary: "Token endpoint: the refresh_token grant (RFC 6749 section 6) and client_credentials with an API key (section 4.4)",
    description:
      "refresh_token: for public clients, `client_id` is required, no client authentication; invalid_grant is 400 here. " +
      "client_credentials: the API key's id and secret with HTTP Basic or in the form (`client_id`, `client_secret`); an optional `scope` narrows the key's scopes; no refresh token.",
    security: [["apiKeyBasic"], []],
    body: { name: "TokenRequest", schema: TokenRequest, type: "form" },
    answers: [json(answers.TokenAnswer)],
    errors: ["invalid_grant", "invalid_client", "invalid_scope", "unsupported_grant_type", "retry_later"],
  },
  {
    method: "post", path: "/oauth/revoke", operationId: "revoke", tag: "oauth",
    summary: "Revoke a refresh or access token (RFC 7009)",
    description:
      "200 whether or not the token was valid, known or already revoked. A public client names itself with `client_id` (a refresh token ends its session, an access token is refused); " +
      "an API key authenticates like at the token endpoint (HTTP Basic, or `client_id` and `client_secret`) and revokes access tokens it was issued.",
    security: [["apiKeyBasic"], []],
    body: { name: "RevocationRequest", schema: RevocationRequest, type: "form" },
    answers: [{ status: 200, description: "Revoked, or nothing to revoke" }],
    errors: ["invalid_client"],
  },
  {
    method: "post", path: "/oauth/introspect", operationId: "introspect", tag: "oauth",
    summary: "Introspect an access token (RFC 7662)",
    description: "For resource servers (RESOURCE_SERVERS): HTTP Basic, or `client_id` and `client_secret` in the form. Checks revocation and the session in D1. No CORS.",
    security: [["resourceServerBasic"], []],
    body: { name: "IntrospectionRequest", schema: IntrospectionRequest, type: "form" },
    answers: [json(answers.Introspection)],
    errors: ["invalid_client"],
  },
  {
    method: "get", path: "/oauth/userinfo", operationId: "userinfo", tag: "oauth",
    summary: "OIDC UserInfo (OIDC Core 5.3)",
    security: bearer,
    answers: [json(answers.UserInfo)],
  },
  {
    method: "post", path: "/oauth/userinfo", operationId: "userinfoPost", tag: "oauth",
    summary: "OIDC UserInfo, by POST",
    security: bearer,
    answers: [json(answers.UserInfo)],
  },
  ...ADMIN_OPERATIONS,
  {
    method: "get", path: "/.well-known/jwks.json", operationId: "jwks", tag: "discovery",
    summary: "The public signing keys (JWKS)",
    answers: [{ status: 200, description: "OK", body: answers.JsonWebKeySet, headers: ["Cache-Control", "ETag"] }, { status: 304, description: "Not modified (If-None-Match)" }],
  },
  {
    method: "get", path: "/.well-known/oauth-authorization-server", operationId: "authorizationServerMetadata", tag: "discovery",
    summary: "Authorization server metadata (RFC 8414)",
    answers: [publicDocument(answers.AuthorizationServerMetadata, "OK")],
  },
  {
    method: "get", path: "/.well-known/openid-configuration", operationId: "openidConfiguration", tag: "discovery",
    summary: "OpenID Provider metadata (OIDC Discovery 1.0)",
    answers: [publicDocument(answers.OpenIdConfiguration, "OK")],
  },
  {
    method: "get", path: "/openapi.json", operationId: "openapi", tag: "discovery",
    summary: "This API description (OpenAPI 3.1)",
    answers: [publicDocument(answers.OpenApiDocument, "OK")],
  },
  {
    method: "get", path: "/health", operationId: "health", tag: "discovery",
    summary: "Liveness",
    answers: [json(answers.Health)],
  },
];
