import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  call,
  callWith,
  COOKIE,
  cookieRefreshInit,
  decodePayload,
  me,
  postJson,
  refreshCookieOf,
  refreshWithCookie,
  register,
  sleep,
  SPA_ORIGIN,
} from "./helpers";

interface TokenBody {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
}

const sessionIdOf = (accessToken: string) => decodePayload(accessToken).sid as string;

async function familyState(sessionId: string) {
  const session = await env.DB.prepare("select revoked_at, revoked_reason from sessions where id = ?").bind(sessionId).first();
  const tokens = await env.DB.prepare("select used_at from refresh_tokens where session_id = ?").bind(sessionId).all<{ used_at: number | null }>();
  return {
    revoked: session!.revoked_at !== null,
    reason: session!.revoked_reason,
    tokens: tokens.results.length,
    unused: tokens.results.filter((t) => t.used_at === null).length,
  };
}

async function expectInvalidGrantAndClearedCookie(res: Response) {
  expect(res.status).toBe(401);
  expect(await res.json()).toMatchObject({ error: "invalid_grant" });
  const cleared = res.headers.getSetCookie().find((c) => c.startsWith(`${COOKIE}=`));
  expect(cleared).toMatch(/Max-Age=0/);
}

describe("POST /auth/refresh: rotation", () => {
  it("rotates: a new access token for the same session and a new refresh cookie", async () => {
    const user = await register();
    const res = await refreshWithCookie(user.refreshToken);
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(SPA_ORIGIN);
    expect(res.headers.get("Access-Control-Allow-Credentials")).toBe("true");
    const body = (await res.json()) as TokenBody;
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 900 });
    expect(body.refresh_token).toBeUndefined();
    const child = refreshCookieOf(res)!;
    expect(child).not.toBe(user.refreshToken);
    expect(sessionIdOf(body.access_token)).toBe(sessionIdOf(user.accessToken));
    expect((await me(body.access_token)).status).toBe(200);
    expect((await refreshWithCookie(child)).status).toBe(200);
    expect(await familyState(sessionIdOf(user.accessToken))).toMatchObject({ revoked: false, tokens: 3, unused: 1 });
  });

  it("accepts the token in a JSON body for non-browser clients, without Origin, and answers in the body", async () => {
    const user = await register();
    const res = await postJson("/auth/refresh", { refresh_token: user.refreshToken });
    expect(res.status).toBe(200);
    const body = (await res.json()) as TokenBody;
    expect(body.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(body.refresh_token).toBe(refreshCookieOf(res));
    const next = await postJson("/auth/refresh", { refresh_token: body.refresh_token });
    expect(next.status).toBe(200);
  });

  it("20 parallel refreshes with one token: all 200 with the same child, one live token, nothing revoked", async () => {
    const user = await register();
    const responses = await Promise.all(Array.from({ length: 20 }, () => refreshWithCookie(user.refreshToken)));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    const children = new Set(responses.map(refreshCookieOf));
    expect(children.size).toBe(1);
    const accessTokens = await Promise.all(responses.map(async (r) => ((await r.json()) as TokenBody).access_token));
    expect(new Set(accessTokens.map((t) => decodePayload(t).jti)).size).toBe(1);
    const state = await familyState(sessionIdOf(user.accessToken));
    expect(state).toMatchObject({ revoked: false, tokens: 2, unused: 1 });
    expect((await refreshWithCookie([...children][0]!)).status).toBe(200);
  });

  it("a lost response retried inside the grace window gets the same child, and that child stays usable", async () => {
    const user = await register();
    const first = await refreshWithCookie(user.refreshToken);
    const firstBody = (await first.json()) as TokenBody;
    const retry = await refreshWithCookie(user.refreshToken);
    expect(retry.status).toBe(200);
    expect(refreshCookieOf(retry)).toBe(refreshCookieOf(first));
    const retryBody = (await retry.json()) as TokenBody;
    expect(retryBody.access_token).toBe(firstBody.access_token);
    expect((await me(retryBody.access_token)).status).toBe(200);
    expect((await refreshWithCookie(refreshCookieOf(retry)!)).status).toBe(200);
    expect((await familyState(sessionIdOf(user.accessToken))).revoked).toBe(false);
  });
});

