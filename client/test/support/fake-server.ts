/**
 * An in-memory stand-in for the auth service, strict where the client's correctness shows:
 * refresh tokens rotate and ANY second use of one revokes its family (the real service forgives a
 * retry inside its grace window; this one does not, so a client that lets two refreshes race fails).
 */

export const AUTH_ORIGIN = "https://auth.example.com";
export const ACCESS_TTL_SECONDS = 900;

export interface ServerRequest {
  method: string;
  url: URL;
  headers: Headers;
  body: Record<string, unknown>;
  /** The refresh cookie the browser attached, if any. */
  cookie: string | undefined;
}

export interface ServerAnswer {
  status: number;
  body?: unknown;
  /** A new refresh cookie; null clears it. */
  setCookie?: string | null;
}

interface Account {
  id: string;
  email: string;
  password: string;
  createdAt: string;
  verified: boolean;
}

/** A link the fake service "emailed": the page it opens and its token. */
export interface SentLink {
  to: string;
  page: "verify-email" | "reset-password" | "confirm-email-change";
  token: string;
}

interface PendingLink extends SentLink {
  accountId: string;
  newEmail?: string;
}

interface Family {
  id: string;
  userId: string;
  clientId: string;
  generation: number;
  revoked: boolean;
  userAgent: string;
}

interface StoredApiKey {
  id: string;
  userId: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: string;
  expires_at: string | null;
  revoked: boolean;
}

interface AccessToken {
  sub: string;
  sid: string;
  exp: number;
}

const fail = (status: number, error: string): ServerAnswer => ({ status, body: { error, error_description: error } });
const base64url = (value: unknown) => btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

export class FakeAuthServer {
  readonly #accounts = new Map<string, Account>();
  readonly #families = new Map<string, Family>();
  readonly #tokens = new Map<string, AccessToken>();
  readonly #links = new Map<string, PendingLink>();
  readonly #apiKeys = new Map<string, StoredApiKey>();
  #serial = 0;
  /** Every link emailed so far. */
  readonly outbox: SentLink[] = [];
  /** Like REQUIRE_VERIFIED_EMAIL: registration starts no session, an unverified login is refused. */
  requireVerifiedEmail = false;

