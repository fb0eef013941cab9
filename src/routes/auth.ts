/** /auth/register, /auth/login, /auth/refresh, /auth/logout, /auth/logout-all, /auth/me */
import { Hono, type Context } from "hono";
import * as z from "zod/mini";
import { publicUser, type PublicUser } from "../accounts/service";
import type { AppEnv } from "../app-env";
import { bearerToken, requireAccessToken, requireLiveSession } from "../middleware/bearer";
import { rateLimitByNetwork } from "../middleware/rate-limit";
import { readRefreshCookie, clearRefreshCookie, setRefreshCookie } from "../middleware/refresh-cookie";
import type { IssuedSession } from "../sessions/service";
import { background, boundedString, clientIdField, clientInfo, email, jsonBody } from "./context";

/** Request schemas, exported for the API description (src/routes/openapi-operations.ts). */
export const RegisterBody = z.object({ email, password: boundedString(8, 256), client_id: clientIdField });
export const LoginBody = z.object({ email: z.string().check(z.trim(), z.minLength(1), z.maxLength(254)), password: boundedString(1, 256), client_id: clientIdField });
/** Also logout's optional body. */
export const RefreshBody = z.object({ refresh_token: z.optional(boundedString(0, 4096)), client_id: clientIdField });

export const authRoutes = new Hono<AppEnv>();

authRoutes.post("/register", rateLimitByNetwork("REGISTER_RATE_LIMITER"), jsonBody(RegisterBody), async (c) => {
  const { client_id, ...credentials } = c.req.valid("json");
  const services = c.get("services");
  const { user, session } = await services.lifecycle.register(credentials, services.clients.resolve(client_id).id, clientInfo(c), background(c));
  // REQUIRE_VERIFIED_EMAIL: the account exists, the session starts at the first login after verifying.
  if (!session) return c.json({ user }, 201);
  return tokenResponse(c, session, 201, { user });
});

authRoutes.post("/login", rateLimitByNetwork("LOGIN_RATE_LIMITER"), jsonBody(LoginBody), async (c) => {
  const { client_id, ...credentials } = c.req.valid("json");
  const services = c.get("services");
  const { user, session } = await services.accounts.login(credentials, services.clients.resolve(client_id).id, clientInfo(c));
  return tokenResponse(c, session, 200, { user: publicUser(user) });
});

authRoutes.post("/refresh", rateLimitByNetwork("REFRESH_RATE_LIMITER"), jsonBody(RefreshBody), async (c) => {
  const fromCookie = readRefreshCookie(c);
  const { refresh_token, client_id } = c.req.valid("json");
  const services = c.get("services");
  // A named client must exist and own the family; naming none keeps today's behaviour.
  const clientId = client_id === undefined ? undefined : services.clients.resolve(client_id).id;
  const session = await services.sessions.refresh(fromCookie ?? refresh_token, clientInfo(c), clientId);
  // Non-browser clients that sent the token in the body get its successor the same way.
  return tokenResponse(c, session, 200, { refreshTokenInBody: fromCookie === undefined });
});

authRoutes.post("/logout", async (c) => {
  const refreshToken = readRefreshCookie(c) ?? (await optionalBodyToken(c));
  await c.get("services").sessions.logout({ refreshToken, accessToken: bearerToken(c.req.header("Authorization")) }, clientInfo(c));
  clearRefreshCookie(c, c.get("services").config);
  return c.body(null, 204);
});

authRoutes.post("/logout-all", requireAccessToken, requireLiveSession, async (c) => {
  const { sub, sid } = c.get("claims");
  await c.get("services").sessions.revokeAll(sub, sid, clientInfo(c));
  clearRefreshCookie(c, c.get("services").config);
  return c.body(null, 204);
});

authRoutes.get("/me", requireAccessToken, async (c) => c.json({ user: await c.get("services").accounts.profile(c.get("claims").sub) }));

/** Logout's optional `{"refresh_token"}` body; anything that is not JSON is simply no token. */
async function optionalBodyToken(c: Context<AppEnv>): Promise<string | undefined> {
  if (!/^application\/json\b/i.test(c.req.header("Content-Type") ?? "")) return undefined;
  try {
    const parsed = RefreshBody.safeParse(JSON.parse(await c.req.text()));
    return parsed.success ? parsed.data.refresh_token : undefined;
  } catch {
    return undefined;
  }
}

function tokenResponse(c: Context<AppEnv>, session: IssuedSession, status: 200 | 201, extra: { user?: PublicUser; refreshTokenInBody?: boolean } = {}) {
  setRefreshCookie(c, c.get("services").config, session.refreshToken, session.refreshExpiresAt);
  return c.json(
    {
      ...(extra.user ? { user: extra.user } : {}),
      access_token: session.accessToken,
      token_type: "Bearer",
      expires_in: session.expiresIn,
      ...(extra.refreshTokenInBody ? { refresh_token: session.refreshToken } : {}),
    },
    status,
  );
}