describe("POST /auth/refresh: audit trail", () => {
  const refreshEventsOf = (sessionId: string) =>
    env.DB.prepare("select user_id, ip, user_agent, created_at from auth_events where type = 'refresh' and session_id = ? order by id")
      .bind(sessionId)
      .all<{ user_id: string; ip: string | null; user_agent: string | null; created_at: number }>()
      .then((r) => r.results);

  it("each rotation records one refresh event with the client's IP and user agent", async () => {
    const user = await register();
    const sessionId = sessionIdOf(user.accessToken);
    const client = { "CF-Connecting-IP": "198.51.100.7", "User-Agent": "audit-test/1.0" };
    const before = Date.now();
    const first = await refreshWithCookie(user.refreshToken, client);
    expect(first.status).toBe(200);
    expect((await refreshWithCookie(refreshCookieOf(first)!, { ...client, "CF-Connecting-IP": "198.51.100.8" })).status).toBe(200);
    const events = await refreshEventsOf(sessionId);
    expect(events).toMatchObject([
      { user_id: decodePayload(user.accessToken).sub, ip: "198.51.100.7", user_agent: "audit-test/1.0" },
      { ip: "198.51.100.8" },
    ]);
    expect(events[0]!.created_at).toBeGreaterThanOrEqual(before);
  });

  it("concurrent retries and a grace-window retry of one token record one refresh event", async () => {
    const user = await register();
    const responses = await Promise.all(Array.from({ length: 5 }, () => refreshWithCookie(user.refreshToken)));
    expect(responses.map((r) => r.status)).toEqual(Array(5).fill(200));
    expect((await refreshWithCookie(user.refreshToken)).status).toBe(200);
    expect(await refreshEventsOf(sessionIdOf(user.accessToken))).toHaveLength(1);
  });
});

