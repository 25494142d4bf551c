/**
 * A configured Redis or database that cannot answer makes the CLI SSO endpoints answer 503 with a
 * clear `{"detail": ...}` body (issue 4, point 4): never a 500, and never a flow silently dropped
 * (a step that cannot read or write its flow fails as a whole; nothing falls back to memory).
 */
export class StoreUnavailableError extends Error {
  constructor(
    /** Which store, as shown to clients: "login session store (Redis)", "user database (PostgreSQL)". */
    readonly store: string,
    options?: { cause?: unknown },
  ) {
    super(`${store} is unavailable`, options);
    this.name = 'StoreUnavailableError';
  }
}

/** Run a store operation, turning any failure of the backing service into StoreUnavailableError. */
export async function guardStore<T>(store: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error;
    throw new StoreUnavailableError(store, { cause: error });
  }
}
