import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../../app-env";

/**
 * Runs `middleware` for the requests that `applies` accepts; the others go straight on.
 * `hono/combine`'s `except` does the same, but it composes a fresh middleware chain on every
 * request, which showed in the CPU profile of the hottest endpoints (`npm run bench:profile`).
 */
export const onlyWhen =
  (applies: (c: Context<AppEnv>) => boolean, middleware: MiddlewareHandler<AppEnv>): MiddlewareHandler<AppEnv> =>
  (c, next) =>
    applies(c) ? middleware(c, next) : next();

/** True for `prefix` itself and every path below it, as Hono's `${prefix}/*` matches them. */
export const isUnder = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);