describe("POST /auth/refresh: reuse detection", () => {
  it("replaying the parent after the grace window revokes the family and its access tokens", async () => {
    const user = await register();
    const oneSecondGrace = { REFRESH_GRACE_SECONDS: "1" };
    const first = await callWith(oneSecondGrace, "/auth/refresh", cookieRefreshInit(user.refreshToken));
    expect(first.status).toBe(200);
    const child = refreshCookieOf(first)!;
    const childAccess = ((await first.json()) as TokenBody).access_token;
    await sleep(1100);
    await expectInvalidGrantAndClearedCookie(await callWith(oneSecondGrace, "/auth/refresh", cookieRefreshInit(user.refreshToken)));
    const state = await familyState(sessionIdOf(user.accessToken));
    expect(state).toMatchObject({ revoked: true, reason: "reuse_detected" });
    await expectInvalidGrantAndClearedCookie(await refreshWithCookie(child));
    expect((await me(childAccess)).status).toBe(401);
    expect((await me(user.accessToken)).status).toBe(401);
    const event = await env.DB.prepare("select detail from auth_events where type = 'reuse_detected' and session_id = ?")
      .bind(sessionIdOf(user.accessToken))
      .first<{ detail: string }>();
    expect(event!.detail).toBe("parent_replayed_after_grace");
  });

  it("replaying a grandparent revokes the family even inside the grace window", async () => {
    const user = await register();
    const child = refreshCookieOf(await refreshWithCookie(user.refreshToken))!;
    const grandchildRes = await refreshWithCookie(child);
    const grandchild = refreshCookieOf(grandchildRes)!;
    const access = ((await grandchildRes.json()) as TokenBody).access_token;
    await expectInvalidGrantAndClearedCookie(await refreshWithCookie(user.refreshToken));
    expect((await familyState(sessionIdOf(user.accessToken))).revoked).toBe(true);
    await expectInvalidGrantAndClearedCookie(await refreshWithCookie(grandchild));
    expect((await me(access)).status).toBe(401);
  });

  it("with the grace window disabled (0), any replay of the parent is reuse", async () => {
    const user = await register();
    const noGrace = { REFRESH_GRACE_SECONDS: "0" };
    expect((await callWith(noGrace, "/auth/refresh", cookieRefreshInit(user.refreshToken))).status).toBe(200);
    const replay = await callWith(noGrace, "/auth/refresh", cookieRefreshInit(user.refreshToken));
    expect(replay.status).toBe(401);
    expect((await familyState(sessionIdOf(user.accessToken))).revoked).toBe(true);
  });

  it("with the grace window disabled, a concurrent duplicate is reuse: one winner, then the family is revoked", async () => {
    const user = await register();
    const statuses = await Promise.all(
      Array.from({ length: 5 }, () => callWith({ REFRESH_GRACE_SECONDS: "0" }, "/auth/refresh", cookieRefreshInit(user.refreshToken)).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(4);
    expect((await familyState(sessionIdOf(user.accessToken))).revoked).toBe(true);
  });

  it("replaying a used token after it expired changes nothing", async () => {
    const user = await register();
    const child = refreshCookieOf(await refreshWithCookie(user.refreshToken))!;
    await refreshWithCookie(child);
    await env.DB.prepare("update refresh_tokens set expires_at = ? where token_hash = (select token_hash from refresh_tokens where session_id = ? order by created_at limit 1)")
      .bind(Date.now() - 1, sessionIdOf(user.accessToken))
      .run();
    await expectInvalidGrantAndClearedCookie(await refreshWithCookie(user.refreshToken));
    expect((await familyState(sessionIdOf(user.accessToken))).revoked).toBe(false);
  });

  it("retries and replays of one family are rate limited per family (429, Retry-After)", async () => {
    const user = await register();
    const strict = { REFRESH_FAMILY_RATE_LIMITER: env.TEST_STRICT_LIMITER };
    expect((await callWith(strict, "/auth/refresh", cookieRefreshInit(user.refreshToken))).status).toBe(200);
    const retries = [];
    for (let i = 0; i < 4; i++) retries.push(await callWith(strict, "/auth/refresh", cookieRefreshInit(user.refreshToken)));
    expect(retries.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(retries[3]!.headers.get("Retry-After")).toBe("60");
    expect((await familyState(sessionIdOf(user.accessToken))).revoked).toBe(false);
  });

  it("other sessions of the same user are untouched by a reuse in one family", async () => {
    const user = await register();
    const other = await postJson("/auth/login", { email: user.email, password: "correct horse battery staple" });
    const otherRefresh = refreshCookieOf(other)!;
    await refreshWithCookie(user.refreshToken);
    await callWith({ REFRESH_GRACE_SECONDS: "0" }, "/auth/refresh", cookieRefreshInit(user.refreshToken));
    expect((await refreshWithCookie(otherRefresh)).status).toBe(200);
  });
});

describe("POST /auth/refresh: refused tokens change nothing", () => {
  async function expectNoStateChange(sessionId: string, action: () => Promise<Response>) {
    const before = await familyState(sessionId);
    await expectInvalidGrantAndClearedCookie(await action());
    expect(await familyState(sessionId)).toEqual(before);
  }

  it("expired refresh token", async () => {
    const user = await callWith({ REFRESH_TOKEN_TTL_SECONDS: "1" }, "/auth/register", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: `exp-${crypto.randomUUID()}@example.com`, password: "correct horse battery staple" }),
    });
    const token = refreshCookieOf(user)!;
    const { access_token } = (await user.json()) as TokenBody;
    await sleep(1100);
    await expectNoStateChange(sessionIdOf(access_token), () => refreshWithCookie(token));
  });

  it("idle-timed-out session, and a session past its absolute lifetime", async () => {
    const user = await register();
    await sleep(1100);
    await expectNoStateChange(sessionIdOf(user.accessToken), () =>
      callWith({ SESSION_IDLE_TIMEOUT_SECONDS: "1" }, "/auth/refresh", cookieRefreshInit(user.refreshToken)),
    );
    await env.DB.prepare("update sessions set expires_at = ? where id = ?").bind(Date.now() - 1, sessionIdOf(user.accessToken)).run();
    await expectNoStateChange(sessionIdOf(user.accessToken), () => refreshWithCookie(user.refreshToken));
  });

  it("unknown, malformed and access-token-as-refresh-token", async () => {
    const user = await register();
    const sid = sessionIdOf(user.accessToken);
    await expectNoStateChange(sid, () => refreshWithCookie("A".repeat(43)));
    await expectNoStateChange(sid, () => refreshWithCookie("not a token"));
    await expectNoStateChange(sid, () => refreshWithCookie(user.accessToken));
    await expectNoStateChange(sid, () => postJson("/auth/refresh", { refresh_token: user.accessToken }));
    await expectNoStateChange(sid, () => postJson("/auth/refresh", {}));
    expect((await refreshWithCookie(user.refreshToken)).status).toBe(200);
  });

  it("the Max-Age of a rotated cookie never exceeds the family's absolute expiry", async () => {
    const user = await register();
    const sid = sessionIdOf(user.accessToken);
    await env.DB.prepare("update sessions set expires_at = ? where id = ?").bind(Date.now() + 120_000, sid).run();
    const res = await refreshWithCookie(user.refreshToken);
    const maxAge = Number(/Max-Age=(\d+)/.exec(res.headers.getSetCookie()[0]!)![1]);
    expect(maxAge).toBeLessThanOrEqual(120);
    expect(maxAge).toBeGreaterThan(100);
  });
});

