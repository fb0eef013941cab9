/** What the route modules share: the caller's info, validated bodies and params. */
import type { Context } from "hono";
import { zValidator } from "@hono/zod-validator";
import * as z from "zod/mini";
import { en } from "zod/locales";
import type { ClientInfo } from "../client-info";
import { invalidRequest } from "../domain-errors";
import type { AppEnv } from "../app-env";
import { clientIp } from "../middleware/rate-limit";

// zod/mini keeps the bundle small; English messages make 400s name what is wrong.
z.config(en());

export function clientInfo(c: Context<AppEnv>): ClientInfo {
  return { ip: clientIp(c), userAgent: c.req.header("User-Agent") ?? null };
}

/** Work the answer must not wait for (or show): the request's `waitUntil`. */
export function background(c: Context<AppEnv>): (task: Promise<void>) => void {
  return (task) => c.executionCtx.waitUntil(task);
}

const firstIssue = (error: z.core.$ZodError) => {
  const issue = error.issues[0];
  return invalidRequest(issue?.path.length ? issue.path.join(".") : "body", issue?.message ?? "invalid");
};

/**
 * What a validator middleware checks, kept on the middleware itself: the API description
 * (src/routes/openapi-operations.ts) must name these very schemas, and test/openapi.test.ts checks it.
 */
export interface Validates {
  target: "json" | "form" | "param";
  schema: z.ZodMiniType;
}

const validating = <M extends object>(middleware: M, validates: Validates) => Object.assign(middleware, { validates });

/** zod-validated JSON body; a failure is 400 `invalid_request` naming the field. */
export const jsonBody = <T extends z.ZodMiniType>(schema: T) =>
  validating(
    zValidator("json", schema, (result) => {
      if (!result.success) throw firstIssue(result.error);
    }),
    { target: "json", schema },
  );

/** RFC 6749 section 3.1: a parameter sent without a value is treated as omitted. */
const withoutEmptyValues = (form: unknown) => (form !== null && typeof form === "object" ? Object.fromEntries(Object.entries(form).filter(([, value]) => value !== "")) : form);

/**
 * zod-validated `application/x-www-form-urlencoded` body (the OAuth endpoints); any other content
 * type validates as an empty form, and a parameter sent twice fails (RFC 6749 section 3.2).
 */
export const formBody = <T extends z.ZodMiniType>(schema: T) =>
  validating(
    zValidator("form", z.pipe(z.transform(withoutEmptyValues), schema), (result) => {
      if (!result.success) throw firstIssue(result.error as z.core.$ZodError);
    }),
    { target: "form", schema },
  );

/** zod-validated path parameters; a failure is 400 `invalid_request` naming the parameter. */
export const pathParams = <T extends z.ZodMiniType>(schema: T) =>
  validating(
    zValidator("param", schema, (result) => {
      if (!result.success) throw firstIssue(result.error);
    }),
    { target: "param", schema },
  );

export const boundedString = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));
/** An optional `client_id` (RFC 6749 section 2.2): which configured client a request comes from. */
export const clientIdField = z.optional(boundedString(1, 64));

export const email = z.pipe(z.string().check(z.trim(), z.maxLength(254)), z.email());
