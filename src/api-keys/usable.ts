/**
 * The one definition of a usable API key: not revoked, not expired, and a user's key only while that
 * user exists and is not disabled (a service account's key has no user). The D1 store applies the
 * same rule in SQL (`usableKeyAt` in src/stores/d1/api-keys.ts); src/stores/d1/api-keys.test.ts
 * checks that the two agree.
 */
import type { ApiKeyState } from "../stores/types";

export function isUsable(key: Pick<ApiKeyState, "revokedAt" | "expiresAt" | "userId" | "serviceAccount" | "user">, now: number): boolean {
  if (key.revokedAt !== null) return false;
  if (key.expiresAt !== null && key.expiresAt <= now) return false;
  if (key.userId !== null) return key.user !== null && key.user.disabledAt === null;
  return key.serviceAccount !== null;
}
