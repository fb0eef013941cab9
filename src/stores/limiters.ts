/** The Workers Rate Limiting bindings (wrangler.toml `[[ratelimits]]`) as {@link Limiter}s. */
import type { Limiter } from "./types";

/**
 * A best-effort shield: a missing binding or a limiter error lets the request through, so an outage
 * of the limiter never locks every user out. `name` prefixes every key.
 */
export function bindingLimiter(binding: RateLimit | undefined, name: string): Limiter {
  if (!binding) return { allows: async () => true };
  return {
    async allows(key: string) {
      try {
        return (await binding.limit({ key: `${name}:${key}` })).success;
      } catch {
        return true;
      }
    },
  };
}
