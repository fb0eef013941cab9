/**
 * Forgot / reset password over HTTP, on D1: the same answer for every address, a single-use link,
 * the password rules, every session and access token ended, the notice, and nothing in the logs.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { databaseOf } from "./databases";
import { createKey, exchange, keyToken } from "./api-keys";
import { bearer, callWith, cookieRefreshInit, login, mailbox, nextSecond, PASSWORD, postJsonWith, register, uniqueEmail, type Login } from "./helpers";

const NEW_PASSWORD = "a brand new passphrase";

/** A user signed in on two devices who asked for a reset link. */
async function resetRequested() {
  const mail = mailbox();
  const laptop = await register(uniqueEmail("reset"));
  const phone = await login(laptop.email);
  const res = await postJsonWith({ EMAIL: mail.EMAIL }, "/auth/password/forgot", { email: laptop.email.toUpperCase() });
  expect(res.status).toBe(202);
  return { mail, laptop, phone, token: mail.token("reset-password", laptop.email), withMail: { EMAIL: mail.EMAIL } };
}

const reset = (overrides: Record<string, unknown>, token: string, newPassword = NEW_PASSWORD) => postJsonWith(overrides, "/auth/password/reset", { token, new_password: newPassword });
const resetRows = (user: Login) => databaseOf(user.userId).prepare("select count(*) as n from email_tokens where user_id = ? and purpose = 'reset_password'").bind(user.userId).first("n");

afterEach(() => {
  vi.restoreAllMocks();
});

describe("forgot password", () => {
  it("answers 202 with the same empty body for a known and an unknown address; only the known one gets mail", async () => {
    const mail = mailbox();
    const user = await register(uniqueEmail("known"));
    const known = await postJsonWith({ EMAIL: mail.EMAIL }, "/auth/password/forgot", { email: user.email });
    const unknown = await postJsonWith({ EMAIL: mail.EMAIL }, "/auth/password/forgot", { email: uniqueEmail("unknown") });
    expect([known.status, unknown.status]).toEqual([202, 202]);
    expect([await known.text(), await unknown.text()]).toEqual(["", ""]);
    expect([...known.headers.keys()].sort()).toEqual([...unknown.headers.keys()].sort());
    expect(mail.sent.map((m) => m.to)).toEqual([user.email]);
    expect(await resetRows(user)).toBe(1);
  });

  it("a failed email still answers 202 and leaves no link", async () => {
    const mail = mailbox();
    mail.failing = true;
    const user = await register(uniqueEmail("fail"));
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    expect((await postJsonWith({ EMAIL: mail.EMAIL }, "/auth/password/forgot", { email: user.email })).status).toBe(202);
    expect(await resetRows(user)).toBe(0);
    expect(errors.mock.calls.map((call) => JSON.parse(String(call[0])))).toContainEqual(expect.objectContaining({ event: "account_email_failed", kind: "reset_password" }));
  });

  it("is rate limited per address, known or not (429 with Retry-After)", async () => {
    const mail = mailbox();
    const limited = { EMAIL: mail.EMAIL, EMAIL_RATE_LIMITER: env.TEST_STRICT_LIMITER };
    const email = uniqueEmail("limited");
    for (let i = 0; i < 3; i++) expect((await postJsonWith(limited, "/auth/password/forgot", { email }, { "CF-Connecting-IP": `192.0.2.${i}` })).status).toBe(202);
    const refused = await postJsonWith(limited, "/auth/password/forgot", { email }, { "CF-Connecting-IP": "192.0.2.99" });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBe("60");
  });
});

