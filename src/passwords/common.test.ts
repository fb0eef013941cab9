import { dictionary } from "@zxcvbn-ts/language-common";
import { describe, expect, it } from "vitest";
import { COMMON_PASSWORDS_FRONT_CODED } from "./common-passwords.generated";
import { COMMON_PASSWORD_LIST, decodeFrontCoded, isCommonPassword } from "./common";

/** What the generator must have shipped: the list's most common entries that meet the length rule. */
function expectedFromPackage(): string[] {
  const normalised = dictionary["passwords-common"].map((entry) => entry.normalize("NFC").trim().toLowerCase());
  const eligible = [...new Set(normalised.filter((entry) => entry.length >= COMMON_PASSWORD_LIST.minLength))];
  return eligible.slice(0, COMMON_PASSWORD_LIST.size);
}

/** A random password of 12 to 20 printable ASCII characters. */
function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(21));
  const length = 12 + (bytes[0]! % 9);
  return Array.from(bytes.subarray(1, 1 + length), (byte) => String.fromCharCode(0x21 + (byte % 94))).join("");
}

describe("isCommonPassword", () => {
  it("refuses well-known common passwords in any case", () => {
    for (const password of ["password", "iloveyou", "12345678", "123456789", "qwertyuiop", "sunshine", "princess", "football"]) {
      for (const variant of [password, password.toUpperCase(), password[0]!.toUpperCase() + password.slice(1)]) {
        expect(isCommonPassword(variant), variant).toBe(true);
      }
    }
    expect(isCommonPassword("PaSsWoRd")).toBe(true);
  });

  it("refuses common passwords padded with white space", () => {
    expect(isCommonPassword(" password ")).toBe(true);
    expect(isCommonPassword("\tiloveyou\n")).toBe(true);
  });

  it("refuses every entry the package ranks among the shipped ones, upper-cased", () => {
    expect(expectedFromPackage().filter((entry) => !isCommonPassword(entry.toUpperCase()))).toEqual([]);
  });

  it("accepts passwords that are not on the list", () => {
    for (const password of ["correct horse battery staple", "Tr0ub4dor&3-but-longer", "password-manager-generated-9f3k"]) {
      expect(isCommonPassword(password), password).toBe(false);
    }
    expect(isCommonPassword("")).toBe(false);
  });

  it("matches none of 5,000 random strong passwords (the set is exact: no false positives)", () => {
    expect(Array.from({ length: 5000 }, randomPassword).filter(isCommonPassword)).toEqual([]);
  });

  it("answers synchronously", () => {
    expect(typeof isCommonPassword("password")).toBe("boolean");
  });
});

describe("the shipped list", () => {
  it("is the package's most common entries that meet the length rule, at least ASVS's 3,000", () => {
    expect(COMMON_PASSWORD_LIST.size).toBeGreaterThanOrEqual(3000);
    expect(COMMON_PASSWORD_LIST.minLength).toBe(8);
    expect(COMMON_PASSWORD_LIST.package).toBe("@zxcvbn-ts/language-common");
  });

  it("is in sync with the installed package (run `npm run passwords:generate` after an upgrade)", async () => {
    const expected = expectedFromPackage();
    expect(expected).toHaveLength(COMMON_PASSWORD_LIST.size);
    expect(decodeFrontCoded(COMMON_PASSWORDS_FRONT_CODED)).toEqual([...expected].sort());
    // A non-literal specifier: TypeScript does not type JSON modules here, Vite still loads it.
    const packageJson = `${COMMON_PASSWORD_LIST.package}/package.json`;
    const { default: installed } = (await import(/* @vite-ignore */ packageJson)) as { default: { version: string; license: string } };
    expect({ version: installed.version, license: installed.license }).toEqual({
      version: COMMON_PASSWORD_LIST.version,
      license: COMMON_PASSWORD_LIST.license,
    });
  });
});

describe("decodeFrontCoded", () => {
  it("rebuilds entries from shared-prefix lengths", () => {
    expect(decodeFrontCoded("0password 81 9word a123")).toEqual(["password", "password1", "password1word", "password1w123"]);
  });

  it("refuses a token that shares more than the previous entry has", () => {
    expect(() => decodeFrontCoded("0abc 5de")).toThrow(/malformed/);
    expect(() => decodeFrontCoded("")).toThrow(/malformed/);
  });
});
