/**
 * The floors' `/limited` variant: before its work, the one per-IP Rate Limiting `limit()` call that the
 * service makes on every auth request (DESIGN.md, rate limits). Measured next to the plain floor, it
 * shows what that call costs under `wrangler dev`, where the binding is a Durable Object simulator.
 */
import { json } from "./claims";

export interface LimitEnv {
  LIMITER: RateLimit;
}

/** The same path as LIMITED_PATH in bench/lib/scenarios.mjs (the load client is plain Node). */
const LIMITED_PATH = "/limited";

/** The 429 to answer if this is a `/limited` request over the limit; undefined to go on. */
export async function limitedFloorRefusal(request: Request, env: LimitEnv): Promise<Response | undefined> {
  if (new URL(request.url).pathname !== LIMITED_PATH) return undefined;
  const ip = request.headers.get("CF-Connecting-IP") ?? "unknown";
  const { success } = await env.LIMITER.limit({ key: `AUTH_RATE_LIMITER:${ip}` });
  return success ? undefined : json({ error: "rate_limited" }, 429);
}
