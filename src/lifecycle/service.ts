/**
 * The account lifecycle by email: verification, password reset and email change. Each flow sends
 * a single-use link (link-tokens.ts) to the front end (APP_URL), whose page posts the token back.
 * No HTTP here: results, or DomainErrors. A request that must send an email answers only after the
 * Email Service took it; when it fails, the link just created is deleted (nothing half-done).
 * Work that must not show in the answer (whether an account exists) runs in `background`.
 */
import { digestHex, type LoginLockout } from "../accounts/lockout";
import { publicUser, type AccountService, type PasswordHasher, type PublicUser } from "../accounts/service";
import { networkOf, type ClientInfo } from "../client-info";
import type { Config } from "../config";
import { DomainError, invalidCredentials, invalidRequest, invalidToken, notFound, rateLimited } from "../domain-errors";
import type { RevocationService } from "../revocation";
import type { IssuedSession } from "../sessions/service";
import type { EmailSender, Limiter, LinkTokenPurpose, LinkTokenStore, UserRecord, UserStore } from "../stores/types";
import { hashLinkToken, LINK_TOKEN_SHAPE, newLinkToken } from "./link-tokens";
import { messages, type MessageBody } from "./messages";

/** Runs a task after the answer (the Workers `waitUntil`); the task handles its own failures. */
export type Background = (task: Promise<void>) => void;

export interface LifecycleDeps {
  config: Pick<Config, "email">;
  users: UserStore;
  links: LinkTokenStore;
  /** Undefined when the worker has no EMAIL binding: the flows answer 404. */
  sender: EmailSender | undefined;
  accounts: AccountService;
  revocation: RevocationService;
  passwords: PasswordHasher;
  lockout: LoginLockout;
  /** EMAIL_RATE_LIMITER: emails asked for, per address and per network. */
  limiter: Limiter;
  /** True when `key` lands in the same database as `anchorKey` (a link token's hash beside its user). */
  landsBeside: (key: string, anchorKey: string) => boolean;
  now: () => number;
}

/** The front-end page of each link, and the link's lifetime. */
const PAGES: Record<LinkTokenPurpose, string> = { verify_email: "verify-email", reset_password: "reset-password", change_email: "confirm-email-change" };

const invalidLink = () => invalidRequest("token", "the link is invalid, expired or already used; ask for a new one");
const normalize = (email: string) => email.trim().toLowerCase();

export type LifecycleService = ReturnType<typeof createLifecycleService>;

