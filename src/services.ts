/**
 * Where the services are built: `assembleServices` wires services over any set of stores (D1 and
 * KV here, in-memory fakes in unit tests); `buildServices` is the one place that knows which binding
 * implements which store. Built once per env object (Workers pass the same env to every request
 * while the environment is unchanged) and handed to routes on the context.
 */
import { createAccountService, type PasswordHasher } from "./accounts/service";
import { createApiKeyService } from "./api-keys/service";
import { createLoginLockout } from "./accounts/lockout";
import { createClientRegistry } from "./clients";
import { getConfig, type Config } from "./config";
import type { Env } from "./env";
import { getKeyMaterial, type KeyMaterial } from "./keys";
import { getRefreshTokenKeys, type RefreshTokenKeys } from "./keys/refresh-token-keys";
import { createLifecycleService } from "./lifecycle/service";
import { hashPassword, verifyAgainstDummy, verifyPassword } from "./passwords";
import { createRevocationService } from "./revocation";
import { createRoleService } from "./roles/service";
import { createSessionService } from "./sessions/service";
import { apiKeyOwnerKey, D1ApiKeyStore } from "./stores/d1/api-keys";
import { D1CommonPasswordStore } from "./stores/d1/common-passwords";
import { databasesOf } from "./stores/d1/databases";
import { D1EventStore } from "./stores/d1/events";
import { D1FamilyStore } from "./stores/d1/families";
import { D1HousekeepingStore } from "./stores/d1/housekeeping";
import { D1RoleStore } from "./stores/d1/roles";
import { D1LinkTokenStore } from "./stores/d1/link-tokens";
import { D1UserStore } from "./stores/d1/users";
import { bindingEmailSender } from "./stores/email";
import { KvLockoutStore } from "./stores/kv/lockouts";
import { KvRevocationStore } from "./stores/kv/revocations";
import { bindingLimiter } from "./stores/limiters";
import { analyticsTelemetry } from "./stores/telemetry";
import type {
  ApiKeyOwner,
  ApiKeyStore,
  CommonPasswordStore,
  EmailSender,
  EventStore,
  FamilyStore,
  HousekeepingStore,
  Limiter,
  LinkTokenStore,
  LockoutStore,
  RefreshTelemetry,
  RevocationStore,
  RoleStore,
  UserStore,
} from "./stores/types";
import { createTokenService } from "./tokens";

/** The per-network limiters the HTTP layer applies before a route runs (wrangler.toml `[[ratelimits]]`). */
const NETWORK_LIMITERS = ["AUTH_RATE_LIMITER", "LOGIN_RATE_LIMITER", "REGISTER_RATE_LIMITER", "REFRESH_RATE_LIMITER"] as const;
export type NetworkLimiterName = (typeof NETWORK_LIMITERS)[number];

/** Everything the services persist to or count against. */
export interface Stores {
  users: UserStore;
  roles: RoleStore;
  families: FamilyStore;
  events: EventStore;
  revocations: RevocationStore;
  locks: LockoutStore;
  housekeeping: HousekeepingStore;
  telemetry: RefreshTelemetry;
  /** Single-use email links (verification, reset, email change). */
  links: LinkTokenStore;
  apiKeys: ApiKeyStore;
  /** Passwords nobody may choose. */
  commonPasswords: CommonPasswordStore;
  /** Account emails; undefined without an EMAIL binding. */
  sender: EmailSender | undefined;
  limiters: {
    perFamily: Limiter;
    attemptsPerEmail: Limiter;
    failuresPerEmailAndNetwork: Limiter;
    perNetwork: Record<NetworkLimiterName, Limiter>;
    /** Introspection requests per resource server. */
    perResourceServer: Limiter;
    /** Account emails asked for, per address and per network. */
    emails: Limiter;
    /** Exchanges of one API key (client_credentials), per key id. */
    perApiKey: Limiter;
  };
  /** New ids that land in the right database (src/stores/d1/databases.ts). */
  placement: {
    newUserId(normalizedEmail: string): string;
    newFamilyId(userId: string): string;
    newApiKeyId(owner: ApiKeyOwner): string;
    landsBeside(key: string, anchorKey: string): boolean;
  };
}

export interface ServiceInputs {
  stores: Stores;
  config: Config;
  keys: () => Promise<KeyMaterial>;
  refreshKeys: () => Promise<RefreshTokenKeys>;
  now?: () => number;
  passwords?: PasswordHasher;
  /** The RESOURCE_SERVERS secret. */
  resourceServers?: string;
}

/** The production password hashing: chained PBKDF2 under the Workers cap. */
export const passwordHasher: PasswordHasher = {
  hash: (password) => hashPassword(password),
  verify: (password, stored) => verifyPassword(password, stored),
  verifyDummy: verifyAgainstDummy,
};

export type Services = ReturnType<typeof assembleServices>;

