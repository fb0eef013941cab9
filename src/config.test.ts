import { describe, expect, it } from "vitest";
import { getConfig, MAX_SCOPE_LENGTH } from "./config";

const rolePermissions = (value?: string) => getConfig(value === undefined ? {} : { ROLE_PERMISSIONS: value }).rolePermissions;

describe("ROLE_PERMISSIONS", () => {
  it("defaults to user -> profile:read and admin -> users:manage, roles:manage", () => {
    expect([...rolePermissions()]).toEqual([
      ["user", ["profile:read"]],
      ["admin", ["roles:manage", "users:manage"]],
    ]);
  });

  it("keeps each role's permissions sorted and once", () => {
    expect(rolePermissions('{"editor": ["posts:write", "posts:read", "posts:write"], "nobody": []}').get("editor")).toEqual(["posts:read", "posts:write"]);
  });

  it.each([
    ["not JSON", "{user: [profile:read]}", /not valid JSON/],
    ["an array", '["user"]', /Invalid ROLE_PERMISSIONS/],
    ["a role name with upper case", '{"Admin": ["x"]}', /Invalid ROLE_PERMISSIONS/],
    ["a role name of 33 characters", `{"${"r".repeat(33)}": ["x"]}`, /Invalid ROLE_PERMISSIONS/],
    ["permissions that are not a list", '{"user": "profile:read"}', /Invalid ROLE_PERMISSIONS user/],
    ["a permission with a space", '{"user": ["profile read"]}', /Invalid ROLE_PERMISSIONS user/],
    ["a permission with a quote", '{"user": ["a\\"b"]}', /Invalid ROLE_PERMISSIONS user/],
    ["an empty permission", '{"user": [""]}', /Invalid ROLE_PERMISSIONS user/],
  ])("refuses %s with a ConfigurationError", (_name, value, message) => {
    expect(() => rolePermissions(value)).toThrow(expect.objectContaining({ name: "ConfigurationError", message: expect.stringMatching(message) }));
  });

  it(`refuses more permissions in all than fit in ${MAX_SCOPE_LENGTH} characters`, () => {
    const permissions = (prefix: string, count: number) => JSON.stringify(Array.from({ length: count }, (_, i) => `${prefix}:${String(i).padStart(6, "0")}`));
    // 25 distinct permissions of 9 characters: 25 * 10 - 1 = 249 characters, however they are shared.
    expect(rolePermissions(`{"a": ${permissions("p1", 20)}, "b": ${permissions("p2", 5)}, "c": ${permissions("p1", 20)}}`).size).toBe(3);
    expect(() => rolePermissions(`{"a": ${permissions("p1", 20)}, "b": ${permissions("p2", 6)}}`)).toThrow(/at most 256 characters/);
  });
});

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

describe("ISSUER", () => {
  it("is an origin: a trailing slash is dropped, a path (whose endpoints would not exist) is refused", () => {
    expect(getConfig({ ISSUER: "https://auth.example.com/" }).issuer).toBe("https://auth.example.com");
    expect(getConfig({ ISSUER: "http://localhost:8787" }).issuer).toBe("http://localhost:8787");
    // Kept as written (tokens carry it exactly): case and an explicit default port are not refused.
    expect(getConfig({ ISSUER: "https://Auth.Example.com:443" }).issuer).toBe("https://Auth.Example.com:443");
    for (const issuer of ["https://auth.example.com/idp", "https://auth.example.com/?tenant=a", "https://auth.example.com/#x", "https://user:pw@auth.example.com"]) {
      expect(() => getConfig({ ISSUER: issuer }), issuer).toThrow(/ISSUER must be an origin/);
    }
  });
});
