/**
 * The worker's bindings, vars and secrets. `Cloudflare.Env` is generated from wrangler.toml and
 * .dev.vars.example by `npm run types` (worker-configuration.d.ts; CI fails when it is stale). All
 * but the two storage bindings are optional here: the code works without a limiter, the email or
 * telemetry binding, or an optional secret. Further D1 bindings named by USER_DATABASES (`DB_2`...)
 * are looked up by name (src/stores/d1/databases.ts).
 */
export type Env = Partial<Cloudflare.Env> & Pick<Cloudflare.Env, "DB" | "REVOCATIONS">;
