/** Small helpers shared by the route modules. */
import type { Context } from "hono";
import { zValidator } from "@hono/zod-validator";
import * as z from "zod/mini";
import { en } from "zod/locales";
import { getConfig } from "../config";
import { openDatabase } from "../db/client";
import type { AppEnv } from "../env";
import { invalidRequest } from "../errors";
import { getKeyMaterial } from "../keys";
import type { ClientInfo, SessionDeps } from "../sessions/service";

// zod/mini keeps the bundle small; English messages make 400s name what is wrong.
z.config(en());

export async function sessionDeps(c: Context<AppEnv>): Promise<SessionDeps> {
  return {
    db: openDatabase(c.env.DB),
    kv: c.env.REVOCATIONS,
    config: getConfig(c.env),
    keys: await getKeyMaterial(c.env),
    familyLimiter: c.env.REFRESH_FAMILY_RATE_LIMITER,
  };
}

export function clientInfo(c: Context): ClientInfo {
  return { ip: c.req.header("CF-Connecting-IP") ?? null, userAgent: c.req.header("User-Agent") ?? null };
}

/** zod-validated JSON body; a failure is 400 `invalid_request` naming the field. */
export const jsonBody = <T extends z.ZodMiniType>(schema: T) =>
  zValidator("json", schema, (result) => {
    if (!result.success) {
      const issue = result.error.issues[0];
      const field = issue?.path.length ? issue.path.join(".") : "body";
      throw invalidRequest(`${field}: ${issue?.message ?? "invalid"}`);
    }
  });

export const boundedString = (min: number, max: number) => z.string().check(z.minLength(min), z.maxLength(max));

/** Token responses are never cached (RFC 6749 section 5.1). */
export function noStore(c: Context) {
  c.header("Cache-Control", "no-store");
  c.header("Pragma", "no-cache");
}
