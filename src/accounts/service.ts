/**
 * Accounts: register, log in, change the password, disable and enable, and the user's own view.
 * No HTTP here: results, or DomainErrors.
 */
import type { Actor, ClientInfo } from "../client-info";
import { DomainError, invalidCredentials, invalidRequest, invalidToken, notFound, rateLimited } from "../domain-errors";
import type { PasswordCheck } from "../passwords";
import { commonPasswordForm } from "../passwords/common";
import { DEFAULT_ROLE, deprecatedRole } from "../roles/claims";
import type { RevocationService } from "../revocation";
import type { IssuedSession, SessionService } from "../sessions/service";
import type { CommonPasswordStore, EventStore, UserRecord, UserStore } from "../stores/types";
import type { LoginLockout } from "./lockout";

export const MIN_PASSWORD_LENGTH = 8;

/** The public view of a user: never the password hash. */
export interface PublicUser {
  id: string;
  email: string;
  /** DEPRECATED, kept one release: the access token's `role`. */
  role: string;
  /** Sorted. */
  roles: string[];
  email_verified: boolean;
  created_at: string;
}

export const publicUser = (user: UserRecord): PublicUser => {
  const roles = [...user.roles].sort();
  return {
    id: user.id,
    email: user.email,
    role: deprecatedRole(roles),
    roles,
    email_verified: user.emailVerifiedAt !== null,
    created_at: new Date(user.createdAt).toISOString(),
  };
};

/** What an access token of this user says about it. */
export const subjectOf = (user: UserRecord) => ({ userId: user.id, roles: user.roles, emailVerified: user.emailVerifiedAt !== null });

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<PasswordCheck>;
  /** Spends the work of one verification (unknown emails cost the same). */
  verifyDummy(password: string): Promise<void>;
}

export interface AccountDeps {
  users: UserStore;
  events: EventStore;
  sessions: SessionService;
  revocation: RevocationService;
  passwords: PasswordHasher;
  commonPasswords: CommonPasswordStore;
  lockout: LoginLockout;
  now: () => number;
  /** A new user id that lands in the database of the (normalised) email. */
  newUserId: (normalizedEmail: string) => string;
  /** REQUIRE_VERIFIED_EMAIL: unverified users get no session (registration starts none, login is refused). */
  requireVerifiedEmail: boolean;
}

/** The profile answers from a short per-isolate cache: staleness is bounded, and access is checked in KV anyway. */
const PROFILE_CACHE_MS = 30_000;
const PROFILE_CACHE_MAX = 10_000;

export type AccountService = ReturnType<typeof createAccountService>;

const adminEvent = (type: "user_disabled" | "user_enabled", userId: string, { id, ip, userAgent }: Actor) =>
  ({ type, userId, ip, userAgent, actorId: id, detail: "admin" }) as const;

