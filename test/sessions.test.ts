/** The user's sessions (families): list, end one, log out, log out everywhere. */
import { describe, expect, it } from "vitest";
import {
  bearer,
  bodyRefreshInit,
  call,
  eventsOf,
  familyRow,
  login,
  me,
  nextSecond,
  refreshWithCookie,
  register,
  rotate,
  sleep,
  updateFamily,
  withCookie,
} from "./helpers";
import { expectError, expectInvalidGrant } from "./hardening";

interface SessionEntry {
  id: string;
  client_id: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  user_agent: string | null;
  current: boolean;
}

async function listSessions(accessToken: string): Promise<SessionEntry[]> {
  const res = await call("/auth/sessions", { headers: bearer(accessToken) });
  expect(res.status).toBe(200);
  expect(res.headers.get("Cache-Control")).toBe("no-store");
  return ((await res.json()) as { sessions: SessionEntry[] }).sessions;
}

const logout = (headers: Record<string, string>, body?: string) => call("/auth/logout", { method: "POST", headers, body });

describe("GET /auth/sessions", () => {
  it("lists one entry per live family, most recently used first, with exactly the caller's marked current", async () => {
    const phone = await register(undefined, undefined, { "User-Agent": "Phone/1.0" });
    const laptop = await login(phone.email, undefined, { "User-Agent": "Laptop/2.0" });
    const before = await listSessions(laptop.accessToken);
    expect(before.map((s) => s.id)).toEqual([laptop.sid, phone.sid]);
    await sleep(5);
    await rotate(phone.refreshToken);
    const sessions = await listSessions(laptop.accessToken);
    expect(sessions.map((s) => s.id)).toEqual([phone.sid, laptop.sid]);
    expect(sessions.filter((s) => s.current).map((s) => s.id)).toEqual([laptop.sid]);
    const entry = sessions[0]!;
    expect(Object.keys(entry).sort()).toEqual(["client_id", "created_at", "current", "expires_at", "id", "last_used_at", "user_agent"]);
    expect(entry).toMatchObject({ client_id: "web", user_agent: "Phone/1.0", current: false });
    const row = await familyRow(phone.sid);
    expect(entry).toMatchObject({
      created_at: new Date(row.created_at).toISOString(),
      last_used_at: new Date(row.rotated_at).toISOString(),
      expires_at: new Date(row.expires_at).toISOString(),
    });
    expect(Date.parse(entry.last_used_at)).toBeGreaterThan(Date.parse(before[1]!.last_used_at));
  });

  it("leaves out revoked, expired and idle families", async () => {
    const user = await register();
    const [revoked, expired, idle] = [await login(user.email), await login(user.email), await login(user.email)];
    expect((await logout(bearer(revoked.accessToken))).status).toBe(204);
    await updateFamily(expired.sid, "expires_at = ?", Date.now() - 1);
    await updateFamily(idle.sid, "rotated_at = ?", Date.now() - 8 * 24 * 3600 * 1000);
    expect((await listSessions(user.accessToken)).map((s) => s.id)).toEqual([user.sid]);
  });

  it("does not show other users' sessions and requires a token", async () => {
    const a = await register();
    const b = await register();
    expect((await listSessions(a.accessToken)).map((s) => s.id)).toEqual([a.sid]);
    expect((await listSessions(b.accessToken)).map((s) => s.id)).toEqual([b.sid]);
    const anonymous = await call("/auth/sessions");
    await expectError(anonymous, 401, "invalid_token");
    expect(anonymous.headers.get("WWW-Authenticate")).toBe('Bearer realm="auth"');
  });
});

describe("DELETE /auth/sessions/:id", () => {
  it("revokes one device: its refresh token and access token stop working, others keep going", async () => {
    const phone = await register();
    const laptop = await login(phone.email);
    const res = await call(`/auth/sessions/${phone.sid}`, { method: "DELETE", headers: bearer(laptop.accessToken) });
    expect(res.status).toBe(204);
    await expectInvalidGrant(await refreshWithCookie(phone.refreshToken));
    await expectError(await me(phone.accessToken), 401, "invalid_token");
    expect((await me(laptop.accessToken)).status).toBe(200);
    expect((await refreshWithCookie(laptop.refreshToken)).status).toBe(200);
    expect((await listSessions(laptop.accessToken)).map((s) => s.id)).toEqual([laptop.sid]);
    expect(await familyRow(phone.sid)).toMatchObject({ revoked_reason: "session_revoked", token_hash: null });
    expect((await eventsOf(phone.sid)).map((e) => e.type)).toEqual(["register", "session_revoked"]);
    // Idempotent: deleting it again is 204.
    expect((await call(`/auth/sessions/${phone.sid}`, { method: "DELETE", headers: bearer(laptop.accessToken) })).status).toBe(204);
  });

  it("404 for another user's session (which stays alive) or an unknown one, 400 for a malformed id", async () => {
    const a = await register();
    const b = await register();
    await expectError(await call(`/auth/sessions/${b.sid}`, { method: "DELETE", headers: bearer(a.accessToken) }), 404, "invalid_request");
    expect((await familyRow(b.sid)).revoked_at).toBeNull();
    expect((await refreshWithCookie(b.refreshToken)).status).toBe(200);
    await expectError(await call(`/auth/sessions/${crypto.randomUUID()}`, { method: "DELETE", headers: bearer(a.accessToken) }), 404, "invalid_request");
    await expectError(await call("/auth/sessions/not-an-id", { method: "DELETE", headers: bearer(a.accessToken) }), 400, "invalid_request");
  });
});

