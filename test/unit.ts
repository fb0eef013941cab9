/**
 * Services over in-memory stores with a clock the test moves: the harness of the unit tests that
 * sit beside the services (src/**\/*.test.ts). Keys come from the test pool's bindings.
 */
import { env } from "cloudflare:workers";
import type { PasswordHasher } from "../src/accounts/service";
import { getConfig, type Config } from "../src/config";
import { getKeyMaterial } from "../src/keys";
import { getRefreshTokenKeys, type RefreshTokenKeys } from "../src/keys/refresh-token-keys";
import { hashPassword, verifyPassword, type PasswordParams } from "../src/passwords";
import { assembleServices, type Stores } from "../src/services";
import {
  MemoryApiKeyStore,
  MemoryFamilyStore,
  memoryEmailSender,
  memoryEventStore,
  memoryHousekeeping,
  memoryLimiter,
  MemoryLinkTokenStore,
  memoryLockoutStore,
  MemoryRevocationStore,
  MemoryRoleStore,
  MemoryStorage,
  memoryTelemetry,
  MemoryUserStore,
} from "./memory-stores";

/** One PBKDF2 iteration: unit tests check the flows, src/passwords/index.test.ts the hashing. */
const FAST: PasswordParams = { iterations: 1, rounds: 1 };
export const fastPasswords: PasswordHasher = {
  hash: (password) => hashPassword(password, FAST),
  verify: (password, stored) => verifyPassword(password, stored, FAST),
  verifyDummy: async (password) => void (await hashPassword(password, FAST)),
};

/** The common passwords unit tests use; the real list is D1's (test/common-passwords.test.ts). */
const COMMON_PASSWORDS = new Set(["password123", "iloveyou1", "qwertyuiop", "password1"]);

export const START = Date.parse("2026-06-01T12:00:00.000Z");
export const CLIENT = { ip: "198.51.100.7", userAgent: "unit-test/1.0" };
export const PASSWORD = "correct horse battery staple";

export interface UnitOptions {
  config?: Partial<Config>;
  /** Limits of the per-family, per-email and per-email+network limiters (default: none). */
  limits?: { perFamily?: number; attemptsPerEmail?: number; failuresPerEmailAndNetwork?: number; emails?: number; perApiKey?: number };
  passwords?: PasswordHasher;
  /** The refresh-token keys of each call (default: the pool's REFRESH_TOKEN_KEY), e.g. to rotate them mid-test. */
  refreshKeys?: () => Promise<RefreshTokenKeys>;
  /** Replaces stores, e.g. with a failing one. */
  stores?: (stores: Stores) => Partial<Stores>;
}

export function unitServices(options: UnitOptions = {}) {
  const clock = {
    now: START,
    advance(ms: number) {
      this.now += ms;
    },
  };
  const now = () => clock.now;
  /** Set `now` to true to make the email sender refuse every message. */
  const emailFails = { now: false };
  const storage = new MemoryStorage(now);
  const unlimited = memoryLimiter(storage);
  const base: Stores = {
    users: new MemoryUserStore(storage),
    roles: new MemoryRoleStore(storage),
    families: new MemoryFamilyStore(storage),
    events: memoryEventStore(storage),
    revocations: new MemoryRevocationStore(storage),
    locks: memoryLockoutStore(storage),
    housekeeping: memoryHousekeeping(storage),
    telemetry: memoryTelemetry(storage),
    links: new MemoryLinkTokenStore(storage),
    apiKeys: new MemoryApiKeyStore(storage),
    commonPasswords: { includes: async (password) => COMMON_PASSWORDS.has(password) },
    sender: memoryEmailSender(storage, { failing: () => emailFails.now }),
    limiters: {
      perFamily: memoryLimiter(storage, options.limits?.perFamily),
      attemptsPerEmail: memoryLimiter(storage, options.limits?.attemptsPerEmail),
      failuresPerEmailAndNetwork: memoryLimiter(storage, options.limits?.failuresPerEmailAndNetwork),
      perNetwork: { AUTH_RATE_LIMITER: unlimited, LOGIN_RATE_LIMITER: unlimited, REGISTER_RATE_LIMITER: unlimited, REFRESH_RATE_LIMITER: unlimited },
      perResourceServer: unlimited,
      emails: memoryLimiter(storage, options.limits?.emails),
      perApiKey: memoryLimiter(storage, options.limits?.perApiKey),
    },
    placement: { newUserId: () => crypto.randomUUID(), newFamilyId: () => crypto.randomUUID(), newApiKeyId: () => crypto.randomUUID(), landsBeside: () => true },
  };
  const stores = { ...base, ...options.stores?.(base) };
  const baseConfig = getConfig(env);
  // The pool's EMAIL binding gives a sender address; unit tests send through the memory sender.
  const config: Config = { ...baseConfig, ...options.config, email: { ...baseConfig.email, ...options.config?.email } };
  const services = assembleServices({
    stores,
    config,
    keys: () => getKeyMaterial(env),
    refreshKeys: options.refreshKeys ?? (() => getRefreshTokenKeys(env)),
    now,
    passwords: options.passwords ?? fastPasswords,
  });
  let counter = 0;
  /** Registers a fresh user: its user record and first session. */
  const register = async (email = `user-${counter++}@example.com`, password = PASSWORD) => {
    const { user, session } = await services.accounts.register({ email, password }, "web", CLIENT);
    if (!session) throw new Error("registered without a session (REQUIRE_VERIFIED_EMAIL): use services.accounts.register");
    return { user, session };
  };
  return { services, storage, clock, register, emailFails };
}

/** A `waitUntil` stand-in: `settle()` waits for every task handed to it so far. */
export function backgroundTasks() {
  const tasks: Promise<void>[] = [];
  const background = (task: Promise<void>) => void tasks.push(task);
  return { background, settle: () => Promise.all(tasks.splice(0)) };
}

/** The token of the `page` link in an email body (`<APP_URL>/#/<page>?token=...`); throws if there is none. */
export function linkToken(body: string, page: string): string {
  const match = new RegExp(`/#/${page}\\?token=([A-Za-z0-9_-]+)`).exec(body);
  if (!match) throw new Error(`no ${page} link in: ${body}`);
  return match[1]!;
}
