import type { D1Migration } from "@cloudflare/vitest-plugin";
import type { Env as WorkerEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      TEST_MIGRATIONS: D1Migration[];
      TEST_PREVIOUS_PRIVATE_KEY: string;
      TEST_STRICT_LIMITER: RateLimit;
      UPGRADE_DB: D1Database;
      TEST_RESOURCE_SERVER_SECRET: string;
    }
    interface GlobalProps {
      mainModule: typeof import("../src/index");
    }
  }
}
