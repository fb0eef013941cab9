import { generateKeyPairSync } from "node:crypto";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Fresh keys for every run: the current signing key and a "previous" key that rotation tests
// use to sign tokens from before a rotation. Nothing secret is committed.
const rsa = () => generateKeyPairSync("rsa", { modulusLength: 2048 });
const current = rsa();
const previous = rsa();

export default defineConfig({
  plugins: [
    cloudflareTest(async () => ({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          SIGNING_KEY: current.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
          PREVIOUS_PUBLIC_KEYS: JSON.stringify([previous.publicKey.export({ format: "jwk" })]),
          TEST_PREVIOUS_PRIVATE_KEY: previous.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
          TEST_MIGRATIONS: await readD1Migrations("./drizzle"),
        },
      },
    })),
  ],
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    setupFiles: ["./test/setup.ts"],
    testTimeout: 30_000,
  },
});
