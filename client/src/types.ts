/** Shapes of what the auth service answers and of what the client reports. */
import type { AccessTokenClaims } from "./jwt.js";
import type { browserTabs, TabCoordinator } from "./tabs.js";

/** GET /auth/me's `user`, and the `user` of register and login. */
export interface User {
  id: string;
  email: string;
  /** @deprecated the first of `roles`; kept one release. */
  role: string;
  roles: string[];
  email_verified: boolean;
  /** ISO 8601. */
  created_at: string;
}

/** One device (refresh-token family) of GET /auth/sessions. Times are ISO 8601. */
export interface SessionInfo {
  /** The family id: the access token's `sid`, and what `revokeSession()` takes. */
  id: string;
  client_id: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  user_agent: string | null;
  /** True for exactly the session of the token that asked. */
  current: boolean;
}

/** This tab's view of the signed-in session. */
export interface Session {
  accessToken: string;
  /** Decoded, not verified: for display and scheduling only. */
  claims: AccessTokenClaims;
  /** Epoch ms on THIS machine's clock (receipt time + `expires_in`), so server clock skew is moot. */
  expiresAt: number;
}

/**
 * What changed, as `onChange` reports it:
 * - `signed_in`: a new session, where this tab had none or another one (login, register, a restore
 *   from the cookie, or any of these in another tab);
 * - `refreshed`: a new access token for the same session (`sid`);
 * - `signed_out`: `logout()`, `logoutAll()` or revoking the current session, here or in another tab;
 * - `session_expired`: the service refused the refresh cookie (`invalid_grant`: expired, revoked,
 *   or ended on another device), so every tab is signed out.
 */
export type AuthEvent = "signed_in" | "refreshed" | "signed_out" | "session_expired";

/** An `onChange` listener. */
export type AuthChangeListener = (event: AuthEvent, session: Session | null) => void;

/** What `new AuthClient(...)` takes. */
export interface AuthClientOptions {
  /** URL of the auth service, e.g. `https://auth.example.com`. Paths given to `fetchWithAuth` are appended to it. */
  baseUrl: string;
  /**
   * Origins (`https://api.example.com`, scheme, host and port exactly) that `fetchWithAuth` may send
   * the access token to, besides the auth service's own. Any other URL is refused.
   */
  apiOrigins?: readonly string[];
  /** The OAuth client this application is, sent as `client_id` on register, login and refresh. */
  clientId?: string;
  /** Refresh this long before expiry (capped at a quarter of the token's life). Default 30. */
  refreshLeewaySeconds?: number;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof fetch;
  /** How tabs coordinate (default: {@link browserTabs}, Web Locks + BroadcastChannel). */
  tabs?: TabCoordinator;
  /** The clock, in epoch ms (default `Date.now`). */
  now?: () => number;
}

/** What `login` and `register` take. */
export interface Credentials {
  email: string;
  password: string;
}

/** What `changePassword` takes. */
export interface PasswordChange {
  currentPassword: string;
  newPassword: string;
}

/** What `resetPassword` takes: the token of the reset link, and the new password. */
export interface PasswordReset {
  token: string;
  newPassword: string;
}

/** What `changeEmail` takes. */
export interface EmailChange {
  newEmail: string;
  currentPassword: string;
}

/** The token of an emailed link (`readLinkToken()` finds it in the page's URL). */
export interface LinkToken {
  token: string;
}

/** What `createApiKey` takes. */
export interface NewApiKey {
  /** Shown in lists, 1 to 64 characters ("deploy from CI"). */
  name: string;
  /** Permissions the key may use: a subset of the user's own. Default: all of them. */
  scopes?: string[];
  /** Whole days until the key stops working (1 to 3650). Default: it does not expire. */
  expiresInDays?: number;
}

/** One API key of GET /auth/api-keys. Times are ISO 8601. Never the key itself. */
export interface ApiKey {
  /** The key's id: its `client_id` at the token endpoint, and what `revokeApiKey()` takes. */
  id: string;
  name: string;
  /** The key's first characters (`etsk_` and 6 more), to recognise it. */
  prefix: string;
  scopes: string[];
  created_at: string;
  /** The last exchange, at a one-hour grain; null if never used. */
  last_used_at: string | null;
  /** Null: it does not expire. */
  expires_at: string | null;
}

/** What `createApiKey` returns: the one and only time `key` is shown. */
export interface CreatedApiKey extends Omit<ApiKey, "last_used_at"> {
  /** The secret (`etsk_...`): show it once, let the user copy it, then drop it. */
  key: string;
}
