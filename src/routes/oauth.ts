/**
 * The standard OAuth 2.0 / OIDC endpoints, for the client libraries downstream teams already use:
 * POST /oauth/token (RFC 6749 section 6, refresh grant; section 4.4, client_credentials with an API
 * key as the client secret), POST /oauth/revoke (RFC 7009),
 * POST /oauth/introspect (RFC 7662, for resource servers), GET|POST /oauth/userinfo (OIDC Core 5.3).
 * Form bodies, RFC 6749 section 5.2 errors (invalid_grant is 400 here, see src/errors.ts).
 */
import { Hono, type Context } from "hono";
import * as z from "zod/mini";
import type { AppEnv } from "../app-env";
import { DomainError, rateLimited } from "../domain-errors";
import { requireAccessToken } from "../middleware/bearer";
import { rateLimitByNetwork } from "../middleware/rate-limit";
import { background, boundedString, clientInfo, formBody } from "./context";

export const TokenRequest = z.object({
  grant_type: boundedString(1, 64),
  refresh_token: z.optional(boundedString(1, 4096)),
  client_id: z.optional(boundedString(1, 64)),
  client_secret: z.optional(boundedString(1, 256)),
  scope: z.optional(boundedString(0, 1024)),
});
export const RevocationRequest = z.object({
  token: boundedString(1, 4096),
  token_type_hint: z.optional(boundedString(1, 64)),
  client_id: z.optional(boundedString(1, 64)),
  client_secret: z.optional(boundedString(1, 256)),
});
export const IntrospectionRequest = z.object({
  token: boundedString(1, 4096),
  token_type_hint: z.optional(boundedString(1, 64)),
  client_id: z.optional(boundedString(1, 64)),
  client_secret: z.optional(boundedString(1, 256)),
});

export const oauthRoutes = new Hono<AppEnv>();

/** The challenge of a 401 at the token and revocation endpoints to a client that used HTTP Basic. */
const TOKEN_CHALLENGE = 'Basic realm="token"';

/**
 * Public clients identify themselves with `client_id` (RFC 6749 section 3.2.1), in the form or as the
 * user name of HTTP Basic (`basic`) with an empty password; it is required here. A refusal of a
 * client that used the Authorization header carries a Basic challenge (section 5.2).
 */
function requireClient(c: Context<AppEnv>, basic: BasicCredentials | undefined, formId: string | undefined) {
  if (basic && basic.secret !== "") throw new DomainError("invalid_client", "This client is public: it has no secret.", { challenge: TOKEN_CHALLENGE });
  if (basic && formId !== undefined && formId !== basic.id) throw new DomainError("invalid_request", "client_id differs from the Basic user name.");
  const clientId = basic?.id ?? formId;
  if (clientId === undefined) throw new DomainError("invalid_client", "client_id is required.");
  try {
    return c.get("services").clients.resolve(clientId);
  } catch (err) {
    if (basic && err instanceof DomainError && err.code === "invalid_client") throw new DomainError("invalid_client", err.message, { challenge: TOKEN_CHALLENGE });
    throw err;
  }
}

oauthRoutes.post("/token", rateLimitByNetwork("REFRESH_RATE_LIMITER"), formBody(TokenRequest), async (c) => {
  const { grant_type, refresh_token, client_id, client_secret, scope } = c.req.valid("form");
  if (grant_type === "client_credentials") {
    // Any Authorization header here must be the key's Basic credentials.
    const { id, secret } = clientCredentials(basicCredentials(c.req.header("Authorization"), TOKEN_CHALLENGE), client_id, client_secret);
    const issued = await c.get("services").apiKeys.exchange({ clientId: id, secret, scope }, background(c));
    // RFC 6749 section 4.4.3: no refresh token; the key is exchanged again when the token expires.
    const granted = issued.scopes.length > 0 ? { scope: issued.scopes.join(" ") } : {};
    return c.json({ access_token: issued.accessToken, token_type: "Bearer", expires_in: issued.expiresIn, ...granted });
  }
  if (grant_type !== "refresh_token") {
    throw new DomainError("unsupported_grant_type", "This grant_type is not supported; this server issues refresh_token and client_credentials grants.");
  }
  const client = requireClient(c, basicCredentials(basicHeader(c), TOKEN_CHALLENGE), client_id);
  if (refresh_token === undefined) throw new DomainError("invalid_request", "refresh_token: required", { field: "refresh_token" });
  const session = await c.get("services").sessions.refresh(refresh_token, clientInfo(c), client.id);
  return c.json({ access_token: session.accessToken, token_type: "Bearer", expires_in: session.expiresIn, refresh_token: session.refreshToken });
});

