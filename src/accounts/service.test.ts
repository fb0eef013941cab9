import { describe, expect, it } from "vitest";
import { CLIENT, fastPasswords, PASSWORD, unitServices } from "../../test/unit";

const NEW_PASSWORD = "a brand new passphrase";

describe("register", () => {
  it("creates the user with a first session and a register event; the email is normalised", async () => {
    const unit = unitServices();
    const { user, session } = await unit.services.accounts.register({ email: "  Ada@Example.COM ", password: PASSWORD }, "web", CLIENT);
    expect(user).toMatchObject({ email: "ada@example.com", roles: ["user"], disabledAt: null, emailVerifiedAt: null });
    expect(unit.storage.families.get(session!.familyId)).toMatchObject({ userId: user.id, clientId: "web", generation: 0 });
    expect(unit.storage.events).toMatchObject([{ type: "register", userId: user.id, sessionId: session!.familyId, ip: CLIENT.ip }]);
  });

  it("refuses an email that is taken, whatever its case, and changes nothing", async () => {
    const unit = unitServices();
    await unit.register("taken@example.com");
    await expect(unit.register("TAKEN@example.com")).rejects.toMatchObject({ code: "email_taken" });
    expect(unit.storage.users.size).toBe(1);
    expect(unit.storage.families.size).toBe(1);
  });

  it.each(["password123", "Password123", "iloveyou1", "qwertyuiop"])("refuses the common password %s, naming the field", async (password) => {
    const unit = unitServices();
    await expect(unit.register(undefined, password)).rejects.toMatchObject({ code: "invalid_request", detail: { field: "password" } });
    expect(unit.storage.users.size).toBe(0);
  });

  it("counts the length without surrounding whitespace", async () => {
    const unit = unitServices();
    await expect(unit.register(undefined, "  abc1234  ")).rejects.toMatchObject({ code: "invalid_request", detail: { field: "password" } });
  });
});

describe("login", () => {
  it("unknown email, wrong password and disabled account fail alike, each recorded", async () => {
    const unit = unitServices();
    const { user } = await unit.register("ada@example.com");
    const disabled = await unit.register("bob@example.com");
    unit.storage.users.get(disabled.user.id)!.disabledAt = unit.clock.now;
    const attempts = [
      { email: "nobody@example.com", password: PASSWORD },
      { email: "ada@example.com", password: "wrong wrong wrong" },
      { email: "bob@example.com", password: PASSWORD },
    ];
    for (const attempt of attempts) {
      await expect(unit.services.accounts.login(attempt, "web", CLIENT)).rejects.toMatchObject({ code: "invalid_credentials", message: "The email or password is incorrect." });
    }
    expect(unit.storage.events.filter((e) => e.type === "login_failed").map((e) => [e.userId ?? null, e.detail])).toEqual([
      [null, "unknown_email"],
      [user.id, "bad_password"],
      [disabled.user.id, "disabled"],
    ]);
    expect(unit.storage.families.size).toBe(2);
  });

  it("a password change that commits while the password is being checked wins: 401, nothing written", async () => {
    let changeMidway: (() => void) | undefined;
    const unit = unitServices({
      passwords: {
        ...fastPasswords,
        async verify(password, stored) {
          const check = await fastPasswords.verify(password, stored);
          changeMidway?.();
          return check;
        },
      },
    });
    const { user } = await unit.register("ada@example.com");
    const events = unit.storage.events.length;
    changeMidway = () => void (unit.storage.users.get(user.id)!.passwordHash = "changed by a concurrent password change");
    await expect(unit.services.accounts.login({ email: "ada@example.com", password: PASSWORD }, "web", CLIENT)).rejects.toMatchObject({ code: "invalid_credentials" });
    expect(unit.storage.families.size).toBe(1);
    expect(unit.storage.events.length).toBe(events);
    expect(unit.storage.users.get(user.id)!.passwordHash).toBe("changed by a concurrent password change");
  });

  it("a disable that commits while the password is being checked wins too", async () => {
    let disableMidway: (() => void) | undefined;
    const unit = unitServices({
      passwords: { ...fastPasswords, verify: async (p, s) => ((disableMidway?.(), await fastPasswords.verify(p, s))) },
    });
    const { user } = await unit.register("ada@example.com");
    disableMidway = () => void (unit.storage.users.get(user.id)!.disabledAt = unit.clock.now);
    await expect(unit.services.accounts.login({ email: "ada@example.com", password: PASSWORD }, "web", CLIENT)).rejects.toMatchObject({ code: "invalid_credentials" });
    expect(unit.storage.families.size).toBe(1);
  });

  it("upgrades a hash with weaker parameters, only over the hash it verified", async () => {
    const unit = unitServices({ passwords: { ...fastPasswords, verify: async (p, s) => ({ ...(await fastPasswords.verify(p, s)), needsRehash: true }) } });
    const { user } = await unit.register("ada@example.com");
    const before = unit.storage.users.get(user.id)!.passwordHash;
    await unit.services.accounts.login({ email: "ada@example.com", password: PASSWORD }, "web", CLIENT);
    const after = unit.storage.users.get(user.id)!.passwordHash;
    expect(after).not.toBe(before);
    expect((await fastPasswords.verify(PASSWORD, after)).valid).toBe(true);
  });
});