describe("reset password", () => {
  it("sets the password, ends every session and access token, records the event and emails a notice", async () => {
    const { mail, laptop, phone, token, withMail } = await resetRequested();
    expect((await reset(withMail, token)).status).toBe(204);
    for (const device of [laptop, phone]) {
      expect((await callWith(withMail, "/auth/refresh", cookieRefreshInit(device.refreshToken))).status).toBe(401);
      expect((await callWith(withMail, "/auth/me", { headers: bearer(device.accessToken) })).status).toBe(401);
    }
    expect((await postJsonWith(withMail, "/auth/login", { email: laptop.email, password: PASSWORD })).status).toBe(401);
    expect((await postJsonWith(withMail, "/auth/login", { email: laptop.email, password: NEW_PASSWORD })).status).toBe(200);
    const events = await databaseOf(laptop.userId).prepare("select type, detail from auth_events where user_id = ? order by id").bind(laptop.userId).all<{ type: string }>();
    expect(events.results.map((e) => e.type)).toEqual(["register", "login", "password_reset_requested", "password_reset", "login_failed", "login"]);
    const revoked = await databaseOf(laptop.userId).prepare("select revoked_reason from sessions where id in (?, ?)").bind(laptop.sid, phone.sid).all();
    expect(revoked.results).toEqual([{ revoked_reason: "password_reset" }, { revoked_reason: "password_reset" }]);
    expect(mail.sent.at(-1)).toMatchObject({ to: laptop.email, subject: expect.stringMatching(/password was changed/i) });
    expect(await resetRows(laptop)).toBe(0);
  });

  it("revokes every API key of the user too: no exchange, and the keys' live access tokens are refused", async () => {
    const { laptop, token, withMail } = await resetRequested();
    const [ci, script] = [await createKey(laptop, { name: "ci" }), await createKey(laptop, { name: "script", scopes: [] })];
    const keysToken = await keyToken(ci);
    expect((await callWith(withMail, "/auth/me", { headers: bearer(keysToken) })).status).toBe(200);
    await nextSecond();
    expect((await reset(withMail, token)).status).toBe(204);
    for (const key of [ci, script]) expect((await exchange(key)).status).toBe(401);
    expect((await callWith(withMail, "/auth/me", { headers: bearer(keysToken) })).status).toBe(401);
    const keys = await databaseOf(laptop.userId).prepare("select revoked_at from api_keys where user_id = ?").bind(laptop.userId).all<{ revoked_at: number | null }>();
    expect(keys.results.map((key) => key.revoked_at === null)).toEqual([false, false]);
  });

  it("the link works once, even when two requests race", async () => {
    const { token, withMail } = await resetRequested();
    const answers = await Promise.all([reset(withMail, token), reset(withMail, token, "another new passphrase")]);
    expect(answers.map((res) => res.status).sort()).toEqual([204, 400]);
    expect((await reset(withMail, token)).status).toBe(400);
  });

  it("refuses a short or common password naming new_password, and the link stays usable", async () => {
    const { token, withMail } = await resetRequested();
    for (const weak of ["short", "password123"]) {
      const res = await reset(withMail, token, weak);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: "invalid_request", error_description: expect.stringMatching(/^new_password: /) });
    }
    expect((await reset(withMail, token)).status).toBe(204);
  });

  it("a newer request, a password change and expiry each void the link", async () => {
    const first = await resetRequested();
    expect((await postJsonWith(first.withMail, "/auth/password/forgot", { email: first.laptop.email })).status).toBe(202);
    expect((await reset(first.withMail, first.token)).status).toBe(400);

    const second = await resetRequested();
    const change = await callWith(second.withMail, "/auth/password", { method: "POST", headers: { "Content-Type": "application/json", ...bearer(second.laptop.accessToken) }, body: JSON.stringify({ current_password: PASSWORD, new_password: NEW_PASSWORD }) });
    expect(change.status).toBe(204);
    expect((await reset(second.withMail, second.token, "yet another passphrase")).status).toBe(400);

    const third = await resetRequested();
    await databaseOf(third.laptop.userId).prepare("update email_tokens set expires_at = ? where user_id = ?").bind(Date.now() - 1, third.laptop.userId).run();
    expect((await reset(third.withMail, third.token)).status).toBe(400);
  });

  it("never logs a token", async () => {
    const lines: string[] = [];
    for (const method of ["log", "info", "warn", "error"] as const) vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    const { token, withMail } = await resetRequested();
    expect((await reset(withMail, token)).status).toBe(204);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join("\n")).not.toContain(token);
  });
});
