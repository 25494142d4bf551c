/**
 * Admission control at `POST /sso/cli/start`: a saturated replica refuses new logins early and
 * clearly (503 with Retry-After, nothing stored) so that the logins it has already started finish.
 * Only the start is ever refused here; every later step of a login goes through.
 *
 * Why at the start: a login is half a dozen requests (start, browser entry, IdP, callback with two
 * IdP calls, code, polls). Admitting every start of a burst lets the later steps of all of them
 * queue behind each other until timeouts fire (1,000 logins fired at once on 2 cores: connections
 * waited in overflowing listen queues, the 10 s IdP timeout fired, and started logins were lost).
 * Refusing a start costs one cheap answer and loses nothing: the CLI tries again after Retry-After.
 *
 * Two rules, each a setting (config.ts, README):
 * - logins in flight: at most `maxLoginsInFlight` logins started on this replica that are neither
 *   finished (flow deleted: key handed out, wrong codes, expiry) nor older than `inFlightSeconds`
 *   (a person who walked away from the browser costs nothing, and must not hold a slot for 10
 *   minutes: that would let anyone block starts with a few abandoned logins);
 * - event-loop delay: when this process's event loop has recently run late by more than
 *   `maxEventLoopDelayMs`, it is saturated by something else (many polls, another route) and takes
 *   no new login.
 * A login is seen finished through the flow store's change notifications (Redis pub/sub with
 * replicas), so a login started here and finished on another replica frees its slot here too.
 */

import type { RequestHandler, Response } from 'express';
import type { FlowStore } from './flow-store.ts';
import { detailError } from './http-errors.ts';

/** When a replica refuses to start one more login (CLI_SSO_MAX_LOGINS_IN_FLIGHT and friends). */
export interface AdmissionSettings {
  /** Logins in flight on this replica beyond which a start is refused; 0 = no bound. */
  maxLoginsInFlight: number;
  /** How long an unfinished login counts as in flight, from its start. */
  inFlightSeconds: number;
  /** Recent event-loop delay beyond which a start is refused; 0 = not measured. */
  maxEventLoopDelayMs: number;
  /** Retry-After of a refused start. */
  retryAfterSeconds: number;
}

export const DEFAULT_ADMISSION: AdmissionSettings = {
  maxLoginsInFlight: 32,
  inFlightSeconds: 10,
  maxEventLoopDelayMs: 0,
  retryAfterSeconds: 2,
};

/** Event-loop lateness is sampled this often; the worst sample of the last window counts. */
const LOOP_SAMPLE_MS = 20;
const LOOP_WINDOW_MS = 1000;

export type AdmissionDecision =
  | { admitted: true; hold: AdmissionHold }
  | { admitted: false; reason: 'logins_in_flight' | 'event_loop_delay'; retryAfterSeconds: number; detail: string };

/** One admitted start's slot: bound to its login id once the flow exists, else released. */
export interface AdmissionHold {
  attach(loginId: string): void;
  release(): void;
}

export interface AdmissionState {
  loginsInFlight: number;
  eventLoopDelayMs: number;
}

interface Slot {
  startedMs: number;
  loginId: string | undefined;
  stopWatching: () => void;
}

