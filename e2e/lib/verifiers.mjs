// The three downstream verifiers behind one interface. Each one fetches the JWKS over HTTP from the
// running auth worker; none is given a key directly.
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createVerifier, requireScopes, rolesOf, scopesOf } from "../../examples/downstream/verify-jsonwebtoken.mjs";
import { start } from "./processes.mjs";
import { AUTH_URL, DOWNSTREAM_URL } from "./workers.mjs";

/** @typedef {{ ok: true, claims: Record<string, unknown>, roles: string[], scopes: string[] } | { ok: false, error: string }} Verdict */
/** What a route that needs a permission answers: allowed, or refused for the reason given. */
/** @typedef {"allowed" | "insufficient_scope" | "invalid_token"} Decision */
/**
 * @typedef {{
 *   name: string,
 *   verify: (token: string) => Promise<Verdict>,
 *   authorize: (token: string, scope: string) => Promise<Decision>,
 * }} Verifier
 */

const settings = { issuer: AUTH_URL, audience: AUTH_URL, jwksUri: `${AUTH_URL}/.well-known/jwks.json` };

/** The routes of the downstream worker that need each permission. */
const ROUTE_NEEDING = { "profile:read": "/api/profile", "users:manage": "/api/admin/report" };

/** The downstream example worker (@edge-token-service/verifier): 200 is acceptance, 401 rejection, 403 a missing permission. */
function downstreamWorker() {
  const get = (path, token) => fetch(`${DOWNSTREAM_URL}${path}`, { headers: { Authorization: `Bearer ${token}` } });
  return {
    name: "downstream worker, @edge-token-service/verifier",
    /** @returns {Promise<Verdict>} */
    async verify(token) {
      const res = await get("/api/me", token);
      const text = await res.text();
      if (res.status === 200) return { ok: true, ...JSON.parse(text) };
      if (res.status === 401) return { ok: false, error: `${res.headers.get("WWW-Authenticate")} ${text}` };
      throw new Error(`downstream worker: unexpected ${res.status} ${text}`);
    },
    /** @returns {Promise<Decision>} */
    async authorize(token, scope) {
      const res = await get(ROUTE_NEEDING[scope], token);
      const body = await res.json();
      if (res.status === 200) return "allowed";
      if (res.status === 401 || res.status === 403) return body.error;
      throw new Error(`downstream worker: unexpected ${res.status} ${JSON.stringify(body)}`);
    },
  };
}

/** PyJWT in one long-lived Python process, so its JWKS cache persists across the run. */
function pyjwt({ root, logDir }) {
  const proc = start("pyjwt verifier", "/usr/bin/python3", [join(root, "examples", "downstream", "verify_pyjwt.py"), "--serve"], {
    env: { ISSUER: settings.issuer, AUDIENCE: settings.audience, JWKS_URI: settings.jwksUri, PYTHONUNBUFFERED: "1" },
    logFile: join(logDir, "pyjwt.log"),
    pipeStdio: true,
  });
  const lines = createInterface({ input: /** @type {NodeJS.ReadableStream} */ (proc.child.stdout) })[Symbol.asyncIterator]();
  let queue = Promise.resolve();
  /** One "TOKEN [SCOPE...]" line in, one JSON answer out. */
  const ask = (line) => {
    const result = queue.then(async () => {
      proc.child.stdin?.write(`${line}\n`);
      const answer = await lines.next();
      if (answer.done) throw new Error(`the PyJWT verifier exited; see ${proc.logFile}`);
      return JSON.parse(answer.value);
    });
    queue = result.then(() => undefined, () => undefined);
    return result;
  };
  return {
    name: "PyJWT PyJWKClient",
    /** @returns {Promise<Verdict>} */
    async verify(token) {
      const answer = await ask(token);
      return answer.ok ? answer : { ok: false, error: answer.detail };
    },
    /** @returns {Promise<Decision>} */
    async authorize(token, scope) {
      const answer = await ask(`${token} ${scope}`);
      return answer.ok ? "allowed" : answer.error;
    },
  };
}

function jsonwebtoken() {
  const verify = createVerifier(settings);
  return {
    name: "jsonwebtoken + jwks-rsa",
    /** @returns {Promise<Verdict>} */
    async verify(token) {
      try {
        const claims = await verify(token);
        return { ok: true, claims, roles: rolesOf(claims), scopes: scopesOf(claims) };
      } catch (err) {
        return { ok: false, error: `${err.name}: ${err.message}` };
      }
    },
    /** @returns {Promise<Decision>} */
    async authorize(token, scope) {
      let claims;
      try {
        claims = await verify(token);
      } catch {
        return "invalid_token";
      }
      try {
        requireScopes(claims, scope);
        return "allowed";
      } catch {
        return "insufficient_scope";
      }
    },
  };
}

/** @param {{ root: string, logDir: string }} dirs @returns {Verifier[]} */
export function startVerifiers(dirs) {
  return [downstreamWorker(), pyjwt(dirs), jsonwebtoken()];
}
