import { createMiddleware } from "hono/factory";
import { getConfig } from "../../config";
import type { AppEnv } from "../../env";
import { AuthError, invalidToken } from "../../errors";
import { getKeyMaterial } from "../../keys";
import { isAccessTokenRevoked } from "../../revocation";
import { InvalidAccessTokenError, verifyAccessToken } from "../../tokens";

/** Compact JWS of a reasonable size; anything longer is refused before parsing. */
const MAX_TOKEN_LENGTH = 4096;
const BEARER = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/;

/** Extracts the Bearer token of the Authorization header, or undefined when there is none. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (!authorization) return undefined;
  const match = BEARER.exec(authorization);
  if (!match || match[1]!.length > MAX_TOKEN_LENGTH) throw invalidToken("The Authorization header is not a valid Bearer token.");
  return match[1];
}

/**
 * Requires a valid, unrevoked access token and puts its claims on `c.var.claims`.
 * The revocation check (KV deny-list and per-user cutoff) is fail-closed: a KV error is a 503.
 */
export const requireAccessToken = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("Authorization"));
  if (!token) {
    throw new AuthError(401, "invalid_token", "A Bearer access token is required.", { "WWW-Authenticate": 'Bearer realm="auth"' });
  }
  const claims = await verifiedClaims(c.env, token);
  if (await isAccessTokenRevoked(c.env.REVOCATIONS, claims)) throw invalidToken("The access token has been revoked.");
  c.set("claims", claims);
  await next();
});

async function verifiedClaims(env: AppEnv["Bindings"], token: string) {
  const [config, keys] = [getConfig(env), await getKeyMaterial(env)];
  try {
    return await verifyAccessToken(token, keys, config);
  } catch (err) {
    if (err instanceof InvalidAccessTokenError) throw invalidToken(err.message);
    throw err;
  }
}
