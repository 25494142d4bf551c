/**
 * Transient failures (no connection, 429, 502-504) are retried with exponential backoff, bounded by
 * a number of attempts and by the command's deadline. Everything else is
 * thrown at once: a refusal does not get better by asking again.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../common/clock.ts';

export const MAX_ATTEMPTS = 5;
/** Backoff never waits longer than this between two attempts. */
export const MAX_RETRY_DELAY_MS = 8000;

export interface RetryOptions {
  firstDelayMs: number;
  maxAttempts?: number;
  isRetryable: (error: unknown) => boolean;
  signal: AbortSignal;
  clock: Clock;
  /** No retry is started after this instant (ms since epoch). */
  deadlineMs: number;
  onRetry?: (error: unknown, nextAttempt: number, delayMs: number) => void;
}

export async function withRetries<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  const maxAttempts = options.maxAttempts ?? MAX_ATTEMPTS;
  for (let attemptNumber = 1; ; attemptNumber++) {
    try {
      return await attempt();
    } catch (error) {
      if (options.signal.aborted || !options.isRetryable(error) || attemptNumber >= maxAttempts) throw error;
      const delayMs = Math.min(options.firstDelayMs * 2 ** (attemptNumber - 1), MAX_RETRY_DELAY_MS);
      if (options.clock.nowMs() + delayMs >= options.deadlineMs) throw error;
      options.onRetry?.(error, attemptNumber + 1, delayMs);
      await sleep(delayMs, undefined, { signal: options.signal });
    }
  }
}
