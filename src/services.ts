/**
 * Where the services are built from the worker's bindings: the one place that knows which store
 * implements which interface. Built once per env object (Workers pass the same env to every
 * request while the environment is unchanged) and handed to routes on the context.
 */
import { createAccountService } from "./accounts/service";
import { createLoginLockout } from "./accounts/lockout";
import { getConfig, type Config } from "./config";
import type { Env } from "./env";
import { getKeyMaterial } from "./keys";
import { getRefreshTokenKeys } from "./keys/refresh-token-keys";
import { hashPassword, verifyAgainstDummy, verifyPassword } from "./passwords";
import { isCommonPassword } from "./passwords/common";
import { createRevocationService } from "./revocation";
import { createSessionService } from "./sessions/service";
import { databasesOf } from "./stores/d1/databases";
import { D1EventStore } from "./stores/d1/events";
import { D1FamilyStore } from "./stores/d1/families";
import { D1HousekeepingStore } from "./stores/d1/housekeeping";
import { D1UserStore } from "./stores/d1/users";
import { KvLockoutStore } from "./stores/kv/lockouts";
import { KvRevocationStore } from "./stores/kv/revocations";
import { bindingLimiter } from "./stores/limiters";
import type { Limiter } from "./stores/types";
import { analyticsTelemetry } from "./stores/telemetry";
import { createTokenService } from "./tokens";

export type Services = ReturnType<typeof buildServices>;

/** The per-network limiters the HTTP layer applies before a route runs (wrangler.toml `[[ratelimits]]`). */
const NETWORK_LIMITERS = ["AUTH_RATE_LIMITER", "LOGIN_RATE_LIMITER", "REGISTER_RATE_LIMITER", "REFRESH_RATE_LIMITER"] as const;
export type NetworkLimiterName = (typeof NETWORK_LIMITERS)[number];

const built = new WeakMap<Env, Services>();

/** The services for this env, built on first use. A bad setting is a ConfigurationError (500). */
export function servicesFor(env: Env): Services {
  let services = built.get(env);
  if (!services) built.set(env, (services = buildServices(env)));
  return services;
}

export function buildServices(env: Env, now: () => number = Date.now) {
  const config: Config = getConfig(env);
  const databases = databasesOf(env, config.userDatabases);
  const revocation = createRevocationService({ store: new KvRevocationStore(env.REVOCATIONS), config, now });
  const tokens = createTokenService({ keys: () => getKeyMaterial(env), config, revocation, now });
  const sessions = createSessionService({
    families: new D1FamilyStore(databases),
    tokens,
    revocation,
    refreshKeys: () => getRefreshTokenKeys(env),
    config,
    now,
    newFamilyId: (userId) => databases.newIdBeside(userId),
    familyLimiter: bindingLimiter(env.REFRESH_FAMILY_RATE_LIMITER, "REFRESH_FAMILY_RATE_LIMITER"),
    telemetry: analyticsTelemetry(env.REFRESH_TELEMETRY),
  });
  const accounts = createAccountService({
    users: new D1UserStore(databases),
    events: new D1EventStore(databases),
    sessions,
    revocation,
    passwords: { hash: (p) => hashPassword(p), verify: (p, stored) => verifyPassword(p, stored), verifyDummy: verifyAgainstDummy, isCommon: isCommonPassword },
    lockout: createLoginLockout({
      locks: new KvLockoutStore(env.REVOCATIONS),
      attemptsPerEmail: bindingLimiter(env.LOGIN_EMAIL_RATE_LIMITER, "LOGIN_EMAIL_RATE_LIMITER"),
      failuresPerEmailAndNetwork: bindingLimiter(env.FAILED_LOGIN_RATE_LIMITER, "FAILED_LOGIN_RATE_LIMITER"),
    }),
    now,
    newUserId: (email) => databases.newIdBeside(email),
  });
  return {
    config,
    accounts,
    sessions,
    tokens,
    revocation,
    networkLimiters: Object.fromEntries(NETWORK_LIMITERS.map((name) => [name, bindingLimiter(env[name], name)])) as Record<NetworkLimiterName, Limiter>,
    /** The public keys, for the JWKS. */
    keys: () => getKeyMaterial(env),
    housekeeping: new D1HousekeepingStore(databases),
  };
}
