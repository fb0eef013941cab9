/** /auth/register, /auth/login, /auth/refresh, /auth/logout, /auth/logout-all, /auth/me */
import { Hono, type Context } from "hono";
import { getConfig } from "../config";
import * as z from "zod/mini";
import { isUniqueViolation } from "../db/client";
import { insertAuthEvent, logSecurityEvent } from "../db/events";
import { findUserByEmail, findUserById, normalizeEmail, publicUser, updatePasswordHash } from "../db/users";
import { users, type User } from "../db/schema";
import type { AppEnv } from "../env";
import { AuthError, invalidToken, rateLimited } from "../errors";
import { requireAccessToken, bearerToken } from "../middleware/bearer";
import { clearRefreshCookie, readRefreshCookie, setRefreshCookie } from "../middleware/refresh-cookie";
import { hashPassword, verifyAgainstDummy, verifyPassword } from "../passwords";
import { revokeAccessTokens, setUserCutoff } from "../revocation";
import { prepareSession, refreshSession, revokeFamily, sessionOfRefreshToken, type IssuedTokens } from "../sessions/service";
import { revokeSessions } from "../db/sessions";
import { guardStorage, StorageUnavailableError } from "../storage";
import { verifyAccessToken } from "../tokens";
import { isLoginLocked, lockoutKey, recordLoginFailure } from "../accounts/login-lockout";
import { clientIp, rateLimitByIp } from "../middleware/rate-limit";
import { boundedString, clientInfo, jsonBody, noStore, sessionDeps } from "./context";

const email = z.pipe(z.string().check(z.trim(), z.maxLength(254)), z.email());
const RegisterBody = z.object({ email, password: boundedString(8, 256) });
const LoginBody = z.object({ email: z.string().check(z.trim(), z.minLength(1), z.maxLength(254)), password: boundedString(1, 256) });
const RefreshBody = z.object({ refresh_token: z.optional(boundedString(0, 4096)) });

export const authRoutes = new Hono<AppEnv>();

authRoutes.post("/register", rateLimitByIp("REGISTER_RATE_LIMITER"), jsonBody(RegisterBody), async (c) => {
  const body = c.req.valid("json");
  const deps = await sessionDeps(c);
  const now = Date.now();
  const user: User = {
    id: crypto.randomUUID(),
    email: normalizeEmail(body.email),
    passwordHash: await hashPassword(body.password),
    role: "user",
    createdAt: now,
    updatedAt: now,
    disabledAt: null,
  };
  const client = clientInfo(c);
  const { statements, issued } = await prepareSession(deps, user, client, now);
  const event = { type: "register", userId: user.id, sessionId: issued.sessionId, ...client } as const;
  try {
    await deps.db.batch([deps.db.insert(users).values(user), ...statements, insertAuthEvent(deps.db, event, now)]);
  } catch (err) {
    if (isUniqueViolation(err)) throw new AuthError(409, "email_taken", "An account with this email already exists.");
    throw new StorageUnavailableError(err);
  }
  logSecurityEvent(event, now);
  return tokenResponse(c, issued, 201, { user: publicUser(user) });
});

authRoutes.post("/login", rateLimitByIp("LOGIN_RATE_LIMITER"), jsonBody(LoginBody), async (c) => {
  const { email: rawEmail, password } = c.req.valid("json");
  const deps = await sessionDeps(c);
  const client = clientInfo(c);
  const lock = await lockoutKey(rawEmail, clientIp(c));
  if (await isLoginLocked(c.env, lock)) throw rateLimited();
  const user = await findUserByEmail(deps.db, rawEmail);
  const check = user ? await verifyPassword(password, user.passwordHash) : (await verifyAgainstDummy(password), undefined);
  if (!user || !check?.valid || user.disabledAt !== null) {
    const detail = !user ? "unknown_email" : user.disabledAt !== null ? "disabled" : "bad_password";
    const event = { type: "login_failed", userId: user?.id, ...client, detail } as const;
    await guardStorage(() => insertAuthEvent(deps.db, event));
    logSecurityEvent(event);
    if (await recordLoginFailure(c.env, lock)) throw rateLimited();
    throw new AuthError(401, "invalid_credentials", "The email or password is incorrect.");
  }
  const now = Date.now();
  const { statements, issued } = await prepareSession(deps, user, client, now);
  const rehash = check.needsRehash ? [updatePasswordHash(deps.db, user.id, await hashPassword(password), now)] : [];
  const event = { type: "login", userId: user.id, sessionId: issued.sessionId, ...client } as const;
  await guardStorage(() => deps.db.batch([...statements, ...rehash, insertAuthEvent(deps.db, event, now)]));
  logSecurityEvent(event, now);
  return tokenResponse(c, issued, 200, { user: publicUser(user) });
});

