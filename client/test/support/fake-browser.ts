/**
 * A fake browser profile: one cookie jar, one Web Locks manager and one BroadcastChannel bus shared
 * by its tabs (each tab an AuthClient), and a `fetch` that reaches the fake auth service and
 * records every request, whatever its origin.
 */
import { vi } from "vitest";
import { AuthClient, browserTabs, type AuthClientOptions, type AuthEvent, type Session, type TabPlatform } from "../../src/index.js";
import { AUTH_ORIGIN, type FakeAuthServer } from "./fake-server.js";

/** Network time of one request, in (fake) ms. */
export const LATENCY_MS = 20;

export interface SentRequest {
  method: string;
  url: string;
  authorization: string | null;
  body: Record<string, unknown>;
  credentials: RequestCredentials | undefined;
}

export class FakeBrowser {
  /** The HttpOnly refresh cookie of the auth origin; no tab can read it, the test can. */
  cookie: string | undefined;
  readonly sent: SentRequest[] = [];
  /** Answers for the next POSTs to /auth/refresh, in order, before the server sees them: no answer at all, or an error. */
  readonly refreshFaults: ("no_answer" | { status: 429 | 503; retryAfter?: string })[] = [];
  /** `"POST /auth/refresh 200"` for each answer of the auth service, in order. */
  readonly authTraffic: string[] = [];
  readonly locks = new FakeLockManager();
  readonly channels = new FakeChannelBus();
  /** Set to make every request fail as if offline. */
  offline = false;

  constructor(readonly server: FakeAuthServer) {}

  /** A new tab running the client, with its event log. */
  openTab(options: Partial<AuthClientOptions> = {}): Tab {
    const platform: TabPlatform = { locks: this.locks as unknown as LockManager, BroadcastChannel: this.channels.Channel };
    const client = new AuthClient({ baseUrl: AUTH_ORIGIN, fetch: this.fetch, tabs: browserTabs("edge-auth", platform), ...options });
    const events: { event: AuthEvent; session: Session | null }[] = [];
    client.onChange((event, session) => events.push({ event, session }));
    return { client, events, eventNames: () => events.map((e) => e.event) };
  }

  readonly fetch: typeof fetch = async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const headers = new Headers(init.headers);
    const body = typeof init.body === "string" && init.body ? (JSON.parse(init.body) as Record<string, unknown>) : {};
    this.sent.push({ method: init.method ?? "GET", url: url.href, authorization: headers.get("Authorization"), body, credentials: init.credentials });
    await sleep(LATENCY_MS);
    if (this.offline) throw new TypeError("Failed to fetch");
    const fault = url.origin === AUTH_ORIGIN && url.pathname === "/auth/refresh" ? this.refreshFaults.shift() : undefined;
    if (fault === "no_answer") throw new TypeError("Failed to fetch");
    if (fault) {
      this.authTraffic.push(`${init.method ?? "GET"} ${url.pathname} ${fault.status}`);
      const error = fault.status === 503 ? "retry_later" : "rate_limited";
      return Response.json({ error, error_description: "injected" }, { status: fault.status, headers: fault.retryAfter === undefined ? {} : { "Retry-After": fault.retryAfter } });
    }
    if (url.origin !== AUTH_ORIGIN) return Response.json({ reached: url.href, authorization: headers.get("Authorization") });
    // A cross-origin SPA: the cookie goes, and comes back, only with credentials: "include".
    const withCookie = init.credentials === "include";
    const answer = this.server.handle({ method: init.method ?? "GET", url, headers, body, cookie: withCookie ? this.cookie : undefined });
    if (withCookie && answer.setCookie !== undefined) this.cookie = answer.setCookie ?? undefined;
    this.authTraffic.push(`${init.method ?? "GET"} ${url.pathname} ${answer.status}`);
    return answer.body === undefined ? new Response(null, { status: answer.status }) : Response.json(answer.body, { status: answer.status });
  };

  /** The requests sent to one method and path of the auth service. */
  count(line: string): number {
    return this.authTraffic.filter((l) => l.startsWith(`${line} `)).length;
  }
}

export interface Tab {
  client: AuthClient;
  events: { event: AuthEvent; session: Session | null }[];
  eventNames(): AuthEvent[];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Exclusive Web Locks, granted in request order; `ifAvailable` gets `null` when the lock is held. */
export class FakeLockManager {
  readonly #held = new Set<string>();
  readonly #queues = new Map<string, (() => void)[]>();

  request(name: string, ...args: unknown[]): Promise<unknown> {
    const callback = args.at(-1) as (lock: { name: string } | null) => Promise<unknown>;
    const options = (args.length === 2 ? args[0] : {}) as LockOptions;
    if (this.#held.has(name)) {
      if (options.ifAvailable) return Promise.resolve().then(() => callback(null));
      return new Promise<void>((grant) => this.#queue(name).push(grant)).then(() => this.#run(name, callback));
    }
    this.#held.add(name);
    return Promise.resolve().then(() => this.#run(name, callback));
  }

  async #run(name: string, callback: (lock: { name: string }) => Promise<unknown>): Promise<unknown> {
    try {
      return await callback({ name });
    } finally {
      const next = this.#queue(name).shift();
      if (next) next();
      else this.#held.delete(name);
    }
  }

  #queue(name: string) {
    let queue = this.#queues.get(name);
    if (!queue) this.#queues.set(name, (queue = []));
    return queue;
  }
}

/** BroadcastChannels of one origin: a message reaches every OTHER open channel of its name after `delayMs`. */
export class FakeChannelBus {
  delayMs = 1;
  /** Set to lose every message, as when a tab is frozen. */
  drop = false;
  readonly #open = new Set<FakeChannel>();

  readonly Channel = ((bus: FakeChannelBus) =>
    class extends EventTarget implements FakeChannel {
      constructor(readonly name: string) {
        super();
        bus.#open.add(this);
      }
      postMessage(message: unknown) {
        if (bus.drop) return;
        const copy = structuredClone(message);
        for (const other of bus.#open) {
          if (other !== this && other.name === this.name) setTimeout(() => other.dispatchEvent(new MessageEvent("message", { data: copy })), bus.delayMs);
        }
      }
      close() {
        bus.#open.delete(this);
      }
    })(this);

  /** Sends a message as some other tab (e.g. an older version of the client) would. */
  postAsStranger(name: string, message: unknown): void {
    new this.Channel(name).postMessage(message);
  }
}

interface FakeChannel extends EventTarget {
  readonly name: string;
  postMessage(message: unknown): void;
  close(): void;
}

/** Runs every pending fake timer (network, broadcasts, hand-off waits) until `promise` has nothing left to wait for. */
export async function settle<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined); // rejections are the caller's to assert
  await vi.runAllTimersAsync();
  return promise;
}
