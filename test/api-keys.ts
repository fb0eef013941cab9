/**
 * The vocabulary of the API-key tests: create a key with a session, exchange it at the token
 * endpoint (client_secret_basic or client_secret_post), and read its row.
 */
import { bearer, call, callWith, json, type Login, type Overrides } from "./helpers";
import { rowById, updateById } from "./databases";

export const KEY_SHAPE = /^etsk_[A-Za-z0-9_-]{43}$/;
export const ADMIN_TOKEN = "test-admin-token";

/** POST /auth/api-keys's answer. */
export interface CreatedKey {
  id: string;
  key: string;
  name: string;
  prefix: string;
  scopes: string[];
  created_at: string;
  expires_at: string | null;
}

/** POST /auth/api-keys with the user's session. */
export function postKey(user: Pick<Login, "accessToken">, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Response> {
  return call("/auth/api-keys", { method: "POST", headers: { ...json, ...bearer(user.accessToken), ...headers }, body: JSON.stringify(body) });
}

/** Creates a key (throws on anything but 201). */
export async function createKey(user: Pick<Login, "accessToken">, body: Record<string, unknown> = { name: "ci" }): Promise<CreatedKey> {
  const res = await postKey(user, body);
  if (res.status !== 201) throw new Error(`create key: ${res.status} ${await res.text()}`);
  return (await res.json()) as CreatedKey;
}

const basic = (id: string, secret: string) => `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`;

/** The token request of a client_credentials grant: Basic by default, or the form's client_id and client_secret. */
export function exchangeInit(key: { id: string; key: string }, options: { post?: boolean; scope?: string; headers?: Record<string, string> } = {}): RequestInit {
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  if (options.scope !== undefined) form.set("scope", options.scope);
  if (options.post) {
    form.set("client_id", key.id);
    form.set("client_secret", key.key);
  }
  const auth: Record<string, string> = options.post ? {} : { Authorization: basic(key.id, key.key) };
  return { method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded", ...auth, ...options.headers }, body: form };
}

export function exchange(key: { id: string; key: string }, options: Parameters<typeof exchangeInit>[1] = {}, overrides?: Overrides): Promise<Response> {
  const init = exchangeInit(key, options);
  return overrides ? callWith(overrides, "/oauth/token", init) : call("/oauth/token", init);
}

/** Exchanges the key and returns the access token (throws on anything but 200). */
export async function keyToken(key: { id: string; key: string }): Promise<string> {
  const res = await exchange(key);
  if (res.status !== 200) throw new Error(`exchange: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export interface KeyRow {
  id: string;
  user_id: string | null;
  service_account: string | null;
  name: string;
  prefix: string;
  secret_hash: string;
  scopes: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
  revoked_at: number | null;
}

/** The key's row, from the database that holds it. */
export const keyRow = (id: string) => rowById<KeyRow>("api_keys", id);

export const updateKey = (id: string, set: string, ...params: unknown[]) => updateById("api_keys", id, set, ...params);

/** An admin endpoint with the ADMIN_API_TOKEN. */
export function admin(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  const init: RequestInit = { method, headers: { ...bearer(ADMIN_TOKEN), ...(body === undefined ? {} : json), ...headers } };
  if (body !== undefined) init.body = JSON.stringify(body);
  return callWith({ ADMIN_API_TOKEN: ADMIN_TOKEN }, path, init);
}
