/**
 * Browser client of the edge token service. The access token lives in memory only (never in
 * storage); the refresh token is the service's HttpOnly cookie, which this code never sees.
 */
import { AuthClientError, errorFromResponse, networkError } from "./errors.js";
import { decodeClaims } from "./jwt.js";
import { OriginPolicy } from "./origins.js";
import { SessionState } from "./session-state.js";
import { browserTabs, type TabCoordinator } from "./tabs.js";
import type {
  ApiKey,
  AuthChangeListener,
  AuthClientOptions,
  CreatedApiKey,
  Credentials,
  EmailChange,
  LinkToken,
  NewApiKey,
  PasswordChange,
  PasswordReset,
  Session,
  SessionInfo,
  User,
} from "./types.js";

interface TokenResponse {
  access_token: string;
  expires_in: number;
}

const JSON_HEADERS = { "Content-Type": "application/json" };
/** How long a tab that queued behind another tab's refresh waits for that tab's broadcast. */
const HANDOFF_WAIT_MS = 500;

const loginRequired = () => new AuthClientError(401, "login_required", "Not signed in.");

export class AuthClient {
  readonly #origins: OriginPolicy;
  readonly #clientId: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #tabs: TabCoordinator;
  readonly #leewayMs: number;
  readonly #now: () => number;
  readonly #state: SessionState;
  readonly #unsubscribe: () => void;
  #refreshing: Promise<Session | null> | null = null;

  /** @throws TypeError when `baseUrl` or an `apiOrigins` entry is not an http(s) origin. */
  constructor(options: AuthClientOptions) {
    this.#origins = new OriginPolicy(options.baseUrl, options.apiOrigins);
    this.#clientId = options.clientId;
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#tabs = options.tabs ?? browserTabs();
    this.#leewayMs = (options.refreshLeewaySeconds ?? 30) * 1000;
    this.#now = options.now ?? Date.now;
    this.#state = new SessionState(this.#tabs);
    this.#unsubscribe = this.#tabs.subscribe((message) => this.#state.receive(message));
  }

  /** The current session of this tab, or null when signed out. */
  get session(): Session | null {
    return this.#state.current;
  }

  /**
   * Called after every change of the session, in this tab or another: which event happened and the
   * new session (null after `signed_out` and `session_expired`). Returns the unsubscribe function.
   */
  onChange(listener: AuthChangeListener): () => void {
    return this.#state.subscribe(listener);
  }

  /**
   * Creates the account and signs in (every tab). Fails with `email_taken`, `invalid_request`. When
   * the service requires a verified email first, no session starts: the user verifies, then logs in.
   */
  register(credentials: Credentials): Promise<User> {
    return this.#signIn("/auth/register", credentials);
  }

  /** Signs in (every tab). Fails with `invalid_credentials` for an unknown email and a wrong password alike. */
  login(credentials: Credentials): Promise<User> {
    return this.#signIn("/auth/login", credentials);
  }

  /** On page load: resumes the session from the refresh cookie, if there is a live one. */
  restore(): Promise<Session | null> {
    return this.refresh();
  }

