import { parseRefreshToken, storedHashOf } from "../src/sessions/refresh-token";

/** What D1 stores of a refresh token (a family token's tag, a pre-upgrade token's SHA-256). */
export function storedHash(token: string): Promise<string> {
  const presented = parseRefreshToken(token);
  if (!presented) throw new Error(`not a refresh token: ${token}`);
  return storedHashOf(presented);
}
