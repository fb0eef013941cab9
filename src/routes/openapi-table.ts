/**
 * The shape of the API description's table (src/routes/openapi-operations.ts) and the shorthands its
 * rows use. Build-time only, like the table.
 */
import type { ZodMiniObject, ZodMiniType } from "zod/mini";
import type { ErrorCode } from "../domain-errors";

/** The security schemes of `components.securitySchemes`. */
export type SecurityScheme = "bearerAuth" | "refreshCookie" | "adminToken" | "resourceServerBasic" | "apiKeyBasic";

/** A header an answer may carry; each is described once in src/routes/openapi-document.ts. */
export type HeaderName = "Set-Cookie" | "Cache-Control" | "ETag";

export interface Answer {
  status: number;
  description: string;
  /** The JSON body, one of src/routes/openapi-responses.ts; none for an empty answer. */
  body?: ZodMiniType;
  headers?: HeaderName[];
}

export interface Operation {
  method: "get" | "post" | "put" | "delete";
  /** The OpenAPI path: `{id}` where the Hono route has `:id`. */
  path: string;
  operationId: string;
  tag: "auth" | "account" | "sessions" | "api-keys" | "oauth" | "admin" | "discovery";
  summary: string;
  description?: string;
  /** Alternatives, any one of which is enough; `[]` in the list means "or none". */
  security?: SecurityScheme[][];
  params?: ZodMiniObject;
  body?: {
    /** The name under `components.schemas`. */
    name: string;
    schema: ZodMiniType;
    /** `json` (default) or `form` (application/x-www-form-urlencoded, the OAuth endpoints). */
    type?: "json" | "form";
    /** Read by the handler itself rather than a validator middleware, and optional. */
    readByHandler?: true;
  };
  answers: Answer[];
  errors?: ErrorCode[];
}

export const bearer: SecurityScheme[][] = [["bearerAuth"]];
export const admin: SecurityScheme[][] = [["adminToken"], ["bearerAuth"]];
export const setsCookie: HeaderName[] = ["Set-Cookie"];
export const noContent = (description: string): Answer => ({ status: 204, description });
export const json = (body: ZodMiniType, description = "OK", status = 200, headers?: HeaderName[]): Answer => ({ status, description, body, ...(headers ? { headers } : {}) });
export const publicDocument = (body: ZodMiniType, description: string): Answer => ({ status: 200, description, body, headers: ["Cache-Control"] });

