// The four downstream verifiers behind one interface. Each one fetches the JWKS over HTTP from the
// running auth worker; none is given a key directly.
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createVerifier } from "../../examples/downstream/verify-jsonwebtoken.mjs";
import { start } from "./processes.mjs";
import { AUTH_URL, DOWNSTREAM_URL } from "./workers.mjs";

/** @typedef {{ ok: true, claims: Record<string, unknown> } | { ok: false, error: string }} Verdict */
/** @typedef {{ name: string, verify: (token: string) => Promise<Verdict> }} Verifier */

const settings = { issuer: AUTH_URL, audience: AUTH_URL, jwksUri: `${AUTH_URL}/.well-known/jwks.json` };

/** A route of the downstream worker: 200 is acceptance, 401 rejection, anything else a failure. */
function downstreamRoute(name, path) {
  return {
    name,
    /** @returns {Promise<Verdict>} */
    async verify(token) {
      const res = await fetch(`${DOWNSTREAM_URL}${path}`, { headers: { Authorization: `Bearer ${token}` } });
      const text = await res.text();
      if (res.status === 200) return { ok: true, claims: JSON.parse(text).claims };
      if (res.status === 401) return { ok: false, error: `${res.headers.get("WWW-Authenticate")} ${text}` };
      throw new Error(`${name}: unexpected ${res.status} ${text}`);
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
  return {
    name: "PyJWT PyJWKClient",
    /** @returns {Promise<Verdict>} */
    verify(token) {
      const result = queue.then(async () => {
        proc.child.stdin?.write(`${token}\n`);
        const line = await lines.next();
        if (line.done) throw new Error(`the PyJWT verifier exited; see ${proc.logFile}`);
        return JSON.parse(line.value);
      });
      queue = result.then(() => undefined, () => undefined);
      return result;
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
        return { ok: true, claims: await verify(token) };
      } catch (err) {
        return { ok: false, error: `${err.name}: ${err.message}` };
      }
    },
  };
}

/** @param {{ root: string, logDir: string }} dirs @returns {Verifier[]} */
export function startVerifiers(dirs) {
  return [
    downstreamRoute("downstream worker, hono/jwk", "/hono/me"),
    downstreamRoute("downstream worker, jose", "/jose/me"),
    pyjwt(dirs),
    jsonwebtoken(),
  ];
}
