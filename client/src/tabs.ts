/**
 * Coordination between the tabs of one origin: a Web Lock that serializes refreshes (so no two tabs
 * ever present the same refresh cookie at once) and a BroadcastChannel that shares the result.
 */

export type TabMessage =
  | { type: "session"; accessToken: string; expiresAt: number }
  /** `reason` is absent in messages from older versions of this client: read it as `signed_out`. */
  | { type: "signed-out"; reason?: "signed_out" | "session_expired" };

export interface TabCoordinator {
  /**
   * Runs `fn` while no other tab of this origin runs its own `exclusive` callback. `waited` tells
   * whether another tab held the lock first (its broadcast may be on the way).
   */
  exclusive<T>(fn: (waited: boolean) => Promise<T>): Promise<T>;
  /** Tells every OTHER tab (BroadcastChannel never echoes to the sender). */
  publish(message: TabMessage): void;
  subscribe(listener: (message: TabMessage) => void): () => void;
  close(): void;
}

/** The platform pieces {@link browserTabs} uses; tests pass fakes. */
export interface TabPlatform {
  locks?: Pick<LockManager, "request">;
  BroadcastChannel?: new (name: string) => Pick<BroadcastChannel, "postMessage" | "addEventListener" | "removeEventListener" | "close">;
}

function platformOfThisPage(): TabPlatform {
  return {
    locks: typeof navigator === "object" ? navigator.locks : undefined,
    BroadcastChannel: typeof BroadcastChannel === "function" ? BroadcastChannel : undefined,
  };
}

/** Web Locks + BroadcastChannel; degrades to a tab-local queue where either is missing. */
export function browserTabs(name = "edge-auth", platform: TabPlatform = platformOfThisPage()): TabCoordinator {
  const channel = platform.BroadcastChannel ? new platform.BroadcastChannel(name) : undefined;
  const locks = platform.locks;
  let queue: Promise<unknown> = Promise.resolve();

  return {
    async exclusive<T>(fn: (waited: boolean) => Promise<T>): Promise<T> {
      if (!locks) {
        // One tab only: its own state changes are synchronous, so there is nothing to wait for.
        const result = queue.then(() => fn(false), () => fn(false));
        queue = result.catch(() => undefined);
        return result;
      }
      const lockName = `${name}:refresh`;
      const free = await locks.request(lockName, { ifAvailable: true }, async (lock) => (lock ? { value: await fn(false) } : null));
      return free ? free.value : locks.request(lockName, () => fn(true));
    },
    publish(message) {
      channel?.postMessage(message);
    },
    subscribe(listener) {
      if (!channel) return () => undefined;
      const onMessage = (event: Event) => {
        const data = (event as MessageEvent<unknown>).data;
        if (isTabMessage(data)) listener(data);
      };
      channel.addEventListener("message", onMessage);
      return () => channel.removeEventListener("message", onMessage);
    },
    close() {
      channel?.close();
    },
  };
}

function isTabMessage(data: unknown): data is TabMessage {
  if (typeof data !== "object" || data === null) return false;
  const message = data as Record<string, unknown>;
  if (message.type === "signed-out") return message.reason === undefined || message.reason === "signed_out" || message.reason === "session_expired";
  return message.type === "session" && typeof message.accessToken === "string" && typeof message.expiresAt === "number";
}
