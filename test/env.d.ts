import type { D1Migration } from "@cloudflare/vitest-plugin";

/** What vitest.config.ts binds for the tests, besides the worker's own bindings. */
declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      TEST_PREVIOUS_PRIVATE_KEY: string;
      TEST_STRICT_LIMITER: RateLimit;
      TEST_RESOURCE_SERVER_SECRET: string;
      /** Starts empty: test/upgrade*.test.ts build a database at an old schema in it. */
      UPGRADE_DB: D1Database;
      /** The second user database of the workers-2db project. */
      DB_2?: D1Database;
    }
  }
}
