import { describe, expect, it } from "vitest";
import { getConfig } from "./config";

const EMAIL = { send: async () => ({ messageId: "<x@test>" }) };

describe("email settings", () => {
  it("are off without the EMAIL binding, on with it and EMAIL_FROM", () => {
    expect(getConfig({}).email.from).toBeUndefined();
    expect(getConfig({ EMAIL, EMAIL_FROM: "no-reply@example.com", EMAIL_FROM_NAME: "Example" }).email).toMatchObject({
      from: { email: "no-reply@example.com", name: "Example" },
      appUrl: "http://localhost:5173",
      verificationTtlMs: 86_400_000,
      resetTtlMs: 1_800_000,
      changeTtlMs: 3_600_000,
      requireVerified: false,
    });
  });

  it.each([
    [{ EMAIL }, /EMAIL_FROM/],
    [{ EMAIL, EMAIL_FROM: "not an address" }, /EMAIL_FROM/],
    [{ REQUIRE_VERIFIED_EMAIL: "true" }, /REQUIRE_VERIFIED_EMAIL needs the EMAIL binding/],
    [{ APP_URL: "https://app.example.com/#/home" }, /APP_URL/],
    [{ APP_URL: "javascript:alert(1)" }, /APP_URL/],
    [{ PASSWORD_RESET_TTL_SECONDS: "10" }, /PASSWORD_RESET_TTL_SECONDS/],
  ])("refuses %j", (env, message) => {
    expect(() => getConfig(env)).toThrow(message);
  });

  it("prints links only when asked AND the issuer is localhost, so a copied var prints nothing in production", () => {
    const base = { EMAIL, EMAIL_FROM: "no-reply@example.com", DEV_PRINT_EMAIL_LINKS: "true" };
    expect(getConfig({ ...base, ISSUER: "http://localhost:8787" }).email.printLinks).toBe(true);
    expect(getConfig({ ...base, ISSUER: "https://auth.example.com" }).email.printLinks).toBe(false);
    expect(getConfig({ ...base, ISSUER: "http://localhost:8787", DEV_PRINT_EMAIL_LINKS: "false" }).email.printLinks).toBe(false);
  });
});
