/**
 * Browser client of the edge token service. The access token lives in memory only (never in
 * storage); the refresh token is the service's HttpOnly cookie, which this code never sees.
 */
import { AuthClientError, errorFromResponse } from "./errors";
import { decodeClaims, type AccessTokenClaims } from "./jwt";
import { browserTabs, type TabCoordinator, type TabMessage } from "./tabs";

export interface User {
  id: string;
  email: string;
  role: string;
  created_at: string;
}

export interface Session {
  accessToken: string;
  /** Decoded, not verified: for display and scheduling only. */
  claims: AccessTokenClaims;
  /** Epoch ms on THIS machine's clock (receipt time + `expires_in`), so server clock skew is moot. */
  expiresAt: number;
}

export interface AuthClientOptions {
  /** Origin of the auth service, e.g. `http://localhost:8787`. Paths given to fetchWithAuth resolve against it. */
  baseUrl: string;
  /** Refresh this long before expiry (capped at a quarter of the token's life). Default 30. */
  refreshLeewaySeconds?: number;
  fetch?: typeof fetch;
  tabs?: TabCoordinator;
  now?: () => number;
}

interface TokenResponse {
  access_token: string;
  expires_in: number;
}

const JSON_HEADERS = { "Content-Type": "application/json" };
/** How long a tab that queued behind another tab's refresh waits for that tab's broadcast. */
const HANDOFF_WAIT_MS = 500;

export class AuthClient {
  readonly #baseUrl: string;
  readonly #fetch: typeof fetch;
  readonly #tabs: TabCoordinator;
  readonly #leewayMs: number;
  readonly #now: () => number;
  readonly #listeners = new Set<(session: Session | null) => void>();
  readonly #unsubscribe: () => void;
  #session: Session | null = null;
  /** Bumped on every change of the session, so a queued refresh can see that another tab already did it. */
  #version = 0;
  #refreshing: Promise<Session | null> | null = null;
  readonly #changeWaiters = new Set<() => void>();