describe("brute-force limits", () => {
  it("locks an email + network after too many failures, even for the right password; another network is unaffected", async () => {
    const unit = unitServices({ limits: { failuresPerEmailAndNetwork: 3 } });
    await unit.register("ada@example.com");
    const from = (ip: string, password: string) => unit.services.accounts.login({ email: "ada@example.com", password }, "web", { ip, userAgent: null });
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push(await from("203.0.113.9", "wrong wrong wrong").catch((e) => e.code));
    expect(codes).toEqual(["invalid_credentials", "invalid_credentials", "invalid_credentials", "rate_limited", "rate_limited"]);
    await expect(from("203.0.113.9", PASSWORD)).rejects.toMatchObject({ code: "rate_limited" });
    expect((await from("198.51.100.1", PASSWORD)).user.email).toBe("ada@example.com");
  });

  it("counts every address of one IPv6 /64 as one network", async () => {
    const unit = unitServices({ limits: { failuresPerEmailAndNetwork: 3 } });
    await unit.register("ada@example.com");
    const codes = [];
    for (let i = 1; i <= 6; i++) {
      const ip = `2001:db8:1:2:${i.toString(16)}::${i}`;
      codes.push(await unit.services.accounts.login({ email: "ada@example.com", password: "wrong wrong wrong" }, "web", { ip, userAgent: null }).catch((e) => e.code));
    }
    expect(codes.filter((code) => code === "rate_limited").length).toBeGreaterThanOrEqual(2);
  });

  it("limits attempts per email across networks before any hashing", async () => {
    let hashes = 0;
    const unit = unitServices({ limits: { attemptsPerEmail: 5 }, passwords: { ...fastPasswords, verify: (p, s) => (hashes++, fastPasswords.verify(p, s)) } });
    await unit.register("ada@example.com");
    const codes = [];
    for (let i = 1; i <= 8; i++) {
      codes.push(await unit.services.accounts.login({ email: "ada@example.com", password: "wrong wrong wrong" }, "web", { ip: `192.0.2.${i}`, userAgent: null }).catch((e) => e.code));
    }
    expect(codes).toEqual([...Array(5).fill("invalid_credentials"), "rate_limited", "rate_limited", "rate_limited"]);
    expect(hashes).toBe(5);
  });
});

