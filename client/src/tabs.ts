/**
 * Coordination between the tabs of one origin: a Web Lock that serializes refreshes (so no two tabs
 * ever present the same refresh cookie at once) and a BroadcastChannel that shares the result.
 */

export type TabMessage =
  | { type: "session"; accessToken: string; expiresAt: number }
  | { type: "signed-out" };

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

/** Web Locks + BroadcastChannel; degrades to a tab-local queue where either is missing. */
export function browserTabs(name = "edge-auth"): TabCoordinator {
  const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(name) : undefined;
  const locks = typeof navigator === "object" ? navigator.locks : undefined;
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
      const onMessage = (event: MessageEvent<unknown>) => {
        if (isTabMessage(event.data)) listener(event.data);
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
  if (message.type === "signed-out") return true;
  return message.type === "session" && typeof message.accessToken === "string" && typeof message.expiresAt === "number";
}
