/**
 * This tab's session and who is told when it changes: the listeners of `onChange`, the other tabs
 * (broadcast), and refreshes that wait for another tab's result.
 */
import { decodeClaims } from "./jwt.js";
import type { TabCoordinator, TabMessage } from "./tabs.js";
import type { AuthChangeListener, AuthEvent, Session } from "./types.js";

export class SessionState {
  readonly #tabs: TabCoordinator;
  readonly #listeners = new Set<AuthChangeListener>();
  readonly #changeWaiters = new Set<() => void>();
  #session: Session | null = null;
  /** Bumped on every change of the session, so a queued refresh can see that another tab already did it. */
  #version = 0;

  constructor(tabs: TabCoordinator) {
    this.#tabs = tabs;
  }

  get current(): Session | null {
    return this.#session;
  }

  get version(): number {
    return this.#version;
  }

  /** Adds a listener of every change; returns the unsubscribe function. */
  subscribe(listener: AuthChangeListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A new session (`signed_in`) or a new token of the same one (`refreshed`), told to the other tabs if `broadcast`. */
  set(session: Session, broadcast: boolean): void {
    const event: AuthEvent = this.#session?.claims.sid === session.claims.sid ? "refreshed" : "signed_in";
    if (broadcast) this.#tabs.publish({ type: "session", accessToken: session.accessToken, expiresAt: session.expiresAt });
    this.#changed(session, event);
  }

  /** Signed out, told to the other tabs if `broadcast`. */
  clear(reason: "signed_out" | "session_expired", broadcast: boolean): void {
    if (broadcast) this.#tabs.publish({ type: "signed-out", reason });
    const wasSignedIn = this.#session !== null;
    this.#changed(null, wasSignedIn ? reason : undefined);
  }

  /** What another tab said: its sign-out, or its session unless ours is newer. */
  receive(message: TabMessage): void {
    if (message.type === "signed-out") {
      if (this.#session) this.clear(message.reason ?? "signed_out", false);
      return;
    }
    if (this.#session && this.#session.expiresAt > message.expiresAt) return; // an older token than ours
    this.set({ accessToken: message.accessToken, claims: decodeClaims(message.accessToken), expiresAt: message.expiresAt }, false);
  }

  /** Resolves on the next session change (e.g. another tab's broadcast) or after `ms`. */
  changeOrTimeout(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#changeWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#changeWaiters.add(done);
    });
  }

  /** `event` undefined: nothing a listener would notice (signed out while already signed out). */
  #changed(session: Session | null, event: AuthEvent | undefined) {
    this.#session = session;
    this.#version++;
    for (const waiter of [...this.#changeWaiters]) waiter();
    if (!event) return;
    for (const listener of this.#listeners) {
      try {
        listener(event, session);
      } catch (err) {
        // A broken listener must not break the refresh that notified it; report it like any other.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
