/**
 * Who may talk to the OAuth endpoints: the configured public clients (OAUTH_CLIENTS, plus the
 * default "web" client), and the resource servers (downstream services) that authenticate to the
 * introspection endpoint with an id and a secret (the RESOURCE_SERVERS Worker secret).
 */
import { DEFAULT_CLIENT_ID, type ClientConfig, type Config } from "../config";
import { ConfigurationError, DomainError } from "../domain-errors";

/** Resource-server secrets are random strings of at least this many characters. */
export const MIN_RESOURCE_SERVER_SECRET_LENGTH = 32;

export interface ClientDeps {
  config: Pick<Config, "clients">;
  /** The RESOURCE_SERVERS secret: `{"<id>": "<secret>", ...}`; unset means no resource server. */
  resourceServers: string | undefined;
}

export type ClientRegistry = ReturnType<typeof createClientRegistry>;

const invalidClient = (description: string, challenge?: string) => new DomainError("invalid_client", description, { challenge });
const encoder = new TextEncoder();
const digest = async (text: string) => new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));

export function createClientRegistry({ config, resourceServers }: ClientDeps) {
  let servers: Map<string, string> | undefined;
  const serversOf = () => (servers ??= parseResourceServers(resourceServers));

  return {
    /** The client a request names, or the default one; `invalid_client` for an unknown id. */
    resolve(clientId: string | undefined): ClientConfig {
      const client = config.clients.get(clientId ?? DEFAULT_CLIENT_ID);
      if (!client) throw invalidClient("Unknown client_id.");
      return client;
    },

    /**
     * Authenticates a resource server by id and secret, in constant time whether or not the id
     * exists; returns its id, or throws `invalid_client` (with a Basic challenge).
     */
    async authenticateResourceServer(id: string | undefined, secret: string | undefined): Promise<string> {
      const expected = id === undefined ? undefined : serversOf().get(id);
      const [presented, wanted] = await Promise.all([digest(secret ?? ""), digest(expected ?? "\u0000no such resource server")]);
      const matches = crypto.subtle.timingSafeEqual(presented, wanted);
      if (!expected || !matches) throw invalidClient("Resource-server authentication failed.", 'Basic realm="introspection"');
      return id!;
    },
  };
}

function parseResourceServers(text: string | undefined): Map<string, string> {
  if (!text?.trim()) return new Map();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ConfigurationError('RESOURCE_SERVERS is not valid JSON: {"<resource server id>": "<secret>", ...}.');
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new ConfigurationError("RESOURCE_SERVERS must be a JSON object of id -> secret.");
  const entries = Object.entries(value as Record<string, unknown>);
  for (const [id, secret] of entries) {
    if (typeof secret !== "string" || secret.length < MIN_RESOURCE_SERVER_SECRET_LENGTH) {
      throw new ConfigurationError(`RESOURCE_SERVERS: the secret of "${id}" must be a string of at least ${MIN_RESOURCE_SERVER_SECRET_LENGTH} characters.`);
    }
  }
  return new Map(entries as [string, string][]);
}