authRoutes.post("/refresh", rateLimitByIp("REFRESH_RATE_LIMITER"), jsonBody(RefreshBody), async (c) => {
  const deps = await sessionDeps(c);
  const fromCookie = readRefreshCookie(c);
  const presented = fromCookie ?? c.req.valid("json").refresh_token;
  try {
    const issued = await refreshSession(deps, presented, clientInfo(c));
    return tokenResponse(c, issued, 200, { refreshTokenInBody: fromCookie === undefined });
  } catch (err) {
    if (err instanceof AuthError && err.code === "invalid_grant") clearRefreshCookie(c, deps.config);
    throw err;
  }
});

authRoutes.post("/logout", async (c) => {
  const deps = await sessionDeps(c);
  const client = clientInfo(c);
  const refreshToken = readRefreshCookie(c) ?? (await optionalBodyToken(c));
  const accessToken = bearerToken(c.req.header("Authorization"));
  const claims = accessToken ? await verifyAccessToken(accessToken, deps.keys, deps.config).catch(() => undefined) : undefined;
  // Holding a token is authority enough to end what it belongs to (RFC 7009): the cookie's family
  // and the access token's session, even when they differ.
  const sessions = new Map<string, string>();
  const fromCookie = await sessionOfRefreshToken(deps.db, refreshToken);
  if (fromCookie) sessions.set(fromCookie.id, fromCookie.userId);
  if (claims) sessions.set(claims.sid, claims.sub);
  for (const [sessionId, userId] of sessions) {
    await revokeFamily(deps, sessionId, userId, "logout", { type: "logout", userId, sessionId, ...client });
  }
  if (claims) await revokeAccessTokens(deps.kv, [claims]);
  clearRefreshCookie(c, deps.config);
  noStore(c);
  return c.body(null, 204);
});

authRoutes.post("/logout-all", requireAccessToken, async (c) => {
  const deps = await sessionDeps(c);
  const claims = c.var.claims;
  const now = Date.now();
  const { liveAccessTokens } = await revokeSessions(
    deps.db,
    { userId: claims.sub },
    "logout_all",
    { type: "logout_all", userId: claims.sub, sessionId: claims.sid, ...clientInfo(c) },
    now,
  );
  await revokeAccessTokens(deps.kv, [...liveAccessTokens, claims], now);
  await setUserCutoff(deps.kv, claims.sub, Math.floor(now / 1000), deps.config.accessTokenTtlSeconds);
  clearRefreshCookie(c, deps.config);
  noStore(c);
  return c.body(null, 204);
});

authRoutes.get("/me", requireAccessToken, async (c) => {
  const { sub } = c.var.claims;
  const cached = meCache.get(sub);
  if (cached && cached.until > Date.now()) {
    noStore(c);
    return c.json({ user: cached.user });
  }
  const deps = await sessionDeps(c);
  const user = await findUserById(deps.db, sub);
  if (!user || user.disabledAt !== null) throw invalidToken("The account no longer exists or is disabled.");
  if (meCache.size >= ME_CACHE_MAX) meCache.clear();
  meCache.set(sub, { user: publicUser(user), until: Date.now() + ME_CACHE_MS });
  noStore(c);
  return c.json({ user: publicUser(user) });
});

/**
 * /auth/me answers from a short per-isolate cache of the public user view. Staleness is bounded and
 * harmless for access: disabling a user (and logout-all, password change) cuts its tokens off in KV,
 * which requireAccessToken checks on every request before this handler runs.
 */
const ME_CACHE_MS = 30_000;
const ME_CACHE_MAX = 10_000;
const meCache = new Map<string, { user: ReturnType<typeof publicUser>; until: number }>();

/** Logout's optional `{"refresh_token"}` body; anything that is not JSON is simply no token. */
async function optionalBodyToken(c: Context<AppEnv>): Promise<string | undefined> {
  if (!/^application\/json\b/i.test(c.req.header("Content-Type") ?? "")) return undefined;
  const text = await c.req.text().catch(() => "");
  if (!text) return undefined;
  try {
    const parsed = RefreshBody.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.refresh_token : undefined;
  } catch {
    return undefined;
  }
}

function tokenResponse(
  c: Context<AppEnv>,
  issued: IssuedTokens,
  status: 200 | 201,
  extra: { user?: ReturnType<typeof publicUser>; refreshTokenInBody?: boolean } = {},
) {
  noStore(c);
  setRefreshCookie(c, getConfig(c.env), issued.refreshToken, issued.refreshExpiresAt);
  return c.json(
    {
      ...(extra.user ? { user: extra.user } : {}),
      access_token: issued.accessToken,
      token_type: "Bearer",
      expires_in: issued.expiresIn,
      // Non-browser clients that sent the token in the body get its successor the same way.
      ...(extra.refreshTokenInBody ? { refresh_token: issued.refreshToken } : {}),
    },
    status,
  );
}
