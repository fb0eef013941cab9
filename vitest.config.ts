import { generateKeyPairSync, randomBytes } from "node:crypto";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config";

// Fresh keys for every run: the current signing key and a "previous" key that rotation tests
// use to sign tokens from before a rotation. Nothing secret is committed.
const rsa = () => generateKeyPairSync("rsa", { modulusLength: 2048 });
const current = rsa();
const previous = rsa();
const refreshTokenKey = randomBytes(32).toString("base64url");
const resourceServerSecret = randomBytes(32).toString("base64url");

// The suite sends hundreds of requests from one "IP": the real limiters get generous limits here,
// and rate-limit tests swap in the strict TEST_STRICT_LIMITER (3 a minute) where they need one.
const generous = { namespace_id: "9000", simple: { limit: 100_000, period: 60 } };
const limiters = ["AUTH", "LOGIN", "LOGIN_EMAIL", "FAILED_LOGIN", "REGISTER", "REFRESH", "REFRESH_FAMILY", "EMAIL", "API_KEY"].map((name) => `${name}_RATE_LIMITER`);

/** Tests of the repository that need Node (a tool reading files): the "node" project, never workerd. */
const NODE_ONLY = "test/**/*.node.test.ts";

/** The service inside workerd, with local D1, KV and limiters; `userDatabases` D1 bindings hold the users. */
async function workersProject(name: string, include: string[], userDatabases: string[], exclude: string[] = []): Promise<TestProjectInlineConfiguration> {
  return {
    extends: true,
    plugins: [
      cloudflareTest(async () => ({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          // UPGRADE_DB starts empty: test/upgrade.test.ts builds a database at an old schema in it.
          d1Databases: [...userDatabases, "UPGRADE_DB"],
          ratelimits: {
            ...Object.fromEntries(limiters.map((limiter, i) => [limiter, { ...generous, namespace_id: String(9000 + i) }])),
            TEST_STRICT_LIMITER: { namespace_id: "9100", simple: { limit: 3, period: 60 } },
          },
          // Set here, these win over a developer's .dev.vars (written by npm run dev), which the pool reads too.
          bindings: {
            USER_DATABASES: userDatabases.join(","),
            DEV_PRINT_EMAIL_LINKS: "false",
            SIGNING_KEY: current.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
            PREVIOUS_PUBLIC_KEYS: JSON.stringify([previous.publicKey.export({ format: "jwk" })]),
            REFRESH_TOKEN_KEY: refreshTokenKey,
            // A downstream service allowed to introspect, and two more OAuth clients than "web".
            RESOURCE_SERVERS: JSON.stringify({ "billing-api": resourceServerSecret }),
            TEST_RESOURCE_SERVER_SECRET: resourceServerSecret,
            OAUTH_CLIENTS: JSON.stringify({ "ios-app": {}, "admin-spa": { origins: ["http://localhost:5174"] } }),
            TEST_PREVIOUS_PRIVATE_KEY: previous.privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
            TEST_MIGRATIONS: await readD1Migrations("./drizzle"),
          },
        },
      })),
    ],
    test: { name, include, exclude, setupFiles: ["./test/setup.ts"] },
  };
}

export default defineConfig({
  test: {
    testTimeout: 30_000,
    // Security events are logged as JSON lines; show them only for failing tests.
    silent: "passed-only",
    projects: [
      workersProject("workers", ["src/**/*.test.ts", "test/**/*.test.ts", "verifier/test/**/*.workers.test.ts"], ["DB"], ["test/several-databases/**", NODE_ONLY]),
      // The integration tests again, with users spread over two databases (DESIGN.md, Scale).
      workersProject("workers-2db", ["test/**/*.test.ts"], ["DB", "DB_2"], ["test/layering.test.ts", NODE_ONLY]),
      {
        extends: true,
        // Packages that run outside Workers too (browser client, downstream verifier): plain Node.
        test: {
          name: "node",
          environment: "node",
          include: ["client/test/**/*.test.ts", "verifier/test/**/*.node.test.ts", NODE_ONLY],
        },
      },
    ],
  },
});
