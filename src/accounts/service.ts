/**
 * Account lifecycle: password change and disabling. Both end the user's other sessions and cut off
 * older access tokens (KV deny-list of the families' live tokens plus a per-user cutoff).
 */
import { eq } from "drizzle-orm";
import type { Database } from "../db/client";
import { revokeSessions } from "../db/sessions";
import { users } from "../db/schema";
import type { ClientInfo, SessionDeps } from "../sessions/service";
import { hashPassword } from "../passwords";
import { revokeAccessTokens, setUserCutoff } from "../revocation";

async function cutOffAccessTokens(deps: SessionDeps, userId: string, live: { jti: string; exp: number }[], now: number) {
  await revokeAccessTokens(deps.kv, live, now);
  await setUserCutoff(deps.kv, userId, Math.floor(now / 1000), deps.config.accessTokenTtlSeconds);
}

/**
 * Stores the new password and, in the same batch, revokes every family of the user except the one
 * making the change. Access tokens issued in earlier seconds are cut off, normally the caller's
 * too (its session refreshes to get a new one); the other families' tokens are deny-listed.
 */
export async function changePassword(
  deps: SessionDeps,
  user: { id: string },
  currentSessionId: string,
  newPassword: string,
  client: ClientInfo,
  now = Date.now(),
): Promise<void> {
  const passwordHash = await hashPassword(newPassword);
  const { liveAccessTokens } = await revokeSessions(
    deps.db,
    { userId: user.id, exceptSessionId: currentSessionId },
    "password_changed",
    { type: "password_changed", userId: user.id, sessionId: currentSessionId, ...client },
    now,
    [deps.db.update(users).set({ passwordHash, updatedAt: now }).where(eq(users.id, user.id))],
  );
  await cutOffAccessTokens(deps, user.id, liveAccessTokens, now);
}

/** Disables an account: no login, no refresh, every live access token refused. */
export async function disableUser(deps: SessionDeps, userId: string, now = Date.now()): Promise<void> {
  const { liveAccessTokens } = await revokeSessions(
    deps.db,
    { userId },
    "user_disabled",
    { type: "user_disabled", userId },
    now,
    [deps.db.update(users).set({ disabledAt: now, updatedAt: now }).where(eq(users.id, userId))],
  );
  await cutOffAccessTokens(deps, userId, liveAccessTokens, now);
}

/** Re-enables an account; its old sessions stay revoked, the user logs in again. */
export async function enableUser(db: Database, userId: string, now = Date.now()): Promise<void> {
  await db.update(users).set({ disabledAt: null, updatedAt: now }).where(eq(users.id, userId));
}
