/** The refresh-token cookie: `__Host-` prefixed, HttpOnly, Secure, SameSite from config, Path=/. */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Config } from "../config";
import { invalidRequest } from "../domain-errors";

export const REFRESH_COOKIE = "refresh_token";
export const REFRESH_COOKIE_FULL_NAME = `__Host-${REFRESH_COOKIE}`;

/** Counted like {@link readRefreshCookie}'s duplicate check, so the Origin guard and the handlers agree. */
export function hasRefreshCookie(c: Context): boolean {
  return refreshCookieCount(c) > 0;
}

function refreshCookieCount(c: Context): number {
  return (c.req.header("Cookie") ?? "").split(";").filter((part) => part.trim().startsWith(REFRESH_COOKIE_FULL_NAME + "=")).length;
}

/**
 * The refresh token of the cookie. Two cookies of that name (a cookie-tossing attempt, or a stale
 * duplicate) are refused rather than guessing which one is meant.
 */
export function readRefreshCookie(c: Context): string | undefined {
  if (refreshCookieCount(c) > 1) throw invalidRequest("refresh_token", "more than one refresh cookie was sent");
  return getCookie(c, REFRESH_COOKIE, "host");
}

/** Sets the cookie with Max-Age never beyond the token's (and so the family's) expiry. */
export function setRefreshCookie(c: Context, config: Config, token: string, expiresAtMs: number, now = Date.now()) {
  setCookie(c, REFRESH_COOKIE, token, {
    prefix: "host",
    httpOnly: true,
    secure: true,
    sameSite: config.cookieSameSite,
    path: "/",
    maxAge: Math.max(0, Math.floor((expiresAtMs - now) / 1000)),
  });
}

export function clearRefreshCookie(c: Context, config: Config) {
  deleteCookie(c, REFRESH_COOKIE, { prefix: "host", httpOnly: true, secure: true, sameSite: config.cookieSameSite, path: "/" });
}