describe("browser safety for cookie-authenticated requests", () => {
  const cases: [string, Record<string, string>][] = [
    ["a foreign Origin", { Origin: "https://evil.example", "Content-Type": "application/json" }],
    ["no Origin", { "Content-Type": "application/json" }],
    ["text/plain", { Origin: SPA_ORIGIN, "Content-Type": "text/plain" }],
    ["a form post", { Origin: SPA_ORIGIN, "Content-Type": "application/x-www-form-urlencoded" }],
  ];
  it.each(cases)("refresh with %s: 403 invalid_origin, no rotation", async (_label, headers) => {
    const user = await register();
    const before = await familyState(sessionIdOf(user.accessToken));
    const res = await call("/auth/refresh", { method: "POST", headers: { Cookie: `${COOKIE}=${user.refreshToken}`, ...headers }, body: "{}" });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: "invalid_origin" });
    expect(res.headers.get("Set-Cookie")).toBeNull();
    expect(await familyState(sessionIdOf(user.accessToken))).toEqual(before);
    expect((await refreshWithCookie(user.refreshToken)).status).toBe(200);
  });

  it("logout with a foreign Origin is refused and the session survives", async () => {
    const user = await register();
    const res = await call("/auth/logout", {
      method: "POST",
      headers: { Cookie: `${COOKIE}=${user.refreshToken}`, Origin: "https://evil.example", "Content-Type": "application/json" },
    });
    expect(res.status).toBe(403);
    expect((await familyState(sessionIdOf(user.accessToken))).revoked).toBe(false);
  });

  it("the worker's own origin is allowed", async () => {
    const user = await register();
    expect((await refreshWithCookie(user.refreshToken, { Origin: "https://auth.example.test" })).status).toBe(200);
  });

  it("CORS: credentialed preflight only for allowed origins", async () => {
    const preflight = (origin: string) =>
      call("/auth/refresh", {
        method: "OPTIONS",
        headers: { Origin: origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" },
      });
    const ok = await preflight(SPA_ORIGIN);
    expect(ok.headers.get("Access-Control-Allow-Origin")).toBe(SPA_ORIGIN);
    expect(ok.headers.get("Access-Control-Allow-Credentials")).toBe("true");
    const evil = await preflight("https://evil.example");
    expect(evil.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });

  it("CORS: an allowed origin can read error answers too; a request without Origin gets no CORS headers but Vary: Origin", async () => {
    const denied = await call("/auth/me", { headers: { Origin: SPA_ORIGIN, Authorization: "Bearer not-a-token" } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("Access-Control-Allow-Origin")).toBe(SPA_ORIGIN);
    expect(denied.headers.get("Access-Control-Allow-Credentials")).toBe("true");
    expect(denied.headers.get("Vary")).toMatch(/\bOrigin\b/);

    const user = await register();
    for (const res of [await me(user.accessToken), await call("/auth/me", { headers: { Authorization: "Bearer not-a-token" } })]) {
      expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
      expect(res.headers.get("Access-Control-Allow-Credentials")).toBeNull();
      expect(res.headers.get("Vary")).toMatch(/\bOrigin\b/);
    }
  });
});