export class Admission {
  private readonly slots = new Set<Slot>();
  private readonly samples: { atMs: number; lateMs: number }[] = [];
  private readonly timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly settings: AdmissionSettings,
    private readonly flows: FlowStore,
  ) {
    if (settings.maxEventLoopDelayMs > 0) {
      let expected = performance.now() + LOOP_SAMPLE_MS;
      this.timer = setInterval(() => {
        const now = performance.now();
        this.samples.push({ atMs: now, lateMs: Math.max(0, now - expected) });
        expected = now + LOOP_SAMPLE_MS;
        this.forgetOldSamples(now);
      }, LOOP_SAMPLE_MS);
      this.timer.unref();
    }
  }

  state(): AdmissionState {
    this.forgetOldSlots(performance.now());
    return { loginsInFlight: this.slots.size, eventLoopDelayMs: Math.round(this.eventLoopDelayMs()) };
  }

  /** Decide synchronously, so that a burst of concurrent starts cannot overshoot the bound. */
  tryAdmit(): AdmissionDecision {
    const now = performance.now();
    this.forgetOldSlots(now);
    const { maxLoginsInFlight, maxEventLoopDelayMs, retryAfterSeconds } = this.settings;
    if (maxLoginsInFlight > 0 && this.slots.size >= maxLoginsInFlight) {
      return {
        admitted: false,
        reason: 'logins_in_flight',
        retryAfterSeconds,
        detail: `Service temporarily unavailable: this gateway is busy with ${this.slots.size} logins in progress (its limit is ${maxLoginsInFlight}). No login was started; try again in ${retryAfterSeconds} s.`,
      };
    }
    const delayMs = this.eventLoopDelayMs();
    if (maxEventLoopDelayMs > 0 && delayMs > maxEventLoopDelayMs) {
      return {
        admitted: false,
        reason: 'event_loop_delay',
        retryAfterSeconds,
        detail: `Service temporarily unavailable: this gateway is overloaded (it answers ${Math.round(delayMs)} ms late; its limit is ${maxEventLoopDelayMs} ms). No login was started; try again in ${retryAfterSeconds} s.`,
      };
    }
    const slot: Slot = { startedMs: now, loginId: undefined, stopWatching: () => {} };
    this.slots.add(slot);
    return {
      admitted: true,
      hold: {
        attach: (loginId) => this.attach(slot, loginId),
        release: () => this.release(slot),
      },
    };
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const slot of this.slots) slot.stopWatching();
    this.slots.clear();
  }

  private attach(slot: Slot, loginId: string): void {
    if (!this.slots.has(slot) || slot.loginId !== undefined) return;
    slot.loginId = loginId;
    this.watchUntilFinished(slot, loginId);
  }

  private release(slot: Slot): void {
    slot.stopWatching();
    this.slots.delete(slot);
  }

  /**
   * Watch the flow (before reading it, so no change is missed) and free the slot once the flow is
   * gone or its key is being handed out. A store that cannot answer keeps the slot until its time
   * is up.
   */
  private watchUntilFinished(slot: Slot, loginId: string): void {
    if (this.closed || !this.slots.has(slot)) return;
    const watch = this.flows.watch(loginId);
    slot.stopWatching = () => watch.stop();
    watch.changed.then(async () => {
      if (this.closed || !this.slots.has(slot)) return;
      const next = this.flows.watch(loginId);
      slot.stopWatching = () => next.stop();
      let finished = false;
      try {
        const flow = await this.flows.get(loginId);
        finished = flow === undefined || flow.keyClaim !== undefined;
      } catch {
        finished = false;
      }
      next.stop();
      if (finished) this.release(slot);
      else this.watchUntilFinished(slot, loginId);
    });
  }

  private forgetOldSlots(now: number): void {
    const oldest = now - this.settings.inFlightSeconds * 1000;
    for (const slot of this.slots) {
      if (slot.startedMs <= oldest) this.release(slot);
    }
  }

  private forgetOldSamples(now: number): void {
    while (this.samples.length > 0 && (this.samples[0]?.atMs ?? now) < now - LOOP_WINDOW_MS) this.samples.shift();
  }

  private eventLoopDelayMs(): number {
    const now = performance.now();
    this.forgetOldSamples(now);
    // A sample not yet taken because the loop is blocked right now counts too.
    const last = this.samples.at(-1)?.atMs ?? now;
    let worst = Math.max(0, now - last - LOOP_SAMPLE_MS);
    for (const sample of this.samples) worst = Math.max(worst, sample.lateMs);
    return worst;
  }
}

const HOLD = 'cliSsoAdmissionHold';
/** At most one `cli_start_refused_overloaded` line this often, counting the starts refused since the last. */
const REFUSAL_LOG_INTERVAL_MS = 1000;

/**
 * Express middleware in front of the start route: refuse (503, Retry-After, a detail saying no
 * login was started) or take a slot. The route binds the slot to its login with `attachLogin`;
 * a start that ends without a flow (rate limit, store down) frees it when its answer ends.
 */
export function admitStarts(
  admission: Admission,
  log: (event: string, fields: Record<string, unknown>) => void,
): RequestHandler {
  // Under overload every refused start writing its own line would add to the overload: one line
  // when refusing begins, then at most one a second with the count.
  let unloggedRefusals = 0;
  let lastLogMs = Number.NEGATIVE_INFINITY;
  return (_req, res, next) => {
    const decision = admission.tryAdmit();
    if (!decision.admitted) {
      unloggedRefusals++;
      const now = performance.now();
      if (now - lastLogMs >= REFUSAL_LOG_INTERVAL_MS) {
        log('cli_start_refused_overloaded', {
          reason: decision.reason,
          refused_starts: unloggedRefusals,
          retry_after_s: decision.retryAfterSeconds,
          logins_in_flight: admission.state().loginsInFlight,
          event_loop_delay_ms: admission.state().eventLoopDelayMs,
        });
        unloggedRefusals = 0;
        lastLogMs = now;
      }
      next(detailError(503, decision.detail, { 'retry-after': String(decision.retryAfterSeconds) }));
      return;
    }
    const hold = decision.hold;
    res.locals[HOLD] = { hold, attached: false };
    res.once('close', () => {
      const entry = res.locals[HOLD] as { hold: AdmissionHold; attached: boolean };
      if (!entry.attached) hold.release();
    });
    next();
  };
}

/** The start route's flow exists: its slot now lasts until the login finishes. */
export function attachLogin(res: Response, loginId: string): void {
  const entry = res.locals[HOLD] as { hold: AdmissionHold; attached: boolean } | undefined;
  if (!entry) return;
  entry.attached = true;
  entry.hold.attach(loginId);
}
