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
