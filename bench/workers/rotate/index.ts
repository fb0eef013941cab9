/**
 * Reference `rotate`: the irreducible work of a refresh-token rotation as the issue states it, one row
 * per token: one D1 batch of two writes (consume the presented token with a conditional UPDATE,
 * INSERT its child; two rows written) plus one RS256 sign. Tokens are stored as their SHA-256, as
 * DESIGN.md requires of any design (no refresh token in plaintext at rest): one digest of the
 * presented token, one of the child. The service writes one row per rotation (one conditional UPDATE
 * of the family's row), so it is judged at 1.0x of this floor + limit().
 * POST /setup creates the table, POST /seed starts a chain, POST / rotates `{"refresh_token"}`;
 * POST /limited first makes the service's per-IP Rate Limiting call, then rotates (`rotate+limit`).
 */
import { json, signAccessToken, type KeyEnv } from "../shared/claims";
import { limitedFloorRefusal, type LimitEnv } from "../shared/limit";

interface Env extends KeyEnv, LimitEnv {
  DB: D1Database;
}

const newToken = () => crypto.randomUUID() + crypto.randomUUID();
const encoder = new TextEncoder();

/** What is stored of a token: its SHA-256, base64url (43 characters, as the service stores). */
async function hashOf(token: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(token)));
  return btoa(String.fromCharCode(...digest)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export default {
  async fetch(request: Request, env: Env) {
    const path = new URL(request.url).pathname;
    const now = Date.now();
    if (path === "/setup") {
      await env.DB.exec(
        "CREATE TABLE IF NOT EXISTS tokens (id TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL, used_at INTEGER, child_id TEXT)",
      );
      return json({ ok: true });
    }
    if (path === "/seed") {
      const token = newToken();
      await env.DB.prepare("INSERT INTO tokens (id, token_hash, created_at) VALUES (?1, ?2, ?3)").bind(crypto.randomUUID(), await hashOf(token), now).run();
      return json({ refresh_token: token });
    }
    const refusal = await limitedFloorRefusal(request, env);
    if (refusal) return refusal;
    const { refresh_token: presented } = (await request.json()) as { refresh_token?: string };
    const child = newToken();
    const childId = crypto.randomUUID();
    const [presentedHash, childHash] = await Promise.all([hashOf(presented ?? ""), hashOf(child)]);
    const [consumed] = await env.DB.batch([
      env.DB.prepare("UPDATE tokens SET used_at = ?1, child_id = ?2 WHERE token_hash = ?3 AND used_at IS NULL").bind(now, childId, presentedHash),
      env.DB.prepare("INSERT INTO tokens (id, token_hash, created_at) VALUES (?1, ?2, ?3)").bind(childId, childHash, now),
    ]);
    if (consumed?.meta.changes !== 1) return json({ error: "invalid_grant" }, 401);
    return json({ access_token: await signAccessToken(env, "bench-user", "bench-session"), refresh_token: child });
  },
};
