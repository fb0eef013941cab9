import { defineConfig } from "drizzle-kit";

// Migrations are generated from src/db/schema.ts and applied by wrangler (`migrations_dir` in wrangler.toml).
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema.ts",
  out: "./drizzle",
});
