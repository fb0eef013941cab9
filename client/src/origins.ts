/**
 * Where the access token may go: the auth service's origin and the API origins the application
 * listed, compared exactly (scheme, host and port, as `URL.origin` normalises them). A suffix match
 * or a prefix test on the URL string would let `https://api.example.com.evil.com` or
 * `https://api.example.com@evil.com` through; parsing does not.
 */
import { UntrustedOriginError } from "./errors.js";

export class OriginPolicy {
  /** The auth service's base URL without a trailing slash; paths are appended to it. */
  readonly baseUrl: string;
  readonly #trusted: ReadonlySet<string>;

  /** @throws TypeError when `baseUrl` is not an http(s) URL or an API origin is not a bare origin. */
  constructor(baseUrl: string, apiOrigins: readonly string[] = []) {
    const base = parseHttpUrl(baseUrl, "baseUrl");
    if (base.search || base.hash) throw new TypeError(`baseUrl must not have a query or fragment: ${baseUrl}`);
    this.baseUrl = base.href.replace(/\/$/, "");
    this.#trusted = new Set([base.origin, ...apiOrigins.map(bareOrigin)]);
  }

  /**
   * The URL a request for `input` goes to, if the token may go there. A string that is not an
   * absolute URL is a path of the auth service, appended to `baseUrl` (so `//evil.com/x` stays on
   * the service's origin).
   * @throws UntrustedOriginError for any other origin, before anything is sent.
   */
  resolve(input: string | URL): URL {
    const url = typeof input === "string" && !URL.canParse(input) ? new URL(this.baseUrl + (input.startsWith("/") ? "" : "/") + input) : new URL(input);
    if (!this.#trusted.has(url.origin)) throw new UntrustedOriginError(url.origin);
    return url;
  }
}

function parseHttpUrl(value: string, what: string): URL {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) throw new TypeError(`${what} must be an http(s) URL: ${value}`);
  if (url.username || url.password) throw new TypeError(`${what} must not carry credentials: ${value}`);
  return url;
}

/** `https://api.example.com` or `https://api.example.com/`, nothing more: a path would suggest a narrower grant than an origin. */
function bareOrigin(value: string): string {
  const url = parseHttpUrl(value, "an apiOrigins entry");
  if (url.pathname !== "/" || url.search || url.hash || value.endsWith("?") || value.endsWith("#")) {
    throw new TypeError(`apiOrigins entries are origins (scheme://host[:port]), not URLs: ${value}`);
  }
  return url.origin;
}
