import { createMiddleware } from "hono/factory";

/**
 * Every answer of the API, success or error, is `Cache-Control: no-store` (RFC 6749 sections 5.1
 * and 5.2): tokens, user data and refusals alike must never be kept by a cache.
 */
export const noStore = createMiddleware(async (c, next) => {
  await next();
  c.header("Cache-Control", "no-store");
  c.header("Pragma", "no-cache");
});
