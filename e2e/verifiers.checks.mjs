// Downstream verification: three independent verifiers, each fetching the JWKS over HTTP from the
// running worker, accept real tokens, refuse forgeries, and follow a key rotation.
import assert from "node:assert/strict";
import { test } from "./lib/runner.mjs";
import { algorithmConfusion, decodePart, foreignKid, loginViaApi, registerViaApi, signLike, tampered } from "./lib/tokens.mjs";
import { AUTH_URL } from "./lib/workers.mjs";

const JWKS_URL = `${AUTH_URL}/.well-known/jwks.json`;

async function publishedKids() {
  const res = await fetch(JWKS_URL);
  assert.equal(res.status, 200);
  return (await res.json()).keys.map((k) => k.kid);
}

/** @param {import("./verifiers.mjs").Verifier} verifier @param {string} token @param {string} sub */
async function assertAccepted(verifier, token, sub) {
  const verdict = await verifier.verify(token);
  assert.ok(verdict.ok, `rejected: ${verdict.ok ? "" : verdict.error}`);
  assert.equal(verdict.claims.sub, sub);
}

async function assertRejected(verifier, tokens) {
  for (const [label, token] of Object.entries(tokens)) {
    const verdict = await verifier.verify(token);
    assert.equal(verdict.ok, false, `accepted the ${label} token`);
    if (process.env.E2E_VERBOSE) console.log(`       ${label}: ${verdict.error}`);
  }
}

/** @param {import("./run.mjs").Context} ctx */
export function verifierChecks(ctx) {
  /** @type {{ userId: string, accessToken: string, email: string }} */ let user;
  /** @type {Record<string, string>} */ let forged = {};

  test("API: register returns an RS256 at+jwt access token whose kid is the published key", async () => {
    user = await registerViaApi("verifier");
    const header = decodePart(user.accessToken, 0);
    assert.deepEqual(header, { alg: "RS256", typ: "at+jwt", kid: ctx.keys[0].kid });
    assert.deepEqual(await publishedKids(), [ctx.keys[0].kid]);
    const { privateJwk, publicJwk, kid } = ctx.keys[0];
    forged = {
      tampered: tampered(user.accessToken),
      foreignKid: await foreignKid(user.accessToken),
      wrongAudience: await signLike(user.accessToken, privateJwk, kid, { aud: "https://another-api.example" }),
      wrongIssuer: await signLike(user.accessToken, privateJwk, kid, { iss: "https://evil.example" }),
      ...algorithmConfusion(user.accessToken, publicJwk),
    };
  });

  for (const verifier of ctx.verifiers) {
    test(`${verifier.name}: accepts a fresh token`, () => assertAccepted(verifier, user.accessToken, user.userId));
    test(`${verifier.name}: rejects a tampered token`, () => assertRejected(verifier, { tampered: forged.tampered }));
    test(`${verifier.name}: rejects a token with a foreign kid`, () => assertRejected(verifier, { foreignKid: forged.foreignKid }));
    test(`${verifier.name}: rejects a wrong iss or aud, even signed with the real key`, () =>
      assertRejected(verifier, { wrongAudience: forged.wrongAudience, wrongIssuer: forged.wrongIssuer }));
    test(`${verifier.name}: rejects HS256 and alg none (RS256 pinned)`, () => assertRejected(verifier, { hs256: forged.hs256, none: forged.none }));
  }
}

/** @param {import("./run.mjs").Context} ctx */
export function rotationChecks(ctx) {
  const [oldKey, newKey] = ctx.keys;
  /** @type {{ userId: string, email: string }} */ let user;
  let oldToken = "";
  let newToken = "";

  test("rotation: restart with a new SIGNING_KEY and the old public key in PREVIOUS_PUBLIC_KEYS", async () => {
    user = await registerViaApi("rotation");
    oldToken = await loginViaApi(user.email); // fresh: the e2e access-token TTL is short
    await ctx.worker.start({ signingKey: newKey.privateJwk, previousPublicKeys: [oldKey.publicJwk] });
    assert.deepEqual(await publishedKids(), [newKey.kid, oldKey.kid]);
    newToken = await loginViaApi(user.email);
    assert.equal(decodePart(newToken, 0).kid, newKey.kid);
    assert.equal(decodePart(oldToken, 0).kid, oldKey.kid);
  });

  // New kid first: it makes every caching verifier refetch, so the old-token check below runs
  // against the JWKS as published after the rotation.
  for (const verifier of ctx.verifiers) {
    test(`${verifier.name}: verifies a token of the new key (refetch on unknown kid)`, () => assertAccepted(verifier, newToken, user.userId));
  }
  for (const verifier of ctx.verifiers) {
    test(`${verifier.name}: still verifies a token signed before the rotation`, () => assertAccepted(verifier, oldToken, user.userId));
  }
}
