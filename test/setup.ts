import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { userDatabases } from "./databases";

// Storage is isolated per test file; migrations are idempotent, so every file starts migrated.
for (const db of userDatabases()) await applyD1Migrations(db, env.TEST_MIGRATIONS);
