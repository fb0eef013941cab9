/**
 * What is measured: each service endpoint next to the reference worker that does only the
 * platform's irreducible work for it, and the virtual clients that drive both.
 */
import { send } from "./load.mjs";

export const PASSWORD = "bench password, long enough";

/**
 * Each endpoint and its floor, in table order. `limited`: the endpoint makes one per-IP Rate Limiting
 * call on its hot path, so its floor is also measured making that call first (`/limited`,
 * bench/workers/shared/limit.ts). `target` is the minimum req/s ratio to the JUDGED floor: the floor
 * that does the same platform work, i.e. floor+limit where the service makes limit() calls, the
 * plain floor otherwise (--without-rate-limits, JWKS). The plain floor is always reported too.
 * Undefined target: reported only. `noise` is not an endpoint: a second copy of `hello` (`copyOf`)
 * measured against `hello` in the same rounds, so every run shows how far two identical workers'
 * ratio strays from 1.000 on this machine; a target missed by less than that is within noise.
 */
export const PAIRS = [
  { key: "jwks", endpoint: "GET /.well-known/jwks.json", reference: "hello", target: 0.95, limited: false },
  { key: "me", endpoint: "GET /auth/me", reference: "verify", target: 0.9, limited: true },
  { key: "refresh", endpoint: "POST /auth/refresh", reference: "rotate", target: 1.0, limited: true },
  { key: "login", endpoint: "POST /auth/login", reference: "sign", target: undefined, limited: false },
  { key: "noise", endpoint: "noise check: `hello`, a second copy", reference: "hello", target: undefined, limited: false, copyOf: "hello" },
];

/** The worker of a pair's endpoint side: the service, or for the noise check the copy of its floor. */
export const copyName = (pair) => (pair.copyOf ? `${pair.copyOf}-copy` : undefined);

/**
 * The sides of a pair in the order round `round` measures them: the endpoint, its floor and, if the
 * service makes limit() calls, the floor + limit(). The order rotates from round to round, so no side
 * is always the one that runs right after the endpoint (or right after another pair).
 */
export function sidesOf(pair, { withLimiter, round }) {
  return inTurn(["endpoint", "reference", ...(pair.limited && withLimiter ? ["limited"] : [])], round);
}

/** `list` in the order round `round` (from 1) takes it: rotated by one place per round. */
export function inTurn(list, round) {
  const shift = (round - 1) % list.length;
  return [...list.slice(shift), ...list.slice(0, shift)];
}

/** The path of the floors' +limit variant, as in bench/workers/shared/limit.ts. */
const LIMITED_PATH = "/limited";

const JSON_HEADERS = { "content-type": "application/json" };
const ok200 = (status) => status === 200;

function refreshCookie(headers) {
  const cookies = [headers["set-cookie"] ?? []].flat();
  for (const c of cookies) {
    const m = /^__Host-refresh_token=([^;]+)/.exec(c);
    if (m) return m[1];
  }
  return undefined;
}

/** Logs a user in and returns its access token and the refresh token of the new family. */
export async function login(pool, email) {
  const res = await send(pool, { method: "POST", path: "/auth/login", headers: JSON_HEADERS, body: JSON.stringify({ email, password: PASSWORD }) });
  const refreshToken = refreshCookie(res.headers);
  if (res.status !== 200 || !refreshToken) throw new Error(`login ${email}: ${res.status} ${res.body.slice(0, 200)}`);
  return { email, accessToken: JSON.parse(res.body).access_token, refreshToken, ms: res.ms };
}

/** One account per virtual client, registered and logged in: its own access token and refresh chain. */
export async function setupUsers(pool, count, runId) {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const email = `bench-${runId}-${i}@example.com`;
      const res = await send(pool, { method: "POST", path: "/auth/register", headers: JSON_HEADERS, body: JSON.stringify({ email, password: PASSWORD }) });
      if (res.status !== 201) throw new Error(`register ${email}: ${res.status} ${res.body.slice(0, 200)}`);
      return login(pool, email);
    }),
  );
}

/** Starts one rotation chain per virtual client in the `rotate` reference. */
async function seedChain(pool) {
  const res = await send(pool, { method: "POST", path: "/seed" });
  if (res.status !== 200) throw new Error(`rotate /seed: ${res.status} ${res.body.slice(0, 200)}`);
  return JSON.parse(res.body).refresh_token;
}

/** A client that walks its own chain: each 200 carries the `refresh_token` of the next step. */
function chainClient(path, state, restart) {
  return {
    request: () => ({ method: "POST", path, headers: JSON_HEADERS, body: JSON.stringify({ refresh_token: state.token }) }),
    accept(status, body) {
      if (status !== 200) return false;
      const next = JSON.parse(body).refresh_token;
      if (typeof next !== "string") return false;
      state.token = next;
      return true;
    },
    // A broken chain (an error, already counted) starts over from a fresh login or seed.
    recover: async () => {
      state.token = await restart();
    },
  };
}

/**
 * Virtual clients for one side of a pair (see sidesOf). `users` are the logged-in accounts (one per
 * client). Clients keep their state across runs, so refresh chains go on where the previous run stopped.
 */
export async function makeClients(pairKey, side, { users, servicePool, referencePool }) {
  const floorPath = side === "limited" ? LIMITED_PATH : "/";
  const simple = (req, check = ok200) => users.map(() => ({ request: () => req, accept: check }));
  if (pairKey === "noise") return simple({ path: "/" });
  if (pairKey === "jwks") {
    return side === "endpoint"
      ? simple({ path: "/.well-known/jwks.json" }, (s, b) => s === 200 && b.startsWith('{"keys":['))
      : simple({ path: "/" });
  }
  if (pairKey === "me") {
    const path = side === "endpoint" ? "/auth/me" : floorPath;
    return users.map((u) => ({ request: () => ({ path, headers: { authorization: `Bearer ${u.accessToken}` } }), accept: ok200 }));
  }
  if (pairKey === "refresh") {
    if (side === "endpoint") {
      return users.map((u) => {
        const state = { token: u.refreshToken };
        return chainClient("/auth/refresh", state, async () => (await login(servicePool, u.email)).refreshToken);
      });
    }
    return Promise.all(
      users.map(async () => chainClient(floorPath, { token: await seedChain(referencePool) }, () => seedChain(referencePool))),
    );
  }
  if (pairKey === "login") {
    return side === "endpoint"
      ? users.map((u) => ({
          request: () => ({ method: "POST", path: "/auth/login", headers: JSON_HEADERS, body: JSON.stringify({ email: u.email, password: PASSWORD }) }),
          accept: ok200,
        }))
      : simple({ method: "POST", path: "/" });
  }
  throw new Error(`unknown pair ${pairKey}`);
}
