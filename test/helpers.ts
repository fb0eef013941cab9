/** Shared test helpers: requests through the worker's real fetch handler, users, cookies. */
import { exports } from "cloudflare:workers";

export const BASE = "https://auth.example.test";
export const SPA_ORIGIN = "http://localhost:5173";
export const COOKIE = "__Host-refresh_token";

export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(BASE + path, init));
}

export function postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return call(path, { method: "POST", headers: { "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
}

let counter = 0;
export const uniqueEmail = (label = "user") => `${label}-${Date.now()}-${counter++}@example.com`;
export const PASSWORD = "correct horse battery staple";

export interface Login {
  email: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
  setCookie: string;
}

/** The refresh token from a response's Set-Cookie, or undefined. */
export function refreshCookieOf(res: Response): string | undefined {
  const header = res.headers.getSetCookie().find((c) => c.startsWith(COOKIE + "="));
  const value = header?.slice(COOKIE.length + 1).split(";")[0];
  return value || undefined;
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
  return {
    email,
    userId: body.user.id,
    accessToken: body.access_token,
    refreshToken: refreshCookieOf(res)!,
    setCookie: res.headers.getSetCookie().join("\n"),
  };
}

/** A browser-like refresh: the cookie, an allowed Origin and a JSON content type. */
export function refreshWithCookie(refreshToken: string, headers: Record<string, string> = {}): Promise<Response> {
  return call("/auth/refresh", {
    method: "POST",
    headers: { Cookie: `${COOKIE}=${refreshToken}`, Origin: SPA_ORIGIN, "Content-Type": "application/json", ...headers },
    body: "{}",
  });
}

export function me(accessToken: string): Promise<Response> {
  return call("/auth/me", { headers: { Authorization: `Bearer ${accessToken}` } });
}

export function decodePayload(jwt: string): Record<string, unknown> {
  const part = jwt.split(".")[1]!;
  return JSON.parse(atob(part.replace(/-/g, "+").replace(/_/g, "/")));
}

/** Calls the worker with some vars overridden (e.g. a 1 s grace window), same storage. */
export async function callWith(overrides: Record<string, unknown>, path: string, init: RequestInit = {}): Promise<Response> {
  const { default: worker } = await import("../src/index");
  const { env } = await import("cloudflare:workers");
  const { createExecutionContext, waitOnExecutionContext } = await import("cloudflare:test");
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(BASE + path, init) as never, { ...env, ...overrides } as never, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function cookieRefreshInit(refreshToken: string): RequestInit {
  return {
    method: "POST",
    headers: { Cookie: `${COOKIE}=${refreshToken}`, Origin: SPA_ORIGIN, "Content-Type": "application/json" },
    body: "{}",
  };
}