export function assembleServices({ stores, config, keys, refreshKeys, now = Date.now, passwords = passwordHasher, resourceServers }: ServiceInputs) {
  const revocation = createRevocationService({ store: stores.revocations, config, now });
  const tokens = createTokenService({ keys, config, revocation, now });
  const apiKeys = createApiKeyService({
    keys: stores.apiKeys,
    tokens,
    revocation,
    config,
    now,
    newKeyId: stores.placement.newApiKeyId,
    limiter: stores.limiters.perApiKey,
  });
  const sessions = createSessionService({
    families: stores.families,
    tokens,
    revocation,
    refreshKeys,
    config,
    now,
    newFamilyId: stores.placement.newFamilyId,
    familyLimiter: stores.limiters.perFamily,
    telemetry: stores.telemetry,
    apiKeyTokens: apiKeys,
  });
  const lockout = createLoginLockout({
    locks: stores.locks,
    attemptsPerEmail: stores.limiters.attemptsPerEmail,
    failuresPerEmailAndNetwork: stores.limiters.failuresPerEmailAndNetwork,
  });
  const accounts = createAccountService({
    users: stores.users,
    events: stores.events,
    sessions,
    revocation,
    passwords,
    commonPasswords: stores.commonPasswords,
    lockout,
    now,
    newUserId: stores.placement.newUserId,
    requireVerifiedEmail: config.email.requireVerified,
  });
  const lifecycle = createLifecycleService({
    config,
    users: stores.users,
    links: stores.links,
    sender: stores.sender,
    accounts,
    revocation,
    passwords,
    lockout,
    limiter: stores.limiters.emails,
    landsBeside: stores.placement.landsBeside,
    now,
  });
  const roles = createRoleService({ roles: stores.roles, sessions, revocation, config, now, onRolesChanged: accounts.forgetProfile });
  return {
    config,
    clients: createClientRegistry({ config, resourceServers }),
    accounts,
    roles,
    lifecycle,
    sessions,
    apiKeys,
    tokens,
    revocation,
    networkLimiters: stores.limiters.perNetwork,
    introspectionLimiter: stores.limiters.perResourceServer,
    /** The signing key material, for the JWKS. */
    keys,
    housekeeping: stores.housekeeping,
  };
}

/** The stores over this worker's bindings. */
export function bindingStores(env: Env, config: Config): Stores {
  const databases = databasesOf(env, config.userDatabases);
  const limiter = (name: keyof Env & `${string}_RATE_LIMITER`) => bindingLimiter(env[name] as RateLimit | undefined, name);
  return {
    users: new D1UserStore(databases),
    roles: new D1RoleStore(databases),
    families: new D1FamilyStore(databases),
    events: new D1EventStore(databases),
    revocations: new KvRevocationStore(env.REVOCATIONS),
    locks: new KvLockoutStore(env.REVOCATIONS),
    housekeeping: new D1HousekeepingStore(databases),
    telemetry: analyticsTelemetry(env.REFRESH_TELEMETRY),
    links: new D1LinkTokenStore(databases),
    apiKeys: new D1ApiKeyStore(databases),
    commonPasswords: new D1CommonPasswordStore(databases),
    sender: bindingEmailSender(env.EMAIL, config.email.from),
    limiters: {
      perFamily: limiter("REFRESH_FAMILY_RATE_LIMITER"),
      attemptsPerEmail: limiter("LOGIN_EMAIL_RATE_LIMITER"),
      failuresPerEmailAndNetwork: limiter("FAILED_LOGIN_RATE_LIMITER"),
      perNetwork: Object.fromEntries(NETWORK_LIMITERS.map((name) => [name, limiter(name)])) as Record<NetworkLimiterName, Limiter>,
      perResourceServer: limiter("INTROSPECTION_RATE_LIMITER"),
      emails: limiter("EMAIL_RATE_LIMITER"),
      perApiKey: limiter("API_KEY_RATE_LIMITER"),
    },
    placement: {
      newUserId: (email) => databases.newIdBeside(email),
      newFamilyId: (userId) => databases.newIdBeside(userId),
      newApiKeyId: (owner) => databases.newIdBeside(apiKeyOwnerKey(owner)),
      landsBeside: (key, anchorKey) => databases.indexOf(key) === databases.indexOf(anchorKey),
    },
  };
}

export function buildServices(env: Env, now: () => number = Date.now): Services {
  const config = getConfig(env);
  return assembleServices({
    stores: bindingStores(env, config),
    config,
    keys: () => getKeyMaterial(env),
    refreshKeys: () => getRefreshTokenKeys(env),
    now,
    resourceServers: env.RESOURCE_SERVERS,
  });
}

const built = new WeakMap<Env, Services>();

/** The services for this env, built on first use. A bad setting is a ConfigurationError (500). */
export function servicesFor(env: Env): Services {
  let services = built.get(env);
  if (!services) built.set(env, (services = buildServices(env)));
  return services;
}
