/** The rows of the API description's table for the admin API and the API keys (src/routes/openapi-operations.ts). */
import { ApiKeyIdParams, NewKeyBody } from "./api-keys";
import { ServiceAccountKeyParams, ServiceAccountParams, UserIdParams, UserRoleParams } from "./admin";
import * as answers from "./openapi-responses";
import { admin, bearer, json, noContent, type Operation } from "./openapi-table";

const newKey = { name: "NewApiKey", schema: NewKeyBody };

/** A user's own API keys: a signed-in user's session, never a key's token. */
export const API_KEY_OPERATIONS: Operation[] = [
  {
    method: "post", path: "/auth/api-keys", operationId: "createApiKey", tag: "api-keys",
    summary: "Create an API key (its secret is answered once, here only)",
    description: "`scopes`: a subset of the user's permissions now (default: all of them). At most 20 usable keys per user.",
    security: bearer,
    body: newKey,
    answers: [json(answers.CreatedApiKey, "Created", 201)],
  },
  {
    method: "get", path: "/auth/api-keys", operationId: "listApiKeys", tag: "api-keys",
    summary: "The user's API keys (never their secrets)",
    security: bearer,
    answers: [json(answers.ApiKeyList)],
  },
  {
    method: "delete", path: "/auth/api-keys/{id}", operationId: "revokeApiKey", tag: "api-keys",
    summary: "Revoke one API key and every access token it issued",
    description: "Idempotent; another user's key is 404.",
    security: bearer,
    params: ApiKeyIdParams,
    answers: [noContent("Revoked")],
    errors: ["not_found"],
  },
  {
    method: "delete", path: "/auth/api-keys", operationId: "revokeAllApiKeys", tag: "api-keys",
    summary: "Revoke every API key of the user",
    security: bearer,
    answers: [noContent("Revoked")],
  },
];

/** The operator's API: users, roles and service accounts. */
export const ADMIN_OPERATIONS: Operation[] = [
  {
    method: "post", path: "/admin/users/{id}/disable", operationId: "disableUser", tag: "admin",
    summary: "Disable a user and revoke their sessions",
    description: "Needs the permission `users:manage`.",
    security: admin,
    params: UserIdParams,
    answers: [noContent("Disabled")],
    errors: ["insufficient_scope", "not_found"],
  },
  {
    method: "post", path: "/admin/users/{id}/enable", operationId: "enableUser", tag: "admin",
    summary: "Enable a disabled user",
    description: "Needs the permission `users:manage`.",
    security: admin,
    params: UserIdParams,
    answers: [noContent("Enabled")],
    errors: ["insufficient_scope", "not_found"],
  },
  {
    method: "get", path: "/admin/users/{id}/roles", operationId: "listUserRoles", tag: "admin",
    summary: "A user's roles",
    description: "Needs the permission `roles:manage`.",
    security: admin,
    params: UserIdParams,
    answers: [json(answers.UserRoles)],
    errors: ["insufficient_scope", "not_found"],
  },
  {
    method: "put", path: "/admin/users/{id}/roles/{role}", operationId: "grantUserRole", tag: "admin",
    summary: "Grant a role",
    description: "Needs the permission `roles:manage`. Role names: `^[a-z][a-z0-9_:-]{0,31}$`, at most 16 per user.",
    security: admin,
    params: UserRoleParams,
    answers: [json(answers.RoleGrant, "Already granted"), json(answers.RoleGrant, "Granted", 201)],
    errors: ["insufficient_scope", "not_found"],
  },
  {
    method: "delete", path: "/admin/users/{id}/roles/{role}", operationId: "revokeUserRole", tag: "admin",
    summary: "Revoke a role",
    description: "Needs the permission `roles:manage`. Cuts off the user's access tokens; sessions go on.",
    security: admin,
    params: UserRoleParams,
    answers: [noContent("Revoked")],
    errors: ["insufficient_scope", "not_found"],
  },
  {
    method: "delete", path: "/admin/users/{id}/api-keys", operationId: "revokeUserApiKeys", tag: "admin",
    summary: "Revoke every API key of a user",
    description: "Needs the permission `users:manage`. A disable alone only suspends them.",
    security: admin,
    params: UserIdParams,
    answers: [noContent("Revoked")],
    errors: ["insufficient_scope"],
  },
  {
    method: "post", path: "/admin/service-accounts/{name}/api-keys", operationId: "createServiceAccountKey", tag: "admin",
    summary: "Create an API key of a service account (a key that belongs to no person)",
    description: "Needs the permission `users:manage`. `scopes` are required: permissions that ROLE_PERMISSIONS names.",
    security: admin,
    params: ServiceAccountParams,
    body: newKey,
    answers: [json(answers.CreatedServiceAccountKey, "Created", 201)],
    errors: ["insufficient_scope"],
  },
  {
    method: "get", path: "/admin/service-accounts/{name}/api-keys", operationId: "listServiceAccountKeys", tag: "admin",
    summary: "The API keys of a service account",
    description: "Needs the permission `users:manage`.",
    security: admin,
    params: ServiceAccountParams,
    answers: [json(answers.ServiceAccountKeyList)],
    errors: ["insufficient_scope"],
  },
  {
    method: "delete", path: "/admin/service-accounts/{name}/api-keys/{id}", operationId: "revokeServiceAccountKey", tag: "admin",
    summary: "Revoke one API key of a service account",
    description: "Needs the permission `users:manage`. Idempotent.",
    security: admin,
    params: ServiceAccountKeyParams,
    answers: [noContent("Revoked")],
    errors: ["insufficient_scope", "not_found"],
  },
  {
    method: "delete", path: "/admin/service-accounts/{name}/api-keys", operationId: "revokeAllServiceAccountKeys", tag: "admin",
    summary: "Revoke every API key of a service account",
    description: "Needs the permission `users:manage`.",
    security: admin,
    params: ServiceAccountParams,
    answers: [noContent("Revoked")],
    errors: ["insufficient_scope"],
  },
];
