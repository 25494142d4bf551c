/**
 * Time as an injected dependency: in-process code takes a Clock so unit tests can move time;
 * processes started by the harness are moved with libfaketime instead (architecture.md, targets).
 */
/** Where the time comes from: the system clock, or a {@link ManualClock} a test moves. */
export interface Clock {
  /** Milliseconds since the epoch. */
  nowMs(): number;
}

/** The real time. */
export const systemClock: Clock = { nowMs: () => Date.now() };

/** The clock's time in whole seconds since the epoch. */
export function nowSeconds(clock: Clock): number {
  return Math.floor(clock.nowMs() / 1000);
}

/** A clock for tests: starts at `currentMs` (2026-01-01T00:00:00Z unless given) and moves only when told to. */
export class ManualClock implements Clock {
  constructor(private currentMs = Date.UTC(2026, 0, 1)) {}
  nowMs(): number {
    return this.currentMs;
  }
  /**
   * Move the clock.
   * @param seconds - how far; negative goes back
   */
  advanceSeconds(seconds: number): void {
    this.currentMs += seconds * 1000;
  }
}
