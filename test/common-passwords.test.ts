/**
 * The common-password list in D1 (`common_passwords`, migration 0006): it is the installed package's
 * list, registration and password changes consult it, and an operator's own entries count too.
 */
import { dictionary } from "@zxcvbn-ts/language-common";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, postJson, register, uniqueEmail, bearer } from "./helpers";

const MIN_LENGTH = 8;
const SIZE = 5000;

/** What scripts/generate-common-passwords.mjs must have written: the most common entries that meet the length rule. */
function expectedFromPackage(): string[] {
  const normalised = dictionary["passwords-common"].map((entry) => entry.normalize("NFC").trim().toLowerCase());
  return [...new Set(normalised.filter((entry) => entry.length >= MIN_LENGTH))].slice(0, SIZE);
}

/** A random password of 12 to 20 printable ASCII characters. */
function randomPassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(21));
  const length = 12 + (bytes[0]! % 9);
  return Array.from(bytes.subarray(1, 1 + length), (byte) => String.fromCharCode(0x21 + (byte % 94))).join("");
}

const registering = (password: string) => postJson("/auth/register", { email: uniqueEmail(), password });

describe("the common-password list", () => {
  it("is the installed package's 5,000 most common entries of 8+ characters (else: npm run passwords:generate into a new migration)", async () => {
    const { results } = await env.DB.prepare("select password from common_passwords order by password").all<{ password: string }>();
    expect(results.map((row) => row.password)).toEqual([...expectedFromPackage()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(SIZE).toBeGreaterThanOrEqual(3000); // ASVS v5 6.2.4
  });

  it("refuses its entries at registration in any case or padding, and answers 400 naming the field", async () => {
    for (const password of ["password", "ILOVEYOU", " Sunshine ", "qwertyuiop", "12345678"]) {
      const res = await registering(password);
      expect(res.status, password).toBe(400);
      expect(((await res.json()) as { error_description: string }).error_description).toMatch(/^password:.*common/);
    }
  });

  it("lets random strong passwords through: the entries are exact", async () => {
    const candidates = Array.from({ length: 200 }, randomPassword);
    const { results } = await env.DB.prepare("select count(*) as n from common_passwords where password in (select value from json_each(?))")
      .bind(JSON.stringify(candidates.map((p) => p.toLowerCase())))
      .all<{ n: number }>();
    expect(results[0]!.n).toBe(0);
    expect((await registering(randomPassword())).status).toBe(201);
  });

  it("counts an entry the operator added, at registration and at a password change", async () => {
    await env.DB.prepare("insert into common_passwords (password) values (?)").bind("acme-corporation").run();
    expect((await registering("Acme-Corporation")).status).toBe(400);
    const user = await register();
    const res = await call("/auth/password", {
      method: "POST",
      headers: { ...bearer(user.accessToken), "Content-Type": "application/json" },
      body: JSON.stringify({ current_password: "correct horse battery staple", new_password: "ACME-corporation " }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error_description: string }).error_description).toMatch(/^new_password:.*common/);
  });
});
