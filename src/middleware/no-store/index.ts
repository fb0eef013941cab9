import { createMiddleware } from "hono/factory";

/**
 * Every answer of the API, success or error, is `Cache-Control: no-store` (RFC 6749 sections 5.1
 * and 5.2): tokens, user data and refusals alike must never be kept by a cache.
 */
export const noStore = createMiddleware(async (c, next) => {
  await next();
  // On the answer itself, as hono's secureHeaders does: `c.header()` after the handler copies the
  // whole Response once per call.
  c.res.headers.set("Cache-Control", "no-store");
  c.res.headers.set("Pragma", "no-cache");
});
