/**
 * POST /auth/refresh, the normal path: rotation by cookie or body, concurrent and retried refreshes
 * with one token (the idempotent grace window: the SAME child and the SAME access token).
 */
import { describe, expect, it } from "vitest";
import {
  callWith,
  cookieRefreshInit,
  decodePayload,
  familyRow,
  me,
  REFRESH_TOKEN_SHAPE,
  refreshCookieOf,
  refreshWithBody,
  refreshWithCookie,
  register,
  rotate,
  SPA_ORIGIN,
  updateFamily,
  type TokenBody,
} from "./helpers";
import { expectInvalidGrant } from "./hardening";
import { storedHash } from "./stored-hash";

describe("POST /auth/refresh: rotation", () => {
  it("rotates: a new access token for the same session and a new refresh cookie", async () => {
    const user = await register();
    const res = await refreshWithCookie(user.refreshToken);
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(SPA_ORIGIN);
    expect(res.headers.get("Access-Control-Allow-Credentials")).toBe("true");
    const body = (await res.json()) as TokenBody;
    // 899 when a second boundary falls between issuing and answering.
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: expect.toSatisfy((s: number) => s === 899 || s === 900) });
    expect(body.refresh_token).toBeUndefined();

    const child = refreshCookieOf(res)!;
    expect(child).toMatch(REFRESH_TOKEN_SHAPE);
    expect(child.startsWith(`${user.sid}.1.`)).toBe(true);
    const cookie = res.headers.getSetCookie()[0]!;
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/; SameSite=Strict/);
    expect(cookie).toMatch(/; Path=\//);

    const claims = decodePayload(body.access_token);
    expect(claims).toMatchObject({ sub: user.userId, sid: user.sid, client_id: "web" });
    expect(claims.jti).not.toBe(decodePayload(user.accessToken).jti);
    expect((await me(body.access_token)).status).toBe(200);
    expect(await familyRow(user.sid)).toMatchObject({
      generation: 1,
      token_hash: await storedHash(child),
      previous_hash: await storedHash(user.refreshToken),
      revoked_at: null,
    });
    expect((await refreshWithCookie(child)).status).toBe(200);
  });

  it("accepts the token in a JSON body for non-browser clients, without Origin, and answers in the body", async () => {
    const user = await register();
    const res = await refreshWithBody(user.refreshToken);
    expect(res.status).toBe(200);
    const body = (await res.json()) as TokenBody;
    expect(body.refresh_token).toMatch(REFRESH_TOKEN_SHAPE);
    expect(body.refresh_token).toBe(refreshCookieOf(res));
    expect((await me(body.access_token)).status).toBe(200);
    const next = await refreshWithBody(body.refresh_token);
    expect(next.status).toBe(200);
    expect((await familyRow(user.sid)).generation).toBe(2);
  });
});

describe("POST /auth/refresh: one token sent several times (the grace window)", () => {
  it("20 parallel refreshes with one token: all 200 with the same child and access token, one rotation", async () => {
    const user = await register();
    const responses = await Promise.all(Array.from({ length: 20 }, () => refreshWithCookie(user.refreshToken)));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    const children = new Set(responses.map(refreshCookieOf));
    expect(children.size).toBe(1);
    const accessTokens = new Set(await Promise.all(responses.map(async (r) => ((await r.json()) as TokenBody).access_token)));
    expect(accessTokens.size).toBe(1);
    expect(await familyRow(user.sid)).toMatchObject({ generation: 1, revoked_at: null, token_hash: await storedHash([...children][0]!) });
    expect((await me([...accessTokens][0]!)).status).toBe(200);
    expect((await refreshWithCookie([...children][0]!)).status).toBe(200);
  });

  it("a lost response retried inside the window gets the same child and the same access token, issued at the rotation", async () => {
    const user = await register();
    const first = await refreshWithCookie(user.refreshToken);
    const firstBody = (await first.json()) as TokenBody;
    const row = await familyRow(user.sid);
    const retry = await refreshWithCookie(user.refreshToken);
    expect(retry.status).toBe(200);
    expect(refreshCookieOf(retry)).toBe(refreshCookieOf(first));
    const retryBody = (await retry.json()) as TokenBody;
    expect(retryBody.access_token).toBe(firstBody.access_token);
    expect(decodePayload(retryBody.access_token).iat).toBe(Math.floor(row.rotated_at / 1000));
    expect(retryBody.expires_in).toBeLessThanOrEqual(900);
    // The retry changed nothing: the family did not move on.
    expect(await familyRow(user.sid)).toEqual(row);
    expect((await me(retryBody.access_token)).status).toBe(200);
    await rotate(refreshCookieOf(retry)!);
    expect(await familyRow(user.sid)).toMatchObject({ generation: 2, revoked_at: null });
  });

  it("the window is REFRESH_GRACE_SECONDS long: 20 s after the rotation a 30 s window still answers, the default 10 s does not", async () => {
    const user = await register();
    const child = await rotate(user.refreshToken);
    await updateFamily(user.sid, "rotated_at = rotated_at - 20000");
    const longWindow = await callWith({ REFRESH_GRACE_SECONDS: "30" }, "/auth/refresh", cookieRefreshInit(user.refreshToken));
    expect(longWindow.status).toBe(200);
    expect(refreshCookieOf(longWindow)).toBe(child.refreshToken);

    await expectInvalidGrant(await refreshWithCookie(user.refreshToken));
    expect((await familyRow(user.sid)).revoked_reason).toBe("reuse_detected");
  });

  it("the parent's retry ends with the next rotation: then the parent is an ancestor", async () => {
    const user = await register();
    const child = await rotate(user.refreshToken);
    await rotate(child.refreshToken);
    await expectInvalidGrant(await refreshWithCookie(user.refreshToken));
    expect((await familyRow(user.sid)).revoked_reason).toBe("reuse_detected");
  });
});
