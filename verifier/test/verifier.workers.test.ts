/**
 * The verifier's behaviour inside workerd (the workers project of vitest.config.ts). Self-contained:
 * the JWKS and the introspection endpoint are served by an injected fetch, not by the service.
 */
import { expect, it } from "vitest";
import { honoSuite } from "./suites/hono.js";
import { introspectionSuite } from "./suites/introspection.js";
import { verifySuite } from "./suites/verify.js";

it("runs inside workerd", () => {
  expect(navigator.userAgent).toBe("Cloudflare-Workers");
});

verifySuite();
honoSuite();
introspectionSuite();
