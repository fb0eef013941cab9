import { describe, expect, it } from "vitest";
import { call, me, register } from "./helpers";

describe("smoke", () => {
  it("registers and reads /auth/me", async () => {
    const health = await call("/health");
    expect(health.status).toBe(200);
    const user = await register();
    const res = await me(user.accessToken);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { user: { email: string } }).user.email).toBe(user.email);
  });
});
