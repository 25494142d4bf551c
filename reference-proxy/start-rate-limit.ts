/**
 * POST /sso/cli/start rate limit (docs/contract.md section 2): more than 30 starts from one client
 * IP in 60 s get 429 and make no flow. A sliding window over the injected clock; the Redis version
 * (redis-flow-store.ts) shares the window between replicas.
 */
import type { Clock } from '../common/clock.ts';

export const START_LIMIT = 30;
export const START_WINDOW_MS = 60_000;

export interface StartRateLimit {
  /** Records the attempt when allowed; a refused attempt is not counted. */
  tryStart(clientIp: string): Promise<boolean>;
}

export class MemoryStartRateLimit implements StartRateLimit {
  private readonly startsByIp = new Map<string, number[]>();

  constructor(private readonly clock: Clock) {}

  async tryStart(clientIp: string): Promise<boolean> {
    const now = this.clock.nowMs();
    this.forgetOldWindows(now);
    const recent = (this.startsByIp.get(clientIp) ?? []).filter((t) => t > now - START_WINDOW_MS);
    if (recent.length >= START_LIMIT) {
      this.startsByIp.set(clientIp, recent);
      return false;
    }
    recent.push(now);
    this.startsByIp.set(clientIp, recent);
    return true;
  }

  private forgetOldWindows(now: number): void {
    for (const [ip, starts] of this.startsByIp) {
      if (starts.every((t) => t <= now - START_WINDOW_MS)) this.startsByIp.delete(ip);
    }
  }
}
