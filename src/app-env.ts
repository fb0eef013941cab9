import type { Actor } from "./client-info";
import type { Env } from "./env";
import type { Services } from "./services";
import type { LiveSession } from "./sessions/service";
import type { AccessTokenClaims } from "./tokens";

/**
 * Hono generics of the app: bindings plus what middleware puts on the context. Read them with
 * `c.get(name)`: Hono's `c.var` builds a new object from all of them at every access.
 */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** Set for every request by the services middleware. */
    services: Services;
    /** Set by the Bearer middleware once the token is verified and not revoked. */
    claims: AccessTokenClaims;
    /** Set by `requireLiveSession`: the caller's session, live in D1, with its user's roles now. */
    session: LiveSession;
    /** Set by the /admin authorisation middleware: who makes the change. */
    actor: Actor;
  };
}
