/**
 * KV revocations reach other locations after about a minute (security review, finding 3). The
 * endpoints that change security state also check the caller's family in D1, so a session revoked
 * elsewhere cannot use them inside that minute; read-only /auth/me relies on KV alone.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callWith, decodePayload, login, register } from "./helpers";

/** KV as seen from a location that has not heard of the revocation yet: writes vanish. */
const staleKv = new Proxy(env.REVOCATIONS, {
  get: (target, prop) => (prop === "put" ? async () => undefined : Reflect.get(target, prop).bind(target)),
});
const asStaleLocation = (path: string, init: RequestInit) => callWith({ REVOCATIONS: staleKv }, path, init);
const bearer = (token: string) => ({ Authorization: `Bearer ${token}`, "Content-Type": "application/json" });

describe("a session revoked in D1 but not yet in this location's KV", () => {
  it("cannot change the password, log out everywhere, list or end sessions; /auth/me still answers", async () => {
    const user = await register();
    const other = await login(user.email);
    const sidOf = (accessToken: string) => decodePayload(accessToken).sid as string;
    expect((await asStaleLocation(`/auth/sessions/${sidOf(user.accessToken)}`, { method: "DELETE", headers: bearer(user.accessToken) })).status).toBe(204);
    const attempts: [string, RequestInit][] = [
      ["/auth/password", { method: "POST", headers: bearer(user.accessToken), body: JSON.stringify({ current_password: "correct horse battery staple", new_password: "a brand new passphrase" }) }],
      ["/auth/logout-all", { method: "POST", headers: bearer(user.accessToken) }],
      ["/auth/sessions", { headers: bearer(user.accessToken) }],
      [`/auth/sessions/${sidOf(other.accessToken)}`, { method: "DELETE", headers: bearer(user.accessToken) }],
    ];
    for (const [path, init] of attempts) {
      const res = await asStaleLocation(path, init);
      expect([path, res.status, ((await res.json()) as { error: string }).error]).toEqual([path, 401, "invalid_token"]);
    }
    expect((await asStaleLocation("/auth/me", { headers: bearer(user.accessToken) })).status).toBe(200);
    expect((await asStaleLocation("/auth/sessions", { headers: bearer(other.accessToken) })).status).toBe(200);
  });
});