describe("password change", () => {
  it("stores the new password, ends every other session and cuts off their tokens; the caller's session goes on", async () => {
    const unit = unitServices();
    const { user, session } = await unit.register("ada@example.com");
    const phone = await unit.services.accounts.login({ email: "ada@example.com", password: PASSWORD }, "web", CLIENT);
    await unit.services.accounts.changePassword({ userId: user.id, familyId: session.familyId, currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, CLIENT);
    await expect(unit.services.tokens.authenticate(phone.session.accessToken)).rejects.toMatchObject({ code: "invalid_token" });
    await expect(unit.services.sessions.refresh(phone.session.refreshToken, CLIENT)).rejects.toMatchObject({ code: "invalid_grant" });
    expect((await unit.services.tokens.authenticate(session.accessToken)).sub).toBe(user.id);
    expect((await unit.services.sessions.refresh(session.refreshToken, CLIENT)).familyId).toBe(session.familyId);
    await expect(unit.services.accounts.login({ email: "ada@example.com", password: PASSWORD }, "web", CLIENT)).rejects.toMatchObject({ code: "invalid_credentials" });
    expect(unit.storage.events.at(-2)).toMatchObject({ type: "password_changed", userId: user.id });
  });

  it("refuses a wrong current password (counted like a failed login) and a common new one, changing nothing", async () => {
    const unit = unitServices({ limits: { failuresPerEmailAndNetwork: 1 } });
    const { user, session } = await unit.register("ada@example.com");
    const change = (currentPassword: string, newPassword: string) =>
      unit.services.accounts.changePassword({ userId: user.id, familyId: session.familyId, currentPassword, newPassword }, CLIENT);
    await expect(change(PASSWORD, "password123")).rejects.toMatchObject({ code: "invalid_request", detail: { field: "new_password" } });
    await expect(change("wrong wrong wrong", NEW_PASSWORD)).rejects.toMatchObject({ code: "invalid_credentials" });
    await expect(change("wrong wrong wrong", NEW_PASSWORD)).rejects.toMatchObject({ code: "rate_limited" });
    await expect(change(PASSWORD, NEW_PASSWORD)).rejects.toMatchObject({ code: "rate_limited" });
    expect((await fastPasswords.verify(PASSWORD, unit.storage.users.get(user.id)!.passwordHash)).valid).toBe(true);
  });
});

describe("disable and enable", () => {
  it("disabling ends every session and cuts off every token; enabling lets the user log in again; both recorded with the actor", async () => {
    const unit = unitServices();
    const { user, session } = await unit.register("ada@example.com");
    const admin = { id: "admin-api-token", ip: "192.0.2.200", userAgent: "ops-console" };
    await unit.services.accounts.disable(user.id, admin);
    await expect(unit.services.tokens.authenticate(session.accessToken)).rejects.toMatchObject({ code: "invalid_token" });
    await expect(unit.services.accounts.profile(user.id)).rejects.toMatchObject({ code: "invalid_token" });
    await expect(unit.services.accounts.login({ email: "ada@example.com", password: PASSWORD }, "web", CLIENT)).rejects.toMatchObject({ code: "invalid_credentials" });
    await unit.services.accounts.enable(user.id, admin);
    unit.clock.advance(1_000);
    const again = await unit.services.accounts.login({ email: "ada@example.com", password: PASSWORD }, "web", CLIENT);
    expect((await unit.services.tokens.authenticate(again.session.accessToken)).sub).toBe(user.id);
    expect(unit.storage.events.filter((e) => e.type === "user_disabled" || e.type === "user_enabled")).toMatchObject([
      { type: "user_disabled", userId: user.id, ip: admin.ip, userAgent: admin.userAgent, actorId: "admin-api-token" },
      { type: "user_enabled", userId: user.id, ip: admin.ip, userAgent: admin.userAgent, actorId: "admin-api-token" },
    ]);
  });

  it("an unknown user is not_found", async () => {
    const unit = unitServices();
    const admin = { id: "admin-api-token", ...CLIENT };
    await expect(unit.services.accounts.disable(crypto.randomUUID(), admin)).rejects.toMatchObject({ code: "not_found" });
    await expect(unit.services.accounts.enable(crypto.randomUUID(), admin)).rejects.toMatchObject({ code: "not_found" });
    expect(unit.storage.events).toEqual([]);
  });
});