export function createLifecycleService(deps: LifecycleDeps) {
  const { users, links, accounts, now } = deps;
  const email = deps.config.email;
  const appName = email.from?.name ?? new URL(email.appUrl).host;
  const ttls: Record<LinkTokenPurpose, number> = { verify_email: email.verificationTtlMs, reset_password: email.resetTtlMs, change_email: email.changeTtlMs };

  function senderOrNotFound(): EmailSender {
    if (!deps.sender) throw notFound("Account emails are not configured on this service.");
    return deps.sender;
  }

  /** One count per address and one per network; both must pass. */
  async function admitEmailRequest(address: string, client: ClientInfo) {
    const [byAddress, byNetwork] = await Promise.all([
      digestHex(normalize(address)).then((key) => deps.limiter.allows(`email:${key}`)),
      deps.limiter.allows(`net:${networkOf(client.ip)}`),
    ]);
    if (!byAddress || !byNetwork) throw rateLimited();
  }

  async function send(to: string, body: MessageBody, link?: string) {
    await senderOrNotFound().send({ to, ...body });
    // Local development only (config.ts): the link in the dev console. Never in production logs.
    if (link && email.printLinks) console.log(`[dev] email to ${to}: ${body.subject}\n      ${link}`);
  }

  /**
   * Stores a new link for the user (older ones of the purpose are void) and emails it; if the
   * email cannot be sent, the link is deleted again and the failure is thrown.
   */
  async function sendLink(user: UserRecord, purpose: LinkTokenPurpose, to: string, compose: (url: string, ttlMs: number) => MessageBody, extra: { newEmail?: string; event?: "password_reset_requested" | "email_change_requested"; client?: ClientInfo; alsoSend?: () => Promise<void>; onlyIf?: { verifiedHash: string; familyId: string } } = {}) {
    senderOrNotFound();
    const at = now();
    const { token, tokenHash } = await newLinkToken(purpose, (hash) => deps.landsBeside(hash, user.id));
    const event = extra.event ? { type: extra.event, userId: user.id, ...extra.client } : undefined;
    const issued = await links.issue({ tokenHash, userId: user.id, purpose, newEmail: extra.newEmail ?? null, createdAt: at, expiresAt: at + ttls[purpose] }, event, extra.onlyIf);
    // Asked for with the current password, and a reset (or another change) has since replaced it.
    if (!issued) throw invalidToken("The session of this access token has ended.");
    const url = `${email.appUrl}/#/${PAGES[purpose]}?token=${token}`;
    const sent = await Promise.allSettled([send(to, compose(url, ttls[purpose]), url), ...(extra.alsoSend ? [extra.alsoSend()] : [])]);
    const failure = sent.find((outcome) => outcome.status === "rejected");
    if (failure) {
      await links.discard(tokenHash, user.id);
      throw failure.reason;
    }
  }

  const sendVerification = (user: UserRecord) => sendLink(user, "verify_email", user.email, (url, ttl) => messages.verifyEmail(appName, url, ttl));

  /** A background task that never rejects: its failure is one log line (never an address or a token). */
  function quietly(kind: string, task: () => Promise<void>): Promise<void> {
    return task().catch((err: unknown) => {
      const error = err instanceof DomainError ? { name: err.name, code: err.code } : { name: err instanceof Error ? err.name : typeof err };
      console.error(JSON.stringify({ level: "error", event: "account_email_failed", kind, error }));
    });
  }

  /** The user a presented token belongs to, if the token is well-formed, unexpired and of this purpose. */
  async function tokenOwner(purpose: LinkTokenPurpose, token: string) {
    if (!LINK_TOKEN_SHAPE.test(token)) throw invalidLink();
    const tokenHash = await hashLinkToken(purpose, token);
    const record = await links.find(tokenHash, purpose, now());
    const user = record && (await users.findById(record.userId));
    if (!record || !user || user.disabledAt !== null) throw invalidLink();
    return { record, user, tokenHash };
  }

  return {
    /** Registers (accounts.register) and emails the verification link after the answer; a failed email leaves no link behind. */
    async register(input: { email: string; password: string }, clientId: string, client: ClientInfo, background: Background): Promise<{ user: PublicUser; session?: IssuedSession }> {
      const { user, session } = await accounts.register(input, clientId, client);
      if (deps.sender) background(quietly("verify_email", () => sendVerification(user)));
      return { user: publicUser(user), session };
    },

    /**
     * A new verification link. For the signed-in caller (`userId`): sent before the answer (503 if
     * it cannot be). For an address (users who may not log in before verifying): always the same
     * answer, the link sent after it only if that address has an unverified account.
     */
    async resendVerification(who: { userId: string } | { email: string }, client: ClientInfo, background: Background): Promise<void> {
      senderOrNotFound();
      if ("email" in who) {
        await admitEmailRequest(who.email, client);
        background(
          quietly("verify_email", async () => {
            const user = await users.findByEmail(who.email);
            if (user && user.emailVerifiedAt === null && user.disabledAt === null) await sendVerification(user);
          }),
        );
        return;
      }
      const user = await users.findById(who.userId);
      if (!user || user.disabledAt !== null) throw invalidToken("The account no longer exists or is disabled.");
      if (user.emailVerifiedAt !== null) throw invalidRequest("email", "is already verified");
      await admitEmailRequest(user.email, client);
      await sendVerification(user);
    },

    /** Consumes a verification link: the user's email is verified from now on (and in the next access token). */
    async verifyEmail(token: string, client: ClientInfo): Promise<void> {
      senderOrNotFound();
      const { user, tokenHash } = await tokenOwner("verify_email", token);
      if (!(await links.verifyEmail({ userId: user.id, tokenHash, now: now(), event: { type: "email_verified", userId: user.id, ...client } }))) throw invalidLink();
      accounts.forgetProfile(user.id);
    },

    /**
     * "Forgot password": the same answer whether or not the address has an account, after the same
     * work (the rate limits); the lookup, the link and the email happen after the answer.
     */
    async forgotPassword(address: string, client: ClientInfo, background: Background): Promise<void> {
      senderOrNotFound();
      await admitEmailRequest(address, client);
      background(
        quietly("reset_password", async () => {
          const user = await users.findByEmail(address);
          if (!user || user.disabledAt !== null) return;
          await sendLink(user, "reset_password", user.email, (url, ttl) => messages.resetPassword(appName, url, ttl), { event: "password_reset_requested", client });
        }),
      );
    },

    /**
     * Sets a new password with a reset link: the password rules apply first (a refused password
     * keeps the link), then every access token of the user is cut off (KV before D1) and, with the
     * link consumed in the same batch, the password stored and every session revoked. A notice
     * goes to the address after the answer.
     */
    async resetPassword(input: { token: string; newPassword: string }, client: ClientInfo, background: Background): Promise<void> {
      senderOrNotFound();
      await accounts.checkNewPassword("new_password", input.newPassword);
      const { user, tokenHash } = await tokenOwner("reset_password", input.token);
      const passwordHash = await deps.passwords.hash(input.newPassword);
      const reset = await deps.revocation.cutOffUserAround(user.id, () =>
        links.resetPassword({ userId: user.id, tokenHash, passwordHash, now: now(), event: { type: "password_reset", userId: user.id, ...client } }),
      );
      if (!reset) throw invalidLink();
      accounts.forgetProfile(user.id);
      background(quietly("password_changed", () => send(user.email, messages.passwordChanged(appName))));
    },

    /**
     * Asks to move the signed-in user to `newEmail`, with the current password (counted like a
     * login). The new address gets the confirmation link and the current one a notice, both before
     * the answer; nothing changes until the link is used.
     */
    async requestEmailChange(input: { userId: string; familyId: string; newEmail: string; currentPassword: string }, client: ClientInfo): Promise<void> {
      senderOrNotFound();
      const user = await users.findById(input.userId);
      if (!user || user.disabledAt !== null) throw invalidToken("The account no longer exists or is disabled.");
      const { admitted, pairKey } = await deps.lockout.admit(user.email, client.ip);
      if (!admitted) throw rateLimited();
      if (!(await deps.passwords.verify(input.currentPassword, user.passwordHash)).valid) {
        if (await deps.lockout.recordFailure(pairKey)) throw rateLimited();
        throw invalidCredentials("The current password is incorrect.");
      }
      const newEmail = normalize(input.newEmail);
      if (newEmail === user.email) throw invalidRequest("new_email", "is already the email address of this account");
      await admitEmailRequest(newEmail, client);
      if (await users.findByEmail(newEmail)) throw new DomainError("email_taken", "An account with this email already exists.");
      await sendLink(user, "change_email", newEmail, (url, ttl) => messages.confirmEmailChange(appName, url, ttl, newEmail), {
        newEmail,
        event: "email_change_requested",
        client,
        alsoSend: () => send(user.email, messages.emailChangeRequested(appName, newEmail)),
        onlyIf: { verifiedHash: user.passwordHash, familyId: input.familyId },
      });
    },

    /** Consumes an email-change link: the user's email becomes the confirmed address, verified. */
    async confirmEmailChange(token: string, client: ClientInfo): Promise<void> {
      senderOrNotFound();
      const { record, user, tokenHash } = await tokenOwner("change_email", token);
      const newEmail = record.newEmail!;
      const outcome = await links.changeEmail({ userId: user.id, tokenHash, now: now(), oldEmail: user.email, newEmail, event: { type: "email_changed", userId: user.id, ...client } });
      if (outcome === "email_taken") throw new DomainError("email_taken", "Another account has this email address now.");
      if (outcome === "token_gone") throw invalidLink();
      accounts.forgetProfile(user.id);
    },
  };
}