  constructor(options: AuthClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/$/, "");
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#tabs = options.tabs ?? browserTabs();
    this.#leewayMs = (options.refreshLeewaySeconds ?? 30) * 1000;
    this.#now = options.now ?? Date.now;
    this.#unsubscribe = this.#tabs.subscribe((message) => this.#onTabMessage(message));
  }

  get session(): Session | null {
    return this.#session;
  }

  /** Called with the new session (or null) after every login, refresh, logout, in this tab or another. */
  onChange(listener: (session: Session | null) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  register(email: string, password: string): Promise<User> {
    return this.#signIn("/auth/register", { email, password });
  }

  login(email: string, password: string): Promise<User> {
    return this.#signIn("/auth/login", { email, password });
  }

  /** On page load: resumes the session from the refresh cookie, if there is a live one. */
  restore(): Promise<Session | null> {
    return this.refresh();
  }

  /**
   * A fresh access token via the refresh cookie; null (and signed out everywhere) when the service
   * refuses the cookie. Single-flight: one request per tab at a time and, through a Web Lock, one
   * across all tabs; a tab that queued behind another's refresh takes that tab's result.
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
      const token = this.#session?.accessToken;
      const res = await this.#call("/auth/logout", {
        method: "POST",
        credentials: "include",
        headers: { ...JSON_HEADERS, ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: "{}",
      });
      if (!res.ok) throw await errorFromResponse(res);
      this.#setSession(null, true);
    });
  }

  /**
   * `fetch` with `Authorization: Bearer`: refreshes first when the token is about to expire, and
   * once more (then retries once) when the server answers 401. A path resolves against `baseUrl`;
   * a full URL (a downstream API) is used as is. The body must be replayable (not a stream).
   */
  async fetchWithAuth(input: string | URL, init: RequestInit = {}): Promise<Response> {
    let session = this.#session;
    if (!session || this.#expiresSoon(session)) session = await this.refresh();
    if (!session) throw new AuthClientError(401, "login_required", "Not signed in.");
    const res = await this.#withToken(input, init, session.accessToken);
    if (res.status !== 401) return res;
    const current = this.#session;
    const renewed = current && current.accessToken !== session.accessToken ? current : await this.refresh();
    if (!renewed || renewed.accessToken === session.accessToken) return res;
    return this.#withToken(input, init, renewed.accessToken);
  }

  close(): void {
    this.#unsubscribe();
    this.#tabs.close();
  }

  async #signIn(path: string, body: { email: string; password: string }): Promise<User> {
    // Under the lock: the new cookie must not land in the middle of another tab's refresh.
    return this.#tabs.exclusive(async () => {
      const res = await this.#call(path, { method: "POST", credentials: "include", headers: JSON_HEADERS, body: JSON.stringify(body) });
      if (!res.ok) throw await errorFromResponse(res);
      const data = (await res.json()) as TokenResponse & { user: User };
      this.#setSession(this.#sessionFrom(data), true);
      return data.user;
    });
  }

  #refreshAcrossTabs(): Promise<Session | null> {
    const seen = this.#version;
    return this.#tabs.exclusive(async (waited) => {
      // The lock and the channel are separate mechanisms, with no order between them: when another
      // tab held the lock, its result may still be in flight. Without it, refreshing anyway is
      // safe (strictly after the other tab, with the cookie it rotated), only wasteful.
      if (waited && this.#version === seen) await this.#changeOrTimeout(HANDOFF_WAIT_MS);
      const session = this.#session;
      if (this.#version !== seen && (session === null || !this.#expiresSoon(session))) return session;
      const res = await this.#call("/auth/refresh", { method: "POST", credentials: "include", headers: JSON_HEADERS, body: "{}" });
      if (res.ok) {
        const fresh = this.#sessionFrom((await res.json()) as TokenResponse);
        this.#setSession(fresh, true);
        return fresh;
      }
      const error = await errorFromResponse(res);
      // The cookie is shared by every tab: when the service refuses it, all of them are signed out.
      if (error.code === "invalid_grant") {
        this.#setSession(null, true);
        return null;
      }
      throw error;
    });
  }

  /** Resolves on the next session change (e.g. another tab's broadcast) or after `ms`. */
  #changeOrTimeout(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#changeWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#changeWaiters.add(done);
    });
  }

  #expiresSoon(session: Session): boolean {
    const lifetimeMs = (session.claims.exp - session.claims.iat) * 1000;
    return session.expiresAt - this.#now() <= Math.min(this.#leewayMs, lifetimeMs / 4);
  }

  #sessionFrom(data: TokenResponse): Session {
    return { accessToken: data.access_token, claims: decodeClaims(data.access_token), expiresAt: this.#now() + data.expires_in * 1000 };
  }

  #setSession(session: Session | null, broadcast: boolean) {
    this.#session = session;
    this.#version++;
    if (broadcast) {
      this.#tabs.publish(session ? { type: "session", accessToken: session.accessToken, expiresAt: session.expiresAt } : { type: "signed-out" });
    }
    for (const waiter of [...this.#changeWaiters]) waiter();
    for (const listener of this.#listeners) listener(session);
  }

  #onTabMessage(message: TabMessage) {
    if (message.type === "signed-out") {
      if (this.#session) this.#setSession(null, false);
      return;
    }
    if (this.#session && this.#session.expiresAt > message.expiresAt) return; // an older token than ours
    this.#setSession({ accessToken: message.accessToken, claims: decodeClaims(message.accessToken), expiresAt: message.expiresAt }, false);
  }

  #withToken(input: string | URL, init: RequestInit, token: string): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${token}`);
    const url = typeof input === "string" && input.startsWith("/") ? this.#baseUrl + input : input;
    return this.#fetch(url, { ...init, headers });
  }

  async #call(path: string, init: RequestInit): Promise<Response> {
    try {
      return await this.#fetch(this.#baseUrl + path, init);
    } catch (err) {
      throw new AuthClientError(0, "network_error", err instanceof Error ? err.message : String(err));
    }
  }
}

