/**
 * How every storage module (D1 queries, KV revocation and lockout) fails: one error type, no Hono,
 * so that storage code stays usable outside the HTTP layer. `app.onError` answers it 503.
 */

/** A storage (D1/KV) failure. Always answered 503 `temporarily_unavailable`: fail closed. */
export class StorageUnavailableError extends Error {
  constructor(cause: unknown) {
    super("storage unavailable", { cause });
    this.name = "StorageUnavailableError";
  }
}

/**
 * Runs a storage operation and turns any failure of D1 or KV into a {@link StorageUnavailableError}
 * so that every caller fails closed the same way.
 */
export async function guardStorage<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    throw err instanceof StorageUnavailableError ? err : new StorageUnavailableError(err);
  }
}
