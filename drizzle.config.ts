import { defineConfig } from "drizzle-kit";

// Migrations are generated from src/stores/d1/schema.ts and applied by wrangler (`migrations_dir` in wrangler.toml).
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/stores/d1/schema.ts",
  out: "./drizzle",
});
