import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach } from "vitest";
import { userDatabases } from "./databases";

// Storage is isolated per test file; migrations are idempotent, so every file starts migrated.
for (const db of userDatabases()) await applyD1Migrations(db, env.TEST_MIGRATIONS);

/** TEST_STRICT_LIMITER's period (vitest.config.ts), and how close to its end no test starts. */
const STRICT_LIMITER_PERIOD_MS = 60_000;
const WINDOW_END_MARGIN_MS = 5_000;

// Local Rate Limiting counts in windows aligned to the wall clock: a test counting up to the strict
// limiter's 3 a minute that straddled a window's end would see its count start again mid-way. Every
// test starts well inside a window (the suite waits at most once a minute, a few seconds).
beforeEach(async () => {
  const leftMs = STRICT_LIMITER_PERIOD_MS - (Date.now() % STRICT_LIMITER_PERIOD_MS);
  if (leftMs < WINDOW_END_MARGIN_MS) await new Promise((resolve) => setTimeout(resolve, leftMs + 50));
});