  /**
   * A fresh access token via the refresh cookie; null (and `session_expired` everywhere) when the
   * service refuses the cookie. Single-flight: one request per tab at a time and, through a Web
   * Lock, one across all tabs; a tab that queued behind another's refresh takes that tab's result.
   */
  refresh(): Promise<Session | null> {
    this.#refreshing ??= this.#refreshAcrossTabs().finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  /** Ends this session on the server (family revoked, cookie cleared) and in every tab. */
  async logout(): Promise<void> {
    await this.#tabs.exclusive(async () => {
      const token = this.#state.current?.accessToken;
      const res = await this.#call("/auth/logout", {
        method: "POST",
        credentials: "include",
        headers: { ...JSON_HEADERS, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: "{}",
      });
      if (!res.ok) throw await errorFromResponse(res);
      this.#state.clear("signed_out", true);
    });
  }

  /** Ends every session of the user, on every device, and signs out every tab here. */
  async logoutAll(): Promise<void> {
    // Under the lock, like logout: no other tab's refresh can land a live token after the broadcast.
    await this.#tabs.exclusive(async () => {
      const url = this.#origins.resolve("/auth/logout-all");
      const init = { method: "POST", credentials: "include", headers: JSON_HEADERS, body: "{}" } as const;
      const res = await this.#authorized(url, init, () => this.#refreshHoldingLock()).catch(rethrowTyped);
      if (!res.ok) throw await errorFromResponse(res);
      this.#state.clear("signed_out", true);
    });
  }

  /** The signed-in user (GET /auth/me). */
  async me(): Promise<User> {
    const res = await this.#api("/auth/me");
    return ((await res.json()) as { user: User }).user;
  }

  /** The user's live sessions, one per device (GET /auth/sessions). */
  async listSessions(): Promise<SessionInfo[]> {
    const res = await this.#api("/auth/sessions");
    return ((await res.json()) as { sessions: SessionInfo[] }).sessions;
  }

  /** Ends one session (DELETE /auth/sessions/:id). Ending this tab's own session signs out every tab. */
  async revokeSession(id: string): Promise<void> {
    await this.#api(`/auth/sessions/${encodeURIComponent(id)}`, { method: "DELETE" });
    if (this.#state.current?.claims.sid === id) this.#state.clear("signed_out", true);
  }

  /**
   * Changes the password (POST /auth/password). The service ends every other session and cuts off
   * the access tokens issued so far, this one included, so the client refreshes right away; should
   * that refresh fail, the next call refreshes instead.
   */
  async changePassword(change: PasswordChange): Promise<void> {
    const body = JSON.stringify({ current_password: change.currentPassword, new_password: change.newPassword });
    await this.#api("/auth/password", { method: "POST", headers: JSON_HEADERS, body });
    await this.refresh().catch(() => null);
  }

  /**
   * "Forgot password" (POST /auth/password/forgot): the service emails a reset link if the address
   * has an account, and answers the same either way.
   */
  async requestPasswordReset(request: { email: string }): Promise<void> {
    await this.#post("/auth/password/forgot", { email: request.email });
  }

  /**
   * Sets a new password with the token of a reset link (POST /auth/password/reset). The service
   * ends every session of the user, on every device: sign in again with the new password. Fails with
   * `invalid_request` (a used or expired link, or a refused password: the message names the field).
   */
  async resetPassword(reset: PasswordReset): Promise<void> {
    await this.#post("/auth/password/reset", { token: reset.token, new_password: reset.newPassword });
  }

  /** Uses a verification link's token (POST /auth/email/verify); a signed-in tab refreshes to get `email_verified: true`. */
  async verifyEmail(link: LinkToken): Promise<void> {
    await this.#post("/auth/email/verify", { token: link.token });
    if (this.#state.current) await this.refresh().catch(() => null);
  }

  /**
   * Sends a new verification link: to the signed-in user, or, given an `email` (a user who may not
   * log in before verifying), to that address if it has an unverified account (the answer is the
   * same either way).
   */
  async resendVerification(to: { email?: string } = {}): Promise<void> {
    if (to.email !== undefined) return void (await this.#post("/auth/email/verify/resend", { email: to.email }));
    await this.#api("/auth/email/verify/resend", { method: "POST", headers: JSON_HEADERS, body: "{}" });
  }

  /**
   * Asks to move the signed-in user to `newEmail` (POST /auth/email/change, with the current
   * password). The new address gets a confirmation link, the current one a notice; nothing changes
   * until the link is used (`confirmEmailChange`). Fails with `invalid_credentials`, `email_taken`.
   */
  async changeEmail(change: EmailChange): Promise<void> {
    const body = JSON.stringify({ new_email: change.newEmail, current_password: change.currentPassword });
    await this.#api("/auth/email/change", { method: "POST", headers: JSON_HEADERS, body });
  }

  /** Uses an email-change link's token (POST /auth/email/change/confirm); a signed-in tab refreshes. */
  async confirmEmailChange(link: LinkToken): Promise<void> {
    await this.#post("/auth/email/change/confirm", { token: link.token });
    if (this.#state.current) await this.refresh().catch(() => null);
  }

  /**
   * Creates an API key for scripts and CI (POST /auth/api-keys). The result holds the key itself,
   * which the service never shows again: display it once and keep no copy. Fails with
   * `invalid_request` (a scope the user lacks, too many keys).
   */
  async createApiKey(request: NewApiKey): Promise<CreatedApiKey> {
    const body = JSON.stringify({ name: request.name, scopes: request.scopes, expires_in_days: request.expiresInDays });
    const res = await this.#api("/auth/api-keys", { method: "POST", headers: JSON_HEADERS, body });
    return (await res.json()) as CreatedApiKey;
  }

  /** The user's API keys, newest first (GET /auth/api-keys); never the keys themselves. */
  async listApiKeys(): Promise<ApiKey[]> {
    const res = await this.#api("/auth/api-keys");
    return ((await res.json()) as { api_keys: ApiKey[] }).api_keys;
  }

  /** Revokes one API key (DELETE /auth/api-keys/:id): its exchanges and its access tokens are refused at once. */
  async revokeApiKey(id: string): Promise<void> {
    await this.#api(`/auth/api-keys/${encodeURIComponent(id)}`, { method: "DELETE" });
  }

  /** Revokes every API key of the user at once (DELETE /auth/api-keys). */
  async revokeAllApiKeys(): Promise<void> {
    await this.#api("/auth/api-keys", { method: "DELETE" });
  }

  /**
   * `fetch` with `Authorization: Bearer`: refreshes first when the token is about to expire, and
   * once more (then retries once) when the server answers 401. A path is appended to `baseUrl`; a
   * full URL must be on the auth service's origin or one of `apiOrigins`, or the call throws
   * {@link UntrustedOriginError} before any request. The body must be replayable (not a stream).
   */
  async fetchWithAuth(input: string | URL, init: RequestInit = {}): Promise<Response> {
    const url = this.#origins.resolve(input);
    return this.#authorized(url, init, () => this.refresh());
  }

  /** Stops listening to the other tabs. */
  close(): void {
    this.#unsubscribe();
    this.#tabs.close();
  }

  async #signIn(path: string, credentials: Credentials): Promise<User> {
    // Under the lock: the new cookie must not land in the middle of another tab's refresh.
    return this.#tabs.exclusive(async () => {
      const body = this.#withClientId({ email: credentials.email, password: credentials.password });
      const res = await this.#call(path, { method: "POST", credentials: "include", headers: JSON_HEADERS, body });
      if (!res.ok) throw await errorFromResponse(res);
      const data = (await res.json()) as Partial<TokenResponse> & { user: User };
      // No token: the account exists but must verify its email before the first session.
      if (data.access_token !== undefined) this.#state.set(this.#sessionFrom(data as TokenResponse), true);
      return data.user;
    });
  }

  #refreshAcrossTabs(): Promise<Session | null> {
    const seen = this.#state.version;
    return this.#tabs.exclusive(async (waited) => {
      // The lock and the channel are separate mechanisms, with no order between them: when another
      // tab held the lock, its result may still be in flight. Without it, refreshing anyway is
      // safe (strictly after the other tab, with the cookie it rotated), only wasteful.
      if (waited && this.#state.version === seen) await this.#state.changeOrTimeout(HANDOFF_WAIT_MS);
      const session = this.#state.current;
      if (this.#state.version !== seen && (session === null || !this.#expiresSoon(session))) return session;
      return this.#refreshHoldingLock();
    });
  }

  /**
   * The refresh request itself; the caller holds the cross-tab lock. A refresh that got no answer, or a
   * 503 or a short 429, is tried again at once (after `Retry-After`): the service answers a retry of
   * the same token with the same new one only within its grace window (10 s by default), and after
   * it takes a replay of the old token for theft and ends the session.
   */
  async #refreshHoldingLock(): Promise<Session | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#refreshOnce();
      } catch (err) {
        const wait = err instanceof AuthClientError ? refreshRetryDelayMs(err) : undefined;
        if (wait === undefined || attempt >= REFRESH_ATTEMPTS) throw err;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  async #refreshOnce(): Promise<Session | null> {
    const res = await this.#call("/auth/refresh", { method: "POST", credentials: "include", headers: JSON_HEADERS, body: this.#withClientId({}) });
    if (res.ok) {
      const fresh = this.#sessionFrom((await res.json()) as TokenResponse);
      this.#state.set(fresh, true);
      return fresh;
    }
    const error = await errorFromResponse(res);
    // The cookie is shared by every tab: when the service refuses it, all of them are signed out.
    if (error.code === "invalid_grant") {
      this.#state.clear("session_expired", true);
      return null;
    }
    throw error;
  }

  /** The request with the current token: refreshed first if it expires soon, and once on a 401 (then retried once). */
  async #authorized(url: URL, init: RequestInit, refresh: () => Promise<Session | null>): Promise<Response> {
    let session = this.#state.current;
    if (!session || this.#expiresSoon(session)) session = await refresh();
    if (!session) throw loginRequired();
    const res = await this.#withToken(url, init, session.accessToken);
    if (res.status !== 401) return res;
    const current = this.#state.current;
    const renewed = current && current.accessToken !== session.accessToken ? current : await refresh();
    if (!renewed || renewed.accessToken === session.accessToken) return res;
    return this.#withToken(url, init, renewed.accessToken);
  }

  /**
   * A call of the service's own API through {@link fetchWithAuth}; every failure is an {@link AuthClientError}.
   * The access token is its whole authority: it never sends the refresh cookie, which on a same-origin
   * deployment would put a DELETE without a JSON body under the service's CSRF guard (403).
   */
  async #api(path: string, init: RequestInit = {}): Promise<Response> {
    const res = await this.fetchWithAuth(path, { credentials: "omit", ...init }).catch(rethrowTyped);
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }

  #expiresSoon(session: Session): boolean {
    const lifetimeMs = (session.claims.exp - session.claims.iat) * 1000;
    return session.expiresAt - this.#now() <= Math.min(this.#leewayMs, lifetimeMs / 4);
  }

  #sessionFrom(data: TokenResponse): Session {
    return { accessToken: data.access_token, claims: decodeClaims(data.access_token), expiresAt: this.#now() + data.expires_in * 1000 };
  }

  #withClientId(body: Record<string, string>): string {
    return JSON.stringify(this.#clientId === undefined ? body : { ...body, client_id: this.#clientId });
  }

  #withToken(url: URL, init: RequestInit, token: string): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${token}`);
    return this.#fetch(url.href, { ...init, headers });
  }

  /** A JSON POST that needs no session (the account-email links); every failure is an {@link AuthClientError}. */
  async #post(path: string, body: Record<string, string>): Promise<void> {
    const res = await this.#call(path, { method: "POST", headers: JSON_HEADERS, body: JSON.stringify(body) });
    if (!res.ok) throw await errorFromResponse(res);
  }

  async #call(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.#fetch(this.#origins.baseUrl + path, init);
    } catch (err) {
      throw networkError(err);
    }
  }
}

/** Tries of one refresh, and the longest wait between two: all of them well inside the grace window. */
const REFRESH_ATTEMPTS = 3;
const MAX_REFRESH_RETRY_WAIT_MS = 3_000;

/** How long to wait before trying a failed refresh again; undefined: do not. */
function refreshRetryDelayMs(error: AuthClientError): number | undefined {
  if (error.status !== 0 && error.status !== 503 && error.status !== 429) return undefined;
  const waitMs = (error.retryAfterSeconds ?? 1) * 1000;
  return waitMs <= MAX_REFRESH_RETRY_WAIT_MS ? waitMs : undefined;
}

function rethrowTyped(err: unknown): never {
  throw err instanceof AuthClientError ? err : networkError(err);
}
