import * as z from "zod/mini";
import type { Env } from "./env";

/** The signing key or another required setting is missing or unusable. Never a fallback. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigurationError";
  }
}

/** Browsers cap cookie Max-Age at 400 days; no lifetime here may exceed it. */
const MAX_LIFETIME_SECONDS = 400 * 24 * 3600;
const seconds = (fallback: number, min = 0) =>
  z._default(z.coerce.number().check(z.int(), z.minimum(min), z.maximum(MAX_LIFETIME_SECONDS)), fallback);

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
});

/** Settings of the service, parsed from the worker's vars (see wrangler.toml). */
export interface Config {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlMs: number;
  sessionAbsoluteTtlMs: number;
  sessionIdleTimeoutMs: number;
  refreshGraceMs: number;
  allowedOrigins: ReadonlySet<string>;
  cookieSameSite: "Strict" | "Lax" | "None";
}

const cache = new WeakMap<object, Config>();

/** Parses and caches the config for this env object; a bad value is a startup-class error. */
export function getConfig(env: Env): Config {
  const cached = cache.get(env);
  if (cached) return cached;
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigurationError(`Invalid setting ${issue?.path.join(".")}: ${issue?.message}`);
  }
  const v = parsed.data;
  const config: Config = {
    issuer: v.ISSUER.replace(/\/$/, ""),
    audience: v.AUDIENCE,
    accessTokenTtlSeconds: v.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlMs: v.REFRESH_TOKEN_TTL_SECONDS * 1000,
    sessionAbsoluteTtlMs: v.SESSION_ABSOLUTE_TTL_SECONDS * 1000,
    sessionIdleTimeoutMs: v.SESSION_IDLE_TIMEOUT_SECONDS * 1000,
    refreshGraceMs: v.REFRESH_GRACE_SECONDS * 1000,
    allowedOrigins: new Set(
      v.ALLOWED_ORIGINS.split(",")
        .map((o) => o.trim().replace(/\/$/, ""))
        .filter(Boolean),
    ),
    cookieSameSite: v.COOKIE_SAMESITE,
  };
  cache.set(env, config);
  return config;
}
