/**
 * A downstream service as a user of the published package writes it: imports by package name (so
 * through the `exports` map and the built `dist/`), compiled by tsc with NodeNext resolution, run
 * by plain Node. package.node.test.ts builds and runs it and checks what it prints.
 */
import { Hono } from "hono";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from "jose";
import { authErrorAnswer, createVerifier, readBearerToken, VerificationError, type VerifiedClaims } from "@edge-token-service/verifier";
import { requireAuth, requireScope, type AuthEnv } from "@edge-token-service/verifier/hono";

const issuer = "https://auth.example.test";
const audience = "https://api.example.test";
const { privateKey, publicKey } = await generateKeyPair("RS256");
const jwk = { ...(await exportJWK(publicKey)), alg: "RS256", use: "sig" };
const kid = await calculateJwkThumbprint(jwk);
const now = Math.floor(Date.now() / 1000);
const token = await new SignJWT({ client_id: "web", roles: ["user"], scope: "profile:read" })
  .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid })
  .setIssuer(issuer)
  .setAudience(audience)
  .setSubject("user-1")
  .setJti("jti-1")
  .setIssuedAt(now)
  .setExpirationTime(now + 900)
  .sign(privateKey);

const verifier = createVerifier({ issuer, audience, fetch: async () => Response.json({ keys: [{ ...jwk, kid }] }) });

// Plain usage, as in a Node http server.
const claims: VerifiedClaims = await verifier.verify(readBearerToken(`Bearer ${token}`));
let refused = "";
try {
  await verifier.verify(`${token.slice(0, -4)}AAAA`);
} catch (err) {
  if (err instanceof VerificationError) refused = authErrorAnswer(err, { realm: "api" })!.headers["WWW-Authenticate"]!;
}

// Hono usage.
const app = new Hono<AuthEnv>();
app.get("/profile", requireAuth(verifier), requireScope("profile:read"), (c) => c.json({ sub: c.var.auth.sub }));
app.get("/billing", requireAuth(verifier), requireScope("billing:read"), (c) => c.json({ sub: c.var.auth.sub }));
const headers = { Authorization: `Bearer ${token}` };

console.log(
  JSON.stringify({
    sub: claims.sub,
    scopes: claims.scopes,
    refused,
    profile: (await app.request("/profile", { headers })).status,
    billing: (await app.request("/billing", { headers })).status,
    missing: (await app.request("/profile")).status,
  }),
);