describe("POST /auth/logout", () => {
  it("with the cookie: 204, cookie cleared, family revoked, the family's access tokens refused", async () => {
    const user = await register();
    const res = await logout(withCookie(user.refreshToken));
    expect(res.status).toBe(204);
    expect(res.headers.getSetCookie()[0]).toMatch(/^__Host-refresh_token=; Max-Age=0/);
    await expectInvalidGrant(await refreshWithCookie(user.refreshToken));
    await expectError(await me(user.accessToken), 401, "invalid_token");
    expect(await familyRow(user.sid)).toMatchObject({ revoked_reason: "logout", token_hash: null });
    expect((await eventsOf(user.sid)).map((e) => e.type)).toEqual(["register", "logout"]);
  });

  it("with only a Bearer token, or only a body refresh token (non-browser clients), the session ends", async () => {
    const byBearer = await register();
    expect((await logout(bearer(byBearer.accessToken))).status).toBe(204);
    await expectInvalidGrant(await refreshWithCookie(byBearer.refreshToken));

    const byBody = await register();
    const { headers, body } = bodyRefreshInit(byBody.refreshToken);
    expect((await logout(headers as Record<string, string>, body as string)).status).toBe(204);
    await expectError(await me(byBody.accessToken), 401, "invalid_token");
  });

  it("with one user's cookie and another session's Bearer, both sessions end", async () => {
    const a = await register();
    const b = await register();
    expect((await logout({ ...withCookie(a.refreshToken), ...bearer(b.accessToken) })).status).toBe(204);
    for (const user of [a, b]) {
      await expectInvalidGrant(await refreshWithCookie(user.refreshToken));
      await expectError(await me(user.accessToken), 401, "invalid_token");
    }
  });

  it("is idempotent: logging out again, or without anything, is 204", async () => {
    const user = await register();
    expect((await logout(withCookie(user.refreshToken))).status).toBe(204);
    expect((await logout(withCookie(user.refreshToken))).status).toBe(204);
    expect((await logout({})).status).toBe(204);
    expect((await eventsOf(user.sid)).filter((e) => e.type === "logout")).toHaveLength(1);
  });
});

describe("POST /auth/logout-all", () => {
  it("from another device: every family revoked, every live access token refused, new logins work", async () => {
    const phone = await register();
    const laptop = await login(phone.email);
    const tablet = await login(phone.email);
    const phoneRefreshed = await rotate(phone.refreshToken);
    expect((await call("/auth/logout-all", { method: "POST", headers: bearer(laptop.accessToken) })).status).toBe(204);
    for (const token of [phone.accessToken, phoneRefreshed.accessToken, laptop.accessToken, tablet.accessToken]) {
      await expectError(await me(token), 401, "invalid_token");
    }
    for (const refresh of [phoneRefreshed.refreshToken, laptop.refreshToken, tablet.refreshToken]) await expectInvalidGrant(await refreshWithCookie(refresh));
    for (const device of [phone, laptop, tablet]) expect((await familyRow(device.sid)).revoked_reason).toBe("logout_all");
    expect((await eventsOf(laptop.sid)).map((e) => e.type)).toEqual(["login", "logout_all"]);
    // The cutoff covers the second it was written in; a login after it works.
    await nextSecond();
    const again = await login(phone.email);
    expect((await me(again.accessToken)).status).toBe(200);
    expect((await refreshWithCookie(again.refreshToken)).status).toBe(200);
  });

  it("leaves other users alone", async () => {
    const a = await register();
    const b = await register();
    expect((await call("/auth/logout-all", { method: "POST", headers: bearer(a.accessToken) })).status).toBe(204);
    // It did log a out...
    expect((await familyRow(a.sid)).revoked_reason).toBe("logout_all");
    await expectError(await me(a.accessToken), 401, "invalid_token");
    // ...and b goes on: access token, family, refresh.
    expect((await me(b.accessToken)).status).toBe(200);
    expect((await familyRow(b.sid)).revoked_at).toBeNull();
    expect((await refreshWithCookie(b.refreshToken)).status).toBe(200);
  });
});
