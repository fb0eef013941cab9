import { describe, expect, it } from "vitest";
import { commonPasswordForm } from "./common";

describe("commonPasswordForm", () => {
  it("lower-cases and trims, so that case and padding do not dodge the list", () => {
    expect(commonPasswordForm("PaSsWoRd123")).toBe("password123");
    expect(commonPasswordForm(" password123 ")).toBe("password123");
    expect(commonPasswordForm("\tiloveyou1\n")).toBe("iloveyou1");
  });

  it("normalises to NFC, the form passwords are hashed in", () => {
    expect(commonPasswordForm("cafe\u0301-cafe\u0301")).toBe("caf\u00e9-caf\u00e9");
  });
});