export function createAccountService(deps: AccountDeps) {
  const { users, events, sessions, revocation, passwords, commonPasswords, lockout, now } = deps;
  const profiles = new Map<string, { user: PublicUser; until: number }>();

  /** ASVS v5 6.2: long enough once trimmed, and not one of the most common passwords. */
  async function checkNewPassword(field: string, password: string): Promise<void> {
    if (password.trim().length < MIN_PASSWORD_LENGTH) throw invalidRequest(field, `must have at least ${MIN_PASSWORD_LENGTH} characters`);
    if (await commonPasswords.includes(commonPasswordForm(password))) throw invalidRequest(field, "is one of the most common passwords; choose another");
  }

  async function activeUser(userId: string): Promise<UserRecord> {
    const user = await users.findById(userId);
    if (!user || user.disabledAt !== null) throw invalidToken("The account no longer exists or is disabled.");
    return user;
  }

  return {
    checkNewPassword,

    /** Creates the user and, unless a verified email is required first, its first session. */
    async register(input: { email: string; password: string }, clientId: string, client: ClientInfo): Promise<{ user: UserRecord; session?: IssuedSession }> {
      await checkNewPassword("password", input.password);
      const email = input.email.trim().toLowerCase();
      const at = now();
      const user: UserRecord = {
        id: deps.newUserId(email),
        email,
        passwordHash: await passwords.hash(input.password),
        createdAt: at,
        updatedAt: at,
        disabledAt: null,
        roles: [DEFAULT_ROLE],
        emailVerifiedAt: null,
      };
      const opened = deps.requireVerifiedEmail ? undefined : await sessions.open(subjectOf(user), clientId, client);
      const outcome = await users.register(user, opened?.family, { type: "register", userId: user.id, sessionId: opened?.family.id, ...client });
      if (outcome === "email_taken") throw new DomainError("email_taken", "An account with this email already exists.");
      return { user, session: opened?.issued };
    },

    /**
     * Unknown email, wrong password and disabled account fail alike (401 `invalid_credentials`,
     * one password hash each). The family is stored only if the user still has the verified hash
     * and is not disabled when it is written. With REQUIRE_VERIFIED_EMAIL, the right password of an
     * unverified user gets 403 `email_not_verified` (only who knows the password learns it).
     */
    async login(input: { email: string; password: string }, clientId: string, client: ClientInfo): Promise<{ user: UserRecord; session: IssuedSession }> {
      const { admitted, pairKey } = await lockout.admit(input.email, client.ip);
      if (!admitted) throw rateLimited();
      const user = await users.findByEmail(input.email);
      const check = user ? await passwords.verify(input.password, user.passwordHash) : (await passwords.verifyDummy(input.password), undefined);
      if (!user || !check?.valid || user.disabledAt !== null) {
        const detail = !user ? "unknown_email" : user.disabledAt !== null ? "disabled" : "bad_password";
        await events.record({ type: "login_failed", userId: user?.id, ...client, detail }, now(), user?.id ?? input.email.trim().toLowerCase());
        if (await lockout.recordFailure(pairKey)) throw rateLimited();
        throw invalidCredentials();
      }
      if (deps.requireVerifiedEmail && user.emailVerifiedAt === null) {
        await events.record({ type: "login_failed", userId: user.id, ...client, detail: "email_not_verified" }, now(), user.id);
        throw new DomainError("email_not_verified", "Verify your email address first: open the link we sent, or ask for a new one.");
      }
      const { family, issued } = await sessions.open(subjectOf(user), clientId, client);
      const rehash = check.needsRehash ? await passwords.hash(input.password) : undefined;
      const event = { type: "login", userId: user.id, sessionId: family.id, ...client } as const;
      if (!(await users.startFamily({ family, verifiedHash: user.passwordHash, rehash, event }))) throw invalidCredentials();
      return { user, session: issued };
    },

    /**
     * Stores the new password and revokes every other family of the user, whose access tokens are
     * cut off (the caller's session keeps going). The current password counts against the same
     * brute-force limits as a login.
     */
    async changePassword(input: { userId: string; familyId: string; currentPassword: string; newPassword: string }, client: ClientInfo): Promise<void> {
      const user = await activeUser(input.userId);
      const { admitted, pairKey } = await lockout.admit(user.email, client.ip);
      if (!admitted) throw rateLimited();
      if (!(await passwords.verify(input.currentPassword, user.passwordHash)).valid) {
        if (await lockout.recordFailure(pairKey)) throw rateLimited();
        throw invalidCredentials("The current password is incorrect.");
      }
      await checkNewPassword("new_password", input.newPassword);
      const passwordHash = await passwords.hash(input.newPassword);
      const changed = await revocation.cutOffUserAround(
        user.id,
        () =>
          users.changePassword({
            userId: user.id,
            verifiedHash: user.passwordHash,
            passwordHash,
            keepFamilyId: input.familyId,
            event: { type: "password_changed", userId: user.id, sessionId: input.familyId, ...client },
            now: now(),
          }),
        input.familyId,
      );
      if (!changed) {
        // A reset, another change or a disable committed since the password was verified, and it
        // ended this session. The cutoff just written spares this session: cut off everyone instead.
        await revocation.cutOffUser(user.id);
        throw invalidToken("The session of this access token has ended.");
      }
    },

    /** Disables an account: no login, no refresh, every live access token refused (cutoff first). */
    async disable(userId: string, actor: Actor): Promise<void> {
      if (!(await users.findById(userId))) throw notFound("No such user.");
      await revocation.cutOffUserAround(userId, () => users.setDisabled({ userId, disabled: true, event: adminEvent("user_disabled", userId, actor), now: now() }));
      profiles.delete(userId);
    },

    /** Re-enables an account; its old sessions stay revoked, the user logs in again. */
    async enable(userId: string, actor: Actor): Promise<void> {
      if (!(await users.setDisabled({ userId, disabled: false, event: adminEvent("user_enabled", userId, actor), now: now() }))) {
        throw notFound("No such user.");
      }
    },

    /** Drops this isolate's cached view of the user after a change to it, e.g. its roles (others expire within seconds). */
    forgetProfile(userId: string): void {
      profiles.delete(userId);
    },

    /** The caller's own view, from a short per-isolate cache. */
    async profile(userId: string): Promise<PublicUser> {
      const at = now();
      const cached = profiles.get(userId);
      if (cached && cached.until > at) return cached.user;
      const user = publicUser(await activeUser(userId));
      if (profiles.size >= PROFILE_CACHE_MAX) profiles.clear();
      profiles.set(userId, { user, until: at + PROFILE_CACHE_MS });
      return user;
    },
  };
}
