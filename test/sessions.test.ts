import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { call, COOKIE, decodePayload, login, me, refreshCookieOf, refreshWithCookie, register, SPA_ORIGIN } from "./helpers";

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const sidOf = (token: string) => decodePayload(token).sid as string;

async function listSessions(accessToken: string) {
  const res = await call("/auth/sessions", { headers: bearer(accessToken) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { sessions: { id: string; current: boolean; user_agent: string | null; created_at: string; last_used_at: string }[] }).sessions;
}

describe("GET /auth/sessions", () => {
  it("lists one entry per live family with exactly the caller's marked current", async () => {
    const phone = await register(undefined, undefined, { "User-Agent": "Phone/1.0" });
    const laptop = await login(phone.email, undefined, { "User-Agent": "Laptop/2.0" });
    const sessions = await listSessions(laptop.accessToken);
    expect(sessions).toHaveLength(2);
    expect(sessions.filter((s) => s.current).map((s) => s.id)).toEqual([sidOf(laptop.accessToken)]);
    expect(sessions.find((s) => s.id === sidOf(phone.accessToken))).toMatchObject({ user_agent: "Phone/1.0", current: false });
    expect(Date.parse(sessions[0]!.created_at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it("does not show other users' sessions and requires a token", async () => {
    const a = await register();
    const b = await register();
    expect((await listSessions(a.accessToken)).map((s) => s.id)).toEqual([sidOf(a.accessToken)]);
    expect((await listSessions(b.accessToken)).map((s) => s.id)).toEqual([sidOf(b.accessToken)]);
    expect((await call("/auth/sessions")).status).toBe(401);
  });
});

describe("DELETE /auth/sessions/:id", () => {
  it("revokes one device: its refresh token and access token stop working, others keep going", async () => {
    const phone = await register();
    const laptop = await login(phone.email);
    const res = await call(`/auth/sessions/${sidOf(phone.accessToken)}`, { method: "DELETE", headers: bearer(laptop.accessToken) });
    expect(res.status).toBe(204);
    expect((await refreshWithCookie(phone.refreshToken)).status).toBe(401);
    expect((await me(phone.accessToken)).status).toBe(401);
    expect((await me(laptop.accessToken)).status).toBe(200);
    expect((await refreshWithCookie(laptop.refreshToken)).status).toBe(200);
    expect((await listSessions(laptop.accessToken)).map((s) => s.id)).toEqual([sidOf(laptop.accessToken)]);
  });

  it("404 for another user's session (which stays alive) and 400 for a malformed id", async () => {
    const a = await register();
    const b = await register();
    const res = await call(`/auth/sessions/${sidOf(b.accessToken)}`, { method: "DELETE", headers: bearer(a.accessToken) });
    expect(res.status).toBe(404);
    expect((await refreshWithCookie(b.refreshToken)).status).toBe(200);
    const bad = await call("/auth/sessions/not-an-id", { method: "DELETE", headers: bearer(a.accessToken) });
    expect(bad.status).toBe(400);
  });
});

describe("POST /auth/logout", () => {
  it("with the cookie: 204, cookie cleared, family revoked, presented access token refused", async () => {
    const user = await register();
    const res = await call("/auth/logout", {
      method: "POST",
      headers: { Cookie: `${COOKIE}=${user.refreshToken}`, Origin: SPA_ORIGIN, "Content-Type": "application/json", ...bearer(user.accessToken) },
    });
    expect(res.status).toBe(204);
    expect(res.headers.getSetCookie()[0]).toMatch(/^__Host-refresh_token=; Max-Age=0/);
    expect((await refreshWithCookie(user.refreshToken)).status).toBe(401);
    expect((await me(user.accessToken)).status).toBe(401);
  });

  it("with only the cookie, the family's live access tokens are refused too", async () => {
    const user = await register();
    const res = await call("/auth/logout", {
      method: "POST",
      headers: { Cookie: `${COOKIE}=${user.refreshToken}`, Origin: SPA_ORIGIN, "Content-Type": "application/json" },
    });
    expect(res.status).toBe(204);
    expect((await me(user.accessToken)).status).toBe(401);
  });

  it("with only a Bearer token (non-browser), the session ends", async () => {
    const user = await register();
    expect((await call("/auth/logout", { method: "POST", headers: bearer(user.accessToken) })).status).toBe(204);
    expect((await refreshWithCookie(user.refreshToken)).status).toBe(401);
  });

  it("with one user's cookie and another session's Bearer, both sessions end", async () => {
    const a = await register();
    const b = await register();
    const res = await call("/auth/logout", {
      method: "POST",
      headers: { Cookie: `${COOKIE}=${a.refreshToken}`, Origin: SPA_ORIGIN, "Content-Type": "application/json", ...bearer(b.accessToken) },
    });
    expect(res.status).toBe(204);
    expect((await refreshWithCookie(a.refreshToken)).status).toBe(401);
    expect((await refreshWithCookie(b.refreshToken)).status).toBe(401);
    expect((await me(a.accessToken)).status).toBe(401);
    expect((await me(b.accessToken)).status).toBe(401);
  });

  it("is idempotent: logging out again, or without anything, is 204", async () => {
    expect((await call("/auth/logout", { method: "POST" })).status).toBe(204);
  });
});

describe("POST /auth/logout-all", () => {
  it("from another device: every family revoked, every live access token refused, new logins work", async () => {
    const phone = await register();
    const laptop = await login(phone.email);
    const tablet = await login(phone.email);
    const phoneRefreshed = await refreshWithCookie(phone.refreshToken);
    const phoneAccess = ((await phoneRefreshed.json()) as { access_token: string }).access_token;
    const res = await call("/auth/logout-all", { method: "POST", headers: bearer(laptop.accessToken) });
    expect(res.status).toBe(204);
    for (const token of [phone.accessToken, phoneAccess, laptop.accessToken, tablet.accessToken]) {
      expect((await me(token)).status).toBe(401);
    }
    for (const refresh of [refreshCookieOf(phoneRefreshed)!, laptop.refreshToken, tablet.refreshToken]) {
      expect((await refreshWithCookie(refresh)).status).toBe(401);
    }
    const again = await login(phone.email);
    expect((await me(again.accessToken)).status).toBe(200);
    expect(await env.DB.prepare("select count(*) as n from auth_events where type = 'logout_all'").first("n")).toBe(1);
  });

  it("leaves other users alone", async () => {
    const a = await register();
    const b = await register();
    await call("/auth/logout-all", { method: "POST", headers: bearer(a.accessToken) });
    expect((await me(b.accessToken)).status).toBe(200);
  });
});

describe("scheduled housekeeping", () => {
  async function runCron() {
    const ctx = createExecutionContext();
    await worker.scheduled!(createScheduledController({ scheduledTime: Date.now(), cron: "17 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
  }
  const count = async (sql: string, ...args: unknown[]) => (await env.DB.prepare(sql).bind(...args).first<{ n: number }>("n")) as unknown as number;

  it("deletes long-ended families, expired tokens and old events, and nothing live", async () => {
    const live = await register();
    const liveChild = refreshCookieOf(await refreshWithCookie(live.refreshToken))!;
    const ended = await register();
    const longAgo = Date.now() - 8 * 24 * 3600 * 1000;
    await env.DB.prepare("update sessions set revoked_at = ?, revoked_reason = 'logout' where id = ?").bind(longAgo, sidOf(ended.accessToken)).run();
    const recentlyRevoked = await register();
    await env.DB.prepare("update sessions set revoked_at = ? where id = ?").bind(Date.now(), sidOf(recentlyRevoked.accessToken)).run();
    await env.DB.prepare("insert into auth_events (type, created_at) values ('login', ?)").bind(Date.now() - 91 * 24 * 3600 * 1000).run();
    const expiredToken = await register();
    await env.DB.prepare("update refresh_tokens set expires_at = ? where session_id = ?").bind(Date.now() - 1000, sidOf(expiredToken.accessToken)).run();

    const idle = await register();
    const idleSince = Date.now() - 15 * 24 * 3600 * 1000; // 7 days idle timeout + 7 days retention, and more
    await env.DB.prepare("update refresh_tokens set created_at = ? where session_id = ?").bind(idleSince, sidOf(idle.accessToken)).run();
    await env.DB.prepare("update sessions set created_at = ? where id = ?").bind(idleSince, sidOf(idle.accessToken)).run();

    await runCron();

    expect(await count("select count(*) as n from sessions where id = ?", sidOf(idle.accessToken))).toBe(0);

    expect(await count("select count(*) as n from sessions where id = ?", sidOf(ended.accessToken))).toBe(0);
    expect(await count("select count(*) as n from refresh_tokens where session_id = ?", sidOf(ended.accessToken))).toBe(0);
    expect(await count("select count(*) as n from sessions where id = ?", sidOf(recentlyRevoked.accessToken))).toBe(1);
    expect(await count("select count(*) as n from refresh_tokens where session_id = ?", sidOf(expiredToken.accessToken))).toBe(0);
    expect(await count("select count(*) as n from auth_events where created_at < ?", Date.now() - 90 * 24 * 3600 * 1000)).toBe(0);
    // The live family keeps its used parent (needed for reuse detection) and its current token.
    expect(await count("select count(*) as n from refresh_tokens where session_id = ?", sidOf(live.accessToken))).toBe(2);
    expect((await refreshWithCookie(liveChild)).status).toBe(200);
  });
});
