/**
 * Email verification over HTTP, on D1: the link registration sends, the `email_verified` claim,
 * /auth/me and UserInfo, resend, REQUIRE_VERIFIED_EMAIL, and a service without the EMAIL binding.
 */
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { hashLinkToken } from "../src/lifecycle/link-tokens";
import { databaseOf } from "./databases";
import { createKey, keyToken } from "./api-keys";
import { expectError } from "./hardening";
import { bearer, callWith, decodePayload, mailbox, PASSWORD, postJsonWith, refreshCookieOf, rotate, uniqueEmail } from "./helpers";

/** Registers through a recording EMAIL binding. */
async function registerWithMail(overrides: Record<string, unknown> = {}) {
  const mail = mailbox();
  const email = uniqueEmail("verify");
  const res = await postJsonWith({ EMAIL: mail.EMAIL, ...overrides }, "/auth/register", { email, password: PASSWORD });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { user: { id: string; email_verified: boolean }; access_token?: string };
  return { mail, email, res, body, userId: body.user.id, env: { EMAIL: mail.EMAIL, ...overrides } };
}

afterEach(() => {
  vi.restoreAllMocks();
});

const verify = (overrides: Record<string, unknown>, token: string) => postJsonWith(overrides, "/auth/email/verify", { token });

describe("email verification", () => {
  it("registration sends a link; using it verifies the email in D1, /auth/me, UserInfo and the next access token", async () => {
    const { mail, email, res, body, userId, env: withMail } = await registerWithMail();
    expect(body.user.email_verified).toBe(false);
    expect(decodePayload(body.access_token!).email_verified).toBe(false);
    expect(mail.sent).toHaveLength(1);
    expect(mail.sent[0]).toMatchObject({ from: "no-reply@auth.example.com", to: email, subject: expect.stringMatching(/verify/i) });
    expect(mail.sent[0]!.html).toMatch(/^<!doctype html>/);
    const token = mail.token("verify-email", email);
    // D1 holds the hash of purpose:token, never the token.
    const rows = await databaseOf(userId).prepare("select * from email_tokens where user_id = ?").bind(userId).all();
    expect(rows.results).toEqual([expect.objectContaining({ token_hash: await hashLinkToken("verify_email", token), purpose: "verify_email" })]);
    expect(JSON.stringify(rows.results)).not.toContain(token);

    expect((await verify(withMail, token)).status).toBe(204);
    expect(await databaseOf(userId).prepare("select email_verified_at from users where id = ?").bind(userId).first("email_verified_at")).toEqual(expect.any(Number));
    expect(await databaseOf(userId).prepare("select count(*) as n from email_tokens where user_id = ?").bind(userId).first("n")).toBe(0);
    const events = await databaseOf(userId).prepare("select type, detail from auth_events where user_id = ? order by id").bind(userId).all();
    expect(events.results.map((e) => e.type)).toEqual(["register", "email_verified"]);

    const { accessToken } = await rotate(refreshCookieOf(res)!);
    expect(decodePayload(accessToken).email_verified).toBe(true);
    const me = (await (await callWith(withMail, "/auth/me", { headers: bearer(accessToken) })).json()) as { user: Record<string, unknown> };
    expect(me.user).toMatchObject({ email, email_verified: true });
    const userinfo = (await (await callWith(withMail, "/oauth/userinfo", { headers: bearer(accessToken) })).json()) as Record<string, unknown>;
    expect(userinfo).toMatchObject({ sub: userId, email, email_verified: true });
  });

  it("a used, unknown or malformed token is 400 invalid_request naming the token", async () => {
    const { mail, email, env: withMail } = await registerWithMail();
    const token = mail.token("verify-email", email);
    expect((await verify(withMail, token)).status).toBe(204);
    for (const presented of [token, "A".repeat(44), "not a token", "x".repeat(65)]) {
      const res = await verify(withMail, presented);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: "invalid_request", error_description: expect.stringMatching(/^token: /) });
    }
  });

  it("a verification token does not reset the password", async () => {
    const { mail, email, env: withMail } = await registerWithMail();
    const res = await postJsonWith(withMail, "/auth/password/reset", { token: mail.token("verify-email", email), new_password: "a brand new passphrase" });
    expect(res.status).toBe(400);
    expect((await verify(withMail, mail.token("verify-email", email))).status).toBe(204);
  });

  it("resend (Bearer) sends a new link and voids the old; a send failure is 503 and leaves no link", async () => {
    const { mail, email, body, userId, env: withMail } = await registerWithMail();
    const first = mail.token("verify-email", email);
    const resend = () => callWith(withMail, "/auth/email/verify/resend", { method: "POST", headers: { "Content-Type": "application/json", ...bearer(body.access_token!) }, body: "{}" });
    expect((await resend()).status).toBe(202);
    const second = mail.token("verify-email", email);
    expect(second).not.toBe(first);
    expect((await verify(withMail, first)).status).toBe(400);

    mail.failing = true;
    const failed = await resend();
    expect(failed.status).toBe(503);
    expect(failed.headers.get("Retry-After")).toBe("30");
    expect(await failed.json()).toMatchObject({ error: "temporarily_unavailable" });
    expect(await databaseOf(userId).prepare("select count(*) as n from email_tokens where user_id = ?").bind(userId).first("n")).toBe(0);
    mail.failing = false;
    expect((await verify(withMail, second)).status).toBe(400);
  });

  it("resend with a Bearer token needs a user's live session: an API key's token or an ended session is 401, nothing sent", async () => {
    const { mail, email, body, env: withMail } = await registerWithMail();
    const resendWith = (accessToken: string) =>
      callWith(withMail, "/auth/email/verify/resend", { method: "POST", headers: { "Content-Type": "application/json", ...bearer(accessToken) }, body: "{}" });
    const keysToken = await keyToken(await createKey({ accessToken: body.access_token! }, { name: "no scopes", scopes: [] }));
    const sentBefore = mail.sent.length;
    await expectError(await resendWith(keysToken), 401, "invalid_token");
    expect(mail.sent.length).toBe(sentBefore);
    // The link already sent still works: nothing was voided.
    const ended = await postJsonWith({}, "/auth/login", { email, password: PASSWORD });
    const endedToken = ((await ended.json()) as { access_token: string }).access_token;
    expect((await callWith({}, "/auth/logout", { method: "POST", headers: bearer(endedToken) })).status).toBe(204);
    await expectError(await resendWith(endedToken), 401, "invalid_token");
    expect(mail.sent.length).toBe(sentBefore);
    expect((await verify(withMail, mail.token("verify-email", email))).status).toBe(204);
  });

  it("resend by address (no token) answers 202 alike for unknown addresses; it is rate limited", async () => {
    const { mail, email, env: withMail } = await registerWithMail();
    const limited = { ...withMail, EMAIL_RATE_LIMITER: env.TEST_STRICT_LIMITER };
    const known = await postJsonWith(limited, "/auth/email/verify/resend", { email });
    const unknown = await postJsonWith(limited, "/auth/email/verify/resend", { email: uniqueEmail("nobody") });
    expect([known.status, unknown.status]).toEqual([202, 202]);
    expect(await known.text()).toBe(await unknown.text());
    expect(mail.sent.filter((m) => m.to === email)).toHaveLength(2);
    await postJsonWith(limited, "/auth/email/verify/resend", { email: uniqueEmail("other") });
    const refused = await postJsonWith(limited, "/auth/email/verify/resend", { email: uniqueEmail("other") });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBe("60");
  });

  it("DEV_PRINT_EMAIL_LINKS=true (local development) prints the link to the console, only with a localhost issuer", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
    const local = await registerWithMail({ DEV_PRINT_EMAIL_LINKS: "true" });
    const token = local.mail.token("verify-email", local.email);
    expect(lines.join("\n")).toContain(`http://localhost:5173/#/verify-email?token=${token}`);
    lines.length = 0;
    const deployed = await registerWithMail({ DEV_PRINT_EMAIL_LINKS: "true", ISSUER: "https://auth.example.com" });
    expect(lines.join("\n")).not.toContain(deployed.mail.token("verify-email", deployed.email));
  });

  it("without the EMAIL binding, registration works and the email endpoints answer 404", async () => {
    const res = await postJsonWith({ EMAIL: undefined }, "/auth/register", { email: uniqueEmail("nomail"), password: PASSWORD });
    expect(res.status).toBe(201);
    for (const [path, body] of [["/auth/password/forgot", { email: uniqueEmail() }], ["/auth/email/verify", { token: "A".repeat(44) }]] as const) {
      expect((await postJsonWith({ EMAIL: undefined }, path, body)).status).toBe(404);
    }
  });
});