  /** Answers one request to the auth service's origin. */
  handle(req: ServerRequest): ServerAnswer {
    const path = req.url.pathname;
    const route = `${req.method} ${path.startsWith("/auth/sessions/") ? "/auth/sessions/:id" : path.startsWith("/auth/api-keys/") ? "/auth/api-keys/:id" : path}`;
    if (req.method === "POST" && req.headers.get("Content-Type") !== "application/json") return fail(403, "invalid_origin");
    switch (route) {
      case "POST /auth/register":
        return this.#register(req);
      case "POST /auth/login":
        return this.#login(req);
      case "POST /auth/refresh":
        return this.#refresh(req);
      case "POST /auth/logout":
        return this.#logout(req);
      case "POST /auth/password/forgot":
        return this.#forgot(req);
      case "POST /auth/password/reset":
        return this.#reset(req);
      case "POST /auth/email/verify":
        return this.#useLink(req, "verify-email", (account) => void (account.verified = true));
      case "POST /auth/email/change/confirm":
        return this.#useLink(req, "confirm-email-change", (account, link) => Object.assign(account, { email: link.newEmail, verified: true }));
    }
    if (route === "POST /auth/email/verify/resend" && !req.headers.has("Authorization")) {
      const account = this.#accountByEmail(String(req.body.email));
      if (account && !account.verified) this.#sendLink(account, "verify-email");
      return { status: 202 };
    }
    const token = this.#authenticate(req);
    if (!token) return fail(401, "invalid_token");
    const account = [...this.#accounts.values()].find((a) => a.id === token.sub)!;
    switch (route) {
      case "GET /auth/me":
        return { status: 200, body: { user: this.#publicUser(account) } };
      case "GET /auth/sessions":
        return { status: 200, body: { sessions: this.#sessionsOf(token) } };
      case "DELETE /auth/sessions/:id":
        return this.#revokeSession(token, decodeURIComponent(path.slice("/auth/sessions/".length)));
      case "POST /auth/logout-all":
        for (const family of this.#families.values()) if (family.userId === token.sub) family.revoked = true;
        return { status: 204, setCookie: null };
      case "POST /auth/password":
        return this.#changePassword(req, account, token);
      case "POST /auth/email/verify/resend":
        if (account.verified) return fail(400, "invalid_request");
        this.#sendLink(account, "verify-email");
        return { status: 202 };
      case "POST /auth/api-keys":
        return this.#createApiKey(req, account);
      case "GET /auth/api-keys":
        return { status: 200, body: { api_keys: this.#apiKeysOf(account).map(({ userId: _u, revoked: _r, ...key }) => ({ ...key, last_used_at: null })) } };
      case "DELETE /auth/api-keys/:id": {
        const key = this.#apiKeys.get(decodeURIComponent(path.slice("/auth/api-keys/".length)));
        if (!key || key.userId !== account.id) return fail(404, "invalid_request");
        key.revoked = true;
        return { status: 204 };
      }
      case "DELETE /auth/api-keys":
        for (const key of this.#apiKeysOf(account)) key.revoked = true;
        return { status: 204 };
      case "POST /auth/email/change":
        if (req.body.current_password !== account.password) return fail(401, "invalid_credentials");
        if (this.#accountByEmail(String(req.body.new_email))) return fail(409, "email_taken");
        this.#sendLink(account, "confirm-email-change", String(req.body.new_email));
        return { status: 202 };
    }
    return fail(404, "invalid_request");
  }

  /** Whether an API key exists and is not revoked (what an exchange would check). */
  isApiKeyLive(id: string): boolean {
    return this.#apiKeys.get(id)?.revoked === false;
  }

  /** Ends a session as another device (or an administrator) would. */
  revokeFamily(sid: string): void {
    this.#families.get(sid)!.revoked = true;
  }

  /** Makes every access token issued so far unacceptable, as an emergency key rotation does. */
  dropAccessTokens(): void {
    this.#tokens.clear();
  }

  isFamilyLive(sid: string): boolean {
    return this.#families.get(sid)?.revoked === false;
  }

  #register(req: ServerRequest): ServerAnswer {
    const { email, password } = req.body as { email: string; password: string };
    if ([...this.#accounts.values()].some((a) => a.email === email)) return fail(409, "email_taken");
    const account = { id: `user-${++this.#serial}`, email, password, createdAt: new Date().toISOString(), verified: false };
    this.#accounts.set(account.id, account);
    this.#sendLink(account, "verify-email");
    if (this.requireVerifiedEmail) return { status: 201, body: { user: this.#publicUser(account) } };
    return this.#startSession(account, req, 201);
  }

  #login(req: ServerRequest): ServerAnswer {
    const { email, password } = req.body as { email: string; password: string };
    const account = [...this.#accounts.values()].find((a) => a.email === email);
    if (!account || account.password !== password) return fail(401, "invalid_credentials");
    if (this.requireVerifiedEmail && !account.verified) return fail(403, "email_not_verified");
    return this.#startSession(account, req, 200);
  }

  #startSession(account: Account, req: ServerRequest, status: number): ServerAnswer {
    const clientId = typeof req.body.client_id === "string" ? req.body.client_id : "web";
    const family = { id: `sid-${++this.#serial}`, userId: account.id, clientId, generation: 0, revoked: false, userAgent: req.headers.get("User-Agent") ?? "" };
    this.#families.set(family.id, family);
    return { status, body: { user: this.#publicUser(account), ...this.#issue(family) }, setCookie: `${family.id}.0` };
  }

  #refresh(req: ServerRequest): ServerAnswer {
    const [sid, generation] = (req.cookie ?? "").split(".");
    const family = this.#families.get(sid ?? "");
    if (!family || family.revoked) return { ...fail(401, "invalid_grant"), setCookie: null };
    if (Number(generation) !== family.generation) {
      family.revoked = true; // reuse of a rotated token
      return { ...fail(401, "invalid_grant"), setCookie: null };
    }
    family.generation++;
    return { status: 200, body: this.#issue(family), setCookie: `${family.id}.${family.generation}` };
  }

  #logout(req: ServerRequest): ServerAnswer {
    const family = this.#families.get((req.cookie ?? "").split(".")[0] ?? "");
    if (family) family.revoked = true;
    const token = this.#authenticate(req);
    if (token) this.#families.get(token.sid)!.revoked = true;
    return { status: 204, setCookie: null };
  }

  #revokeSession(token: AccessToken, id: string): ServerAnswer {
    const family = this.#families.get(id);
    if (!family || family.userId !== token.sub) return fail(404, "invalid_request");
    family.revoked = true;
    return { status: 204 };
  }

  #changePassword(req: ServerRequest, account: Account, token: AccessToken): ServerAnswer {
    if (req.body.current_password !== account.password) return fail(401, "invalid_credentials");
    account.password = String(req.body.new_password);
    for (const family of this.#families.values()) if (family.userId === account.id && family.id !== token.sid) family.revoked = true;
    // Every access token of the user issued so far is cut off, the caller's too.
    for (const [value, t] of this.#tokens) if (t.sub === account.id) this.#tokens.delete(value);
    return { status: 204 };
  }

  /** Like the service: the user's permissions are ["profile:read"]; a scope beyond them is refused, naming `scopes`. */
  #createApiKey(req: ServerRequest, account: Account): ServerAnswer {
    const name = typeof req.body.name === "string" ? req.body.name.trim() : "";
    if (!name) return { status: 400, body: { error: "invalid_request", error_description: "name: required" } };
    const scopes = (req.body.scopes as string[] | undefined) ?? ["profile:read"];
    if (scopes.some((scope) => scope !== "profile:read")) return { status: 400, body: { error: "invalid_request", error_description: "scopes: names permissions the owner does not have" } };
    const days = req.body.expires_in_days as number | undefined;
    const now = Date.now();
    const id = `key-${++this.#serial}`;
    const key = `etsk_${"k".repeat(37)}${String(this.#serial).padStart(6, "0")}`;
    const stored = { id, userId: account.id, name, prefix: key.slice(0, 11), scopes, created_at: new Date(now).toISOString(), expires_at: days ? new Date(now + days * 86_400_000).toISOString() : null, revoked: false };
    this.#apiKeys.set(id, stored);
    const { userId: _u, revoked: _r, ...shown } = stored;
    return { status: 201, body: { ...shown, key } };
  }

  #apiKeysOf(account: Account): StoredApiKey[] {
    return [...this.#apiKeys.values()].filter((key) => key.userId === account.id && !key.revoked).reverse();
  }

  #accountByEmail(email: string): Account | undefined {
    return [...this.#accounts.values()].find((a) => a.email === email);
  }

  #sendLink(account: Account, page: SentLink["page"], newEmail?: string) {
    for (const [token, link] of this.#links) if (link.accountId === account.id && link.page === page) this.#links.delete(token);
    const link = { to: newEmail ?? account.email, page, token: `link-${++this.#serial}`, accountId: account.id, newEmail };
    this.#links.set(link.token, link);
    this.outbox.push({ to: link.to, page, token: link.token });
  }

  #forgot(req: ServerRequest): ServerAnswer {
    const account = this.#accountByEmail(String(req.body.email));
    if (account) this.#sendLink(account, "reset-password");
    return { status: 202 };
  }

  /** Reset: the password changes and every session of the account ends, its access tokens with it. */
  #reset(req: ServerRequest): ServerAnswer {
    const link = this.#links.get(String(req.body.token));
    if (!link || link.page !== "reset-password") return fail(400, "invalid_request");
    this.#links.delete(link.token);
    const account = this.#accounts.get(link.accountId)!;
    account.password = String(req.body.new_password);
    for (const family of this.#families.values()) if (family.userId === account.id) family.revoked = true;
    return { status: 204 };
  }

  #useLink(req: ServerRequest, page: SentLink["page"], apply: (account: Account, link: PendingLink) => void): ServerAnswer {
    const link = this.#links.get(String(req.body.token));
    if (!link || link.page !== page) return fail(400, "invalid_request");
    this.#links.delete(link.token);
    apply(this.#accounts.get(link.accountId)!, link);
    return { status: 204 };
  }

  #authenticate(req: ServerRequest): AccessToken | undefined {
    const value = req.headers.get("Authorization")?.replace(/^Bearer /, "") ?? "";
    const token = this.#tokens.get(value);
    if (!token || token.exp * 1000 <= Date.now() || !this.isFamilyLive(token.sid)) return undefined;
    return token;
  }

  #issue(family: Family) {
    const verified = this.#accounts.get(family.userId)?.verified ?? false;
    const iat = Math.floor(Date.now() / 1000);
    const roles = ["user"];
    const claims = {
      iss: AUTH_ORIGIN, aud: "api", sub: family.userId, iat, exp: iat + ACCESS_TTL_SECONDS, jti: `jti-${++this.#serial}`,
      client_id: family.clientId, sid: family.id, roles, role: roles[0], scope: "profile:read", email_verified: verified,
    };
    const accessToken = `${base64url({ alg: "RS256", typ: "at+jwt" })}.${base64url(claims)}.signature`;
    this.#tokens.set(accessToken, { sub: family.userId, sid: family.id, exp: claims.exp });
    return { access_token: accessToken, token_type: "Bearer", expires_in: ACCESS_TTL_SECONDS };
  }

  #publicUser(account: Account) {
    return { id: account.id, email: account.email, role: "user", roles: ["user"], email_verified: account.verified, created_at: account.createdAt };
  }

  #sessionsOf(token: AccessToken) {
    return [...this.#families.values()]
      .filter((f) => f.userId === token.sub && !f.revoked)
      .map((f) => ({
        id: f.id, client_id: f.clientId, created_at: "2026-01-01T00:00:00.000Z", last_used_at: "2026-01-01T00:00:00.000Z",
        expires_at: "2026-01-08T00:00:00.000Z", user_agent: f.userAgent, current: f.id === token.sid,
      }));
  }
}
