// Tokens for the verifier checks: real ones from the running service, and forgeries of them.
import { createHmac, generateKeyPairSync } from "node:crypto";
import { calculateJwkThumbprint, importJWK, SignJWT } from "jose";
import { ADMIN_API_TOKEN, AUTH_URL } from "./workers.mjs";

export const PASSWORD = "correct horse battery staple";
let counter = 0;
export const uniqueEmail = (label) => `${label}-${Date.now()}-${counter++}@example.com`;

/** Registers a user through the HTTP API (a non-browser client: no cookie jar). */
export async function registerViaApi(label = "api") {
  const email = uniqueEmail(label);
  const res = await fetch(`${AUTH_URL}/auth/register`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  const body = await res.json();
  const refreshToken = res.headers.getSetCookie().find((c) => c.startsWith("__Host-refresh_token="))?.split(";")[0]?.split("=")[1];
  return { email, userId: body.user.id, accessToken: body.access_token, refreshToken };
}

/** A non-browser refresh (the token in the body): the new access token and refresh token. */
export async function refreshViaApi(refreshToken) {
  const res = await fetch(`${AUTH_URL}/auth/refresh`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: refreshToken }),
  });
  if (res.status !== 200) throw new Error(`refresh: ${res.status} ${await res.text()}`);
  const body = await res.json();
  return { accessToken: body.access_token, refreshToken: body.refresh_token };
}

/** An admin endpoint, authorised by the run's ADMIN_API_TOKEN (or another Bearer credential). */
export function adminApi(method, path, credential = ADMIN_API_TOKEN) {
  return fetch(`${AUTH_URL}/admin${path}`, { method, headers: { Authorization: `Bearer ${credential}` } });
}

export async function loginViaApi(email) {
  const res = await fetch(`${AUTH_URL}/auth/login`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (res.status !== 200) throw new Error(`login: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}

/** @param {string} jwt */
export function decodePart(jwt, index = 1) {
  return JSON.parse(Buffer.from(jwt.split(".")[index] ?? "", "base64url").toString());
}

const b64 = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** Same header and signature, a different `sub`: the signature no longer matches. */
export function tampered(token) {
  const [header, , signature] = token.split(".");
  const payload = { ...decodePart(token), sub: "00000000-0000-4000-8000-000000000000", role: "admin" };
  return `${header}.${b64(payload)}.${signature}`;
}

/** Claims like the service's, signed by `privateJwk` (with `kid`), with `overrides` applied. */
export async function signLike(token, privateJwk, kid, overrides = {}) {
  const claims = { ...decodePart(token), ...overrides };
  const key = await importJWK(privateJwk, "RS256");
  return new SignJWT(claims).setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid }).sign(key);
}

/** A well-formed token signed by a key the service never published. */
export async function foreignKid(token) {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pub = publicKey.export({ format: "jwk" });
  const kid = await calculateJwkThumbprint({ kty: "RSA", n: pub.n, e: pub.e });
  return signLike(token, privateKey.export({ format: "jwk" }), kid);
}

/** Algorithm confusion: HS256 keyed with the public key's JWK text, and an unsigned `alg: none`. */
export function algorithmConfusion(token, publicJwk) {
  const payload = token.split(".")[1];
  const hsHeader = b64({ alg: "HS256", typ: "at+jwt", kid: publicJwk.kid });
  const mac = createHmac("sha256", JSON.stringify(publicJwk)).update(`${hsHeader}.${payload}`).digest("base64url");
  const noneHeader = b64({ alg: "none", typ: "at+jwt", kid: publicJwk.kid });
  return { hs256: `${hsHeader}.${payload}.${mac}`, none: `${noneHeader}.${payload}.` };
}
