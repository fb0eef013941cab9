/**
 * Reference `verify`: one RS256 jwtVerify plus one KV get per request (the floor of /auth/me).
 * `/limited` first makes the service's per-IP Rate Limiting call (`verify+limit`).
 */
import { jwtVerify } from "jose";
import { getKeys, json, type KeyEnv } from "../shared/claims";
import { limitedFloorRefusal, type LimitEnv } from "../shared/limit";

interface Env extends KeyEnv, LimitEnv {
  REVOCATIONS: KVNamespace;
}

export default {
  async fetch(request: Request, env: Env) {
    const refusal = await limitedFloorRefusal(request, env);
    if (refusal) return refusal;
    const token = request.headers.get("Authorization")?.replace(/^Bearer /, "") ?? "";
    const { publicKey } = await getKeys(env);
    let payload;
    try {
      ({ payload } = await jwtVerify(token, publicKey, {
        algorithms: ["RS256"],
        typ: "at+jwt",
        issuer: env.ISSUER,
        audience: env.AUDIENCE,
        requiredClaims: ["exp", "iat", "sub", "jti", "sid", "client_id"],
        clockTolerance: 60,
      }));
    } catch {
      return json({ error: "invalid_token" }, 401);
    }
    if ((await env.REVOCATIONS.get(`revoked-jti:${payload.jti}`)) !== null) return json({ error: "invalid_token" }, 401);
    return json({ sub: payload.sub });
  },
};
