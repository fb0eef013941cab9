/**
 * The vocabulary every integration test shares: requests through the worker (with the real env or
 * some bindings replaced), users, refreshes by cookie or body, and a family's row in D1.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import worker from "../src/index";
import { databaseOf, rowById, updateById } from "./databases";

export const BASE = "https://auth.example.test";
export const SPA_ORIGIN = "http://localhost:5173";
export const COOKIE = "__Host-refresh_token";
export const PASSWORD = "correct horse battery staple";

/** The test env's bindings; overrides may also name bindings the type does not know (DB_2). */
export type Bindings = typeof env;
export type Overrides = Partial<Bindings> & Record<string, unknown>;

/** A request through the worker's real entry point and env. */
export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(BASE + path, init));
}

/** A request with some bindings or vars replaced (a 1 s grace window, a failing KV...), same storage. */
export async function callWith(overrides: Overrides, path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(BASE + path, init) as never, { ...env, ...overrides } as never, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

export const json = { "Content-Type": "application/json" };
export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
/** What a browser SPA sends with the refresh cookie: the cookie, an allowed Origin, JSON. */
export const withCookie = (refreshToken: string) => ({ Cookie: `${COOKIE}=${refreshToken}`, Origin: SPA_ORIGIN, ...json });

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return call(path, { method: "POST", headers: { ...json, ...headers }, body: JSON.stringify(body) });
}

/** A browser-like refresh (for callWith). */
export const cookieRefreshInit = (refreshToken: string, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { ...withCookie(refreshToken), ...headers },
  body: "{}",
});

/** A non-browser refresh: the token in a JSON body, no cookie, no Origin (for callWith). */
export const bodyRefreshInit = (refreshToken: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: { ...json, ...headers },
  body: JSON.stringify({ refresh_token: refreshToken }),
});

export const refreshWithCookie = (refreshToken: string, headers: Record<string, string> = {}) => call("/auth/refresh", cookieRefreshInit(refreshToken, headers));
export const refreshWithBody = (refreshToken: unknown, headers: Record<string, string> = {}) => call("/auth/refresh", bodyRefreshInit(refreshToken, headers));

export function me(accessToken: string): Promise<Response> {
  return call("/auth/me", { headers: bearer(accessToken) });
}

let counter = 0;
export const uniqueEmail = (label = "user") => `${label}-${Date.now()}-${counter++}@example.com`;

export interface Login {
  email: string;
  userId: string;
  /** The family (session) id: the access token's `sid`. */
  sid: string;
  accessToken: string;
  refreshToken: string;
}

/** The token response of a login, register or refresh. */
export interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
}

export async function register(email = uniqueEmail(), password = PASSWORD, headers: Record<string, string> = {}): Promise<Login> {
  const res = await postJson("/auth/register", { email, password }, headers);
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${await res.text()}`);
  return loginResult(email, res);
}

export async function login(email: string, password = PASSWORD, headers: Record<string, string> = {}): Promise<Login> {
  const res = await postJson("/auth/login", { email, password }, headers);
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return loginResult(email, res);
}

async function loginResult(email: string, res: Response): Promise<Login> {
  const body = (await res.json()) as { user: { id: string }; access_token: string };
  return { email, userId: body.user.id, sid: sidOf(body.access_token), accessToken: body.access_token, refreshToken: refreshCookieOf(res)! };
}

/**
 * Refreshes (cookie) and returns the new pair; throws on anything but 200, so that a chain of
 * rotations cannot silently stop.
 */
export async function rotate(refreshToken: string, overrides?: Overrides): Promise<{ accessToken: string; refreshToken: string }> {
  const res = overrides ? await callWith(overrides, "/auth/refresh", cookieRefreshInit(refreshToken)) : await refreshWithCookie(refreshToken);
  if (res.status !== 200) throw new Error(`refresh failed: ${res.status} ${await res.text()}`);
  return { accessToken: ((await res.json()) as TokenBody).access_token, refreshToken: refreshCookieOf(res)! };
}

/** The refresh token from a response's Set-Cookie, or undefined. */
export function refreshCookieOf(res: Response): string | undefined {
  const header = res.headers.getSetCookie().find((c) => c.startsWith(COOKIE + "="));
  const value = header?.slice(COOKIE.length + 1).split(";")[0];
  return value || undefined;
}

export function decodePayload(jwt: string): Record<string, unknown> {
  const part = jwt.split(".")[1]!;
  return JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));
}

export const sidOf = (accessToken: string) => decodePayload(accessToken).sid as string;

/** A refresh token as the service issues it: `<family id>.<generation>.<secret>.<tag>`. */
export const REFRESH_TOKEN_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.(0|[1-9]\d*)\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{22}$/;

export interface FamilyRow {
  id: string;
  user_id: string;
  client_id: string;
  generation: number;
  token_hash: string | null;
  previous_hash: string | null;
  sealed_token: string | null;
  created_at: number;
  rotated_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
}

/** The family's row in `sessions`, from the database that holds it. */
export const familyRow = (sid: string) => rowById<FamilyRow>("sessions", sid);

/** Runs one statement on the family's row (backdating, expiring...), in the database that holds it. */
export const updateFamily = (sid: string, set: string, ...params: unknown[]) => updateById("sessions", sid, set, ...params);

/** The security events recorded for a family, oldest first. */
export async function eventsOf(sid: string): Promise<{ type: string; detail: string | null; user_id: string | null; ip: string | null; user_agent: string | null }[]> {
  const { results } = await databaseOf(sid).prepare("select type, detail, user_id, ip, user_agent from auth_events where session_id = ? order by id").bind(sid).all();
  return results as never;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits for the next whole second. A per-user cutoff (logout-all, password change, disable) covers
 * the second it was written in: a token issued later in that same second is refused too.
 */
export const nextSecond = () => sleep(1000 - (Date.now() % 1000) + 5);

/** What the worker handed to the EMAIL binding. */
export interface SentEmail {
  from: string | { email: string; name: string };
  to: string;
  subject: string;
  text: string;
  html: string;
}

/**
 * A stand-in for the EMAIL binding (`callWith({ EMAIL: mail.EMAIL }, ...)`) that keeps what it is
 * sent; `mail.failing = true` makes it throw, as the Email Service does when it refuses a message.
 */
export function mailbox() {
  const sent: SentEmail[] = [];
  const box = {
    sent,
    failing: false,
    EMAIL: {
      // The worker sends the structured form ({ from, to, subject, text, html }) only.
      async send(message: unknown): Promise<EmailSendResult> {
        if (box.failing) throw new Error("the Email Service refused the message");
        sent.push(message as SentEmail);
        return { messageId: `<${crypto.randomUUID()}@test>` };
      },
    },
    /** The token of the last `page` link sent to `to`. */
    token(page: "verify-email" | "reset-password" | "confirm-email-change", to: string): string {
      const mail = sent.findLast((m) => m.to === to && m.text.includes(`/#/${page}?token=`));
      if (!mail) throw new Error(`no ${page} email to ${to}; sent: ${JSON.stringify(sent.map((m) => [m.to, m.subject]))}`);
      return /token=([A-Za-z0-9_-]+)/.exec(mail.text)![1]!;
    },
  };
  return box;
}

/** A JSON POST with some bindings or vars replaced. */
export function postJsonWith(overrides: Overrides, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return callWith(overrides, path, { method: "POST", headers: { ...json, ...headers }, body: JSON.stringify(body) });
}
