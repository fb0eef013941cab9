/**
 * A stand-in for the edge token service in verifier tests: RSA keys made here, a JWKS and an
 * RFC 7662 introspection endpoint served through an injected `fetch` that counts its requests.
 * No network, no service state: the same tests run in Node and in workerd.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from "jose";
import type { FetchLike } from "../../src/index.js";

export const ISSUER = "https://auth.example.test";
export const AUDIENCE = "https://api.example.test";
export const JWKS_URI = `${ISSUER}/.well-known/jwks.json`;
export const INTROSPECTION_URI = `${ISSUER}/oauth/introspect`;
/** Resource-server credentials with characters that RFC 6749 2.3.1 form-encodes. */
export const RESOURCE_SERVER = { clientId: "billing api:v2", clientSecret: "s3cr3t+/=&é" };

export interface SigningKey {
  privateKey: CryptoKey;
  publicJwk: JWK & { kid: string };
}

export interface IntrospectionCall {
  authorization: string | null;
  contentType: string | null;
  body: URLSearchParams;
}

export interface TestIssuer {
  /** Serves GET JWKS_URI and POST INTROSPECTION_URI; anything else is a 404 and is recorded. */
  fetch: FetchLike;
  /** Every URL requested, in order. */
  requests: string[];
  readonly jwksFetches: number;
  introspectionCalls: IntrospectionCall[];
  /** The key new tokens are signed with; always published. */
  current: SigningKey;
  /** Keys published in the JWKS. */
  published: SigningKey[];
  /** jti values introspection answers `active: false` for. */
  revoked: Set<string>;
  /** Status of the next JWKS answers (200 by default). */
  jwksStatus: number;
  /** Status of the next introspection answers (200 by default; 401 for wrong credentials regardless). */
  introspectionStatus: number;
  /** A token per the service's contract, with claim and header overrides (`undefined` drops a claim). */
  issue(claims?: JWTPayload, header?: Record<string, unknown>, key?: SigningKey): Promise<string>;
  /** Makes a new key; publishes it (and keeps the old ones) only when `publish` is true. */
  newKey(publish: boolean): Promise<SigningKey>;
}

export async function newSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { privateKey: privateKey as CryptoKey, publicJwk: { ...jwk, kid, alg: "RS256", use: "sig" } };
}

function expectedBasic(): string {
  const enc = (value: string) => new URLSearchParams([["", value]]).toString().slice(1);
  return `Basic ${btoa(`${enc(RESOURCE_SERVER.clientId)}:${enc(RESOURCE_SERVER.clientSecret)}`)}`;
}

/** RSA key generation is slow: every issuer starts with the same first key; newKey() makes fresh ones. */
let firstKey: Promise<SigningKey> | undefined;

export async function createTestIssuer(): Promise<TestIssuer> {
  const first = await (firstKey ??= newSigningKey());
  const issuer: TestIssuer = {
    requests: [],
    get jwksFetches() {
      return this.requests.filter((url) => url === JWKS_URI).length;
    },
    introspectionCalls: [],
    current: first,
    published: [first],
    revoked: new Set(),
    jwksStatus: 200,
    introspectionStatus: 200,

    async fetch(input, init) {
      issuer.requests.push(input);
      if (input === JWKS_URI && (init.method ?? "GET") === "GET") {
        const keys = issuer.published.map((key) => key.publicJwk);
        return Response.json(issuer.jwksStatus === 200 ? { keys } : { error: "server_error" }, { status: issuer.jwksStatus });
      }
      if (input === INTROSPECTION_URI && init.method === "POST") {
        const headers = new Headers(init.headers);
        const body = new URLSearchParams(String(init.body));
        issuer.introspectionCalls.push({ authorization: headers.get("Authorization"), contentType: headers.get("Content-Type"), body });
        if (headers.get("Authorization") !== expectedBasic()) return Response.json({ error: "invalid_client" }, { status: 401 });
        if (issuer.introspectionStatus !== 200) return Response.json({ error: "server_error" }, { status: issuer.introspectionStatus });
        const token = body.get("token") ?? "";
        const jti = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))).jti as string;
        return Response.json(issuer.revoked.has(jti) ? { active: false } : { active: true, jti, token_type: "Bearer" });
      }
      return new Response("not found", { status: 404 });
    },

    async issue(claims = {}, header = {}, key = issuer.current) {
      const now = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = {
        iss: ISSUER,
        aud: AUDIENCE,
        sub: "3f1e7a2c-5b2d-4c7e-9a61-0d2f4b8c9e10",
        iat: now,
        exp: now + 900,
        jti: crypto.randomUUID(),
        client_id: "web",
        sid: "fam_0123456789",
        roles: ["user"],
        role: "user",
        scope: "profile:read billing:read",
        email_verified: true,
        ...claims,
      };
      for (const name of Object.keys(payload)) if (payload[name] === undefined) delete payload[name];
      return new SignJWT(payload).setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: key.publicJwk.kid, ...header }).sign(key.privateKey);
    },

    async newKey(publish) {
      const key = await newSigningKey();
      if (publish) issuer.published.push(key);
      return key;
    },
  };
  return issuer;
}
