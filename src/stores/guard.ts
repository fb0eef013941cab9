/** How every store fails: any D1 or KV error becomes a {@link StorageUnavailableError} (fail closed, 503). */
import { StorageUnavailableError } from "../domain-errors";

/** Runs a storage operation and turns any failure into a {@link StorageUnavailableError}. */
export async function guardStorage<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    throw err instanceof StorageUnavailableError ? err : new StorageUnavailableError(err);
  }
}
