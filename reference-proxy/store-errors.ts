/**
 * A configured Redis or database that cannot answer makes the CLI SSO endpoints answer 503 with a
 * clear `{"detail": ...}` body and Retry-After (CLISSO-STORE-02): never a 500, and never a flow
 * silently dropped (a step that cannot read or write its flow fails as a whole; nothing falls back
 * to memory).
 *
 * Only a failure of the backing service becomes StoreUnavailableError, and only the store that
 * talks to it decides so, from the error its driver gave (a refused or reset connection, a
 * timeout, a server that is shutting down or out of disk). Anything else thrown inside a store
 * call, a TypeError in our own code included, passes through unchanged and is answered as the bug
 * it is: a logged 500, not an outage.
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

/**
 * Run a store operation; an error `isOutage` recognises as the backing service failing becomes
 * StoreUnavailableError, any other error is thrown on as it is.
 */
export async function storeOperation<T>(
  store: string,
  isOutage: (error: unknown) => boolean,
  operation: () => Promise<T>,
): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof StoreUnavailableError || !isOutage(error)) throw error;
    throw new StoreUnavailableError(store, { cause: error });
  }
}

/** Socket errors of a server that cannot be reached or went away (Node's `error.code`). */
const NETWORK_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
]);

/**
 * A connection that could not be made or was lost, from Node's net/dns layer (also when a driver
 * wraps it: an AggregateError of every address tried, or an error's `cause`).
 */
export function isNetworkFailure(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 3) return false;
  if ('code' in error && typeof error.code === 'string' && NETWORK_ERROR_CODES.has(error.code)) return true;
  if (error instanceof AggregateError && error.errors.some((inner) => isNetworkFailure(inner, depth + 1))) return true;
  return 'cause' in error && isNetworkFailure(error.cause, depth + 1);
}