describe("REQUIRE_VERIFIED_EMAIL=true", () => {
  const required = { REQUIRE_VERIFIED_EMAIL: "true" };

  it("registration answers the user without a session; login is 403 email_not_verified until the link is used", async () => {
    const { mail, email, res, body, env: withMail } = await registerWithMail(required);
    expect(body).toEqual({ user: expect.objectContaining({ email, email_verified: false }) });
    expect(refreshCookieOf(res)).toBeUndefined();
    const refused = await postJsonWith(withMail, "/auth/login", { email, password: PASSWORD });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: "email_not_verified" });
    expect((await postJsonWith(withMail, "/auth/login", { email, password: "not the password" })).status).toBe(401);
    expect((await verify(withMail, mail.token("verify-email", email))).status).toBe(204);
    const login = await postJsonWith(withMail, "/auth/login", { email, password: PASSWORD });
    expect(login.status).toBe(200);
    expect(decodePayload(((await login.json()) as { access_token: string }).access_token).email_verified).toBe(true);
  });

  it("needs the EMAIL binding: without it every request is a configuration error", async () => {
    const res = await postJsonWith({ ...required, EMAIL: undefined }, "/auth/login", { email: uniqueEmail(), password: PASSWORD });
    expect(res.status).toBe(500);
    expect(await res.json()).toMatchObject({ error: "server_error" });
  });
});