oauthRoutes.post("/revoke", formBody(RevocationRequest), async (c) => {
  const { token, client_id, client_secret } = c.req.valid("form");
  const services = c.get("services");
  const basic = basicCredentials(basicHeader(c), TOKEN_CHALLENGE);
  // A client with a secret is an API key (the only confidential clients): it may revoke its own tokens.
  if (client_secret !== undefined || (basic?.secret ?? "") !== "") {
    const credentials = clientCredentials(basic, client_id, client_secret);
    await services.apiKeys.revokeOwnToken({ clientId: credentials.id, secret: credentials.secret }, token);
    return c.body(null, 200);
  }
  const client = requireClient(c, basic, client_id);
  await services.sessions.revokeToken(token, client.id, clientInfo(c));
  // RFC 7009 section 2.2: 200 whether or not the token was valid, known or already revoked.
  return c.body(null, 200);
});

oauthRoutes.post("/introspect", formBody(IntrospectionRequest), async (c) => {
  const { token, client_id, client_secret } = c.req.valid("form");
  const services = c.get("services");
  const basic = basicCredentials(c.req.header("Authorization"), 'Basic realm="introspection"');
  const resourceServer = await services.clients.authenticateResourceServer(basic?.id ?? client_id, basic?.secret ?? client_secret);
  if (!(await services.introspectionLimiter.allows(resourceServer))) throw rateLimited();
  const claims = await services.sessions.introspect(token);
  if (!claims) return c.json({ active: false });
  return c.json({ active: true, token_type: "Bearer", ...claims });
});

const userinfo = (c: Context<AppEnv>) =>
  c.get("services").accounts.profile(c.get("claims").sub).then((user) =>
    c.json({ sub: user.id, email: user.email, email_verified: user.email_verified, roles: user.roles, role: user.role }),
  );
oauthRoutes.get("/userinfo", requireAccessToken, userinfo);
oauthRoutes.post("/userinfo", requireAccessToken, userinfo);

/**
 * The credentials of a confidential client (an API key): HTTP Basic (client_secret_basic) or the
 * form's client_id and client_secret (client_secret_post), never both (RFC 6749 section 2.3).
 */
function clientCredentials(basic: BasicCredentials | undefined, formId: string | undefined, formSecret: string | undefined) {
  if (!basic) return { id: formId, secret: formSecret };
  if (formSecret !== undefined || (formId !== undefined && formId !== basic.id)) {
    throw new DomainError("invalid_request", "Use one client authentication method (HTTP Basic or the form), not both.");
  }
  return basic;
}

/**
 * The Authorization header when it is HTTP Basic, the only client authentication here: another
 * scheme (a Bearer token a shared HTTP client adds to every request) is not the client's, and ignored.
 */
const basicHeader = (c: Context<AppEnv>) => {
  const header = c.req.header("Authorization");
  return header !== undefined && /^Basic\s/i.test(header) ? header : undefined;
};

interface BasicCredentials {
  id: string;
  secret: string;
}

/**
 * `Authorization: Basic` with the id and secret form-urlencoded first (RFC 6749 section 2.3.1);
 * undefined without one, `invalid_client` (with `challenge`) when it is malformed.
 */
function basicCredentials(header: string | undefined, challenge: string): BasicCredentials | undefined {
  const encoded = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header ?? "")?.[1];
  if (!header) return undefined;
  try {
    const decoded = atob(encoded ?? "!");
    const colon = decoded.indexOf(":");
    if (colon < 0) throw new Error("no colon");
    const form = (text: string) => decodeURIComponent(text.replace(/\+/g, " "));
    return { id: form(decoded.slice(0, colon)), secret: form(decoded.slice(colon + 1)) };
  } catch {
    throw new DomainError("invalid_client", "The Authorization header is not valid Basic credentials.", { challenge });
  }
}
