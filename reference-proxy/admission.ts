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
 * Three rules, each a setting (config.ts, README):
 * - logins in flight: at most `maxLoginsInFlight` logins started on this replica that are neither
 *   finished (flow deleted: key handed out, wrong codes, expiry) nor older than `inFlightSeconds`
 *   (a person who walked away from the browser costs nothing, and must not hold a slot for 10
 *   minutes: that would let anyone block starts with a few abandoned logins);
 * - event-loop delay: when this process's event loop has recently run late by more than
 *   `maxEventLoopDelayMs`, it is saturated by something else (many polls, another route) and takes
 *   no new login;
 * - time in the queue: while the replica is saturated (it refused a start in the last
 *   SATURATION_MEMORY_MS), a start read more than `maxStartQueueMs` after its connection was
 *   accepted, or while the event loop runs that late, is refused too. In a burst, slots free up as the first logins finish, and without this
 *   rule they went to starts that had waited seconds behind the burst's refusals: admitted that late,
 *   their logins finished late (1,000 logins at once: 204 admitted, start-to-key p99 3.8 s, of which
 *   2.2 s in the start alone). Refusing them keeps the admitted logins fast, as CoDel drops what has
 *   sat too long in a queue rather than what arrives last.
 * A login is seen finished through the flow store's change notifications (Redis pub/sub with
 * replicas), so a login started here and finished on another replica frees its slot here too.
 */

import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { RequestHandler } from 'express';
import { CLI_SSO_PATHS } from '../protocol/cli-sso.ts';
import { detailBody } from '../protocol/errors.ts';
import type { FlowStore } from './flow-store.ts';

/** When a replica refuses to start one more login (CLI_SSO_MAX_LOGINS_IN_FLIGHT and friends). */
export interface AdmissionSettings {
  /** Logins in flight on this replica beyond which a start is refused; 0 = no bound. */
  maxLoginsInFlight: number;
  /** How long an unfinished login counts as in flight, from its start. */
  inFlightSeconds: number;
  /** Recent event-loop delay beyond which a start is refused; 0 = not measured. */
  maxEventLoopDelayMs: number;
  /** While saturated, a start read later than this after its connection was accepted is refused; 0 = not measured. */
  maxStartQueueMs: number;
  /** Retry-After of a refused start. */
  retryAfterSeconds: number;
}

export const DEFAULT_ADMISSION: AdmissionSettings = {
  maxLoginsInFlight: 16,
  inFlightSeconds: 10,
  maxEventLoopDelayMs: 0,
  maxStartQueueMs: 500,
  retryAfterSeconds: 2,
};

/**
 * How long a refused start keeps the replica "saturated" for the queue rule. Longer than the
 * Retry-After a refused CLI waits (2 s by default), so that the refused CLIs' return finds the rule
 * still on; short enough that a single refusal does not change how the replica admits for long.
 */
export const SATURATION_MEMORY_MS = 10_000;

/** Event-loop lateness is sampled this often; the worst sample of the last window counts. */
const LOOP_SAMPLE_MS = 20;
const LOOP_WINDOW_MS = 1000;

export type AdmissionDecision =
  | { admitted: true; hold: AdmissionHold }
  | {
      admitted: false;
      reason: 'logins_in_flight' | 'event_loop_delay' | 'queued_too_long';
      retryAfterSeconds: number;
      detail: string;
    };

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

// mutation-equivalent: the contract does not judge overload admission: it is the reference gateway's own
// defence (LiteLLM has none), judged by `npm run load`; the suite runs gateways with it off
export class Admission {
  private readonly slots = new Set<Slot>();
  private readonly samples: { atMs: number; lateMs: number }[] = [];
  private readonly timer: NodeJS.Timeout | undefined;
  private lastRefusalMs = Number.NEGATIVE_INFINITY;
  private closed = false;

  /** Refused starts not yet counted in a `cli_start_refused_overloaded` line. */
  private unloggedRefusals = 0;
  private lastRefusal: Exclude<AdmissionDecision, { admitted: true }> | undefined;
  private lastRefusalLogMs = Number.NEGATIVE_INFINITY;
  private refusalLogTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly settings: AdmissionSettings,
    private readonly flows: FlowStore,
    private readonly log: (event: string, fields: Record<string, unknown>) => void = () => {},
  ) {
    if (settings.maxEventLoopDelayMs > 0 || settings.maxStartQueueMs > 0) {
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

  /**
   * Decide synchronously, so that a burst of concurrent starts cannot overshoot the bound.
   * `queuedMs`: how long the start waited between its connection's acceptance and being read
   * (connectionWaitMs), undefined when not known (a later request on a kept-alive connection).
   */
  tryAdmit(queuedMs?: number): AdmissionDecision {
    const now = performance.now();
    const decision = this.decide(now, queuedMs);
    if (!decision.admitted) this.lastRefusalMs = now;
    return decision;
  }

  private decide(now: number, queuedMs: number | undefined): AdmissionDecision {
    this.forgetOldSlots(now);
    const { maxLoginsInFlight, maxEventLoopDelayMs, maxStartQueueMs, retryAfterSeconds } = this.settings;
    const refuse = (reason: Exclude<AdmissionDecision, { admitted: true }>['reason'], why: string) =>
      ({
        admitted: false,
        reason,
        retryAfterSeconds,
        detail: `Service temporarily unavailable: ${why}. No login was started; try again in ${retryAfterSeconds} s.`,
      }) as const;
    if (maxLoginsInFlight > 0 && this.slots.size >= maxLoginsInFlight) {
      return refuse(
        'logins_in_flight',
        `this gateway is busy with ${this.slots.size} logins in progress (its limit is ${maxLoginsInFlight})`,
      );
    }
    const delayMs = this.eventLoopDelayMs();
    if (maxEventLoopDelayMs > 0 && delayMs > maxEventLoopDelayMs) {
      return refuse(
        'event_loop_delay',
        `this gateway is overloaded (it answers ${Math.round(delayMs)} ms late; its limit is ${maxEventLoopDelayMs} ms)`,
      );
    }
    // How long a start waits in this process now: its own connection's wait when known, and at
    // least how late the event loop has run (a request read now was queued about that long).
    const waitedMs = Math.max(queuedMs ?? 0, delayMs);
    const saturated = now - this.lastRefusalMs < SATURATION_MEMORY_MS;
    if (maxStartQueueMs > 0 && saturated && waitedMs > maxStartQueueMs) {
      return refuse(
        'queued_too_long',
        `this gateway is saturated, and requests wait ${Math.round(waitedMs)} ms in its queue (its limit is ${maxStartQueueMs} ms while saturated)`,
      );
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

  /**
   * Log a refusal. Under overload a line per refused start would add to the overload: one line
   * when refusing begins, then at most one a second with the count.
   */
  noteRefusal(decision: Exclude<AdmissionDecision, { admitted: true }>): void {
    this.unloggedRefusals++;
    this.lastRefusal = decision;
    const sinceLastLine = performance.now() - this.lastRefusalLogMs;
    if (sinceLastLine >= REFUSAL_LOG_INTERVAL_MS) {
      this.logRefusals();
    } else if (this.refusalLogTimer === undefined && !this.closed) {
      // The last refusals of a burst are counted too, once the second is over.
      this.refusalLogTimer = setTimeout(() => this.logRefusals(), REFUSAL_LOG_INTERVAL_MS - sinceLastLine);
      this.refusalLogTimer.unref();
    }
  }

  private logRefusals(): void {
    clearTimeout(this.refusalLogTimer);
    this.refusalLogTimer = undefined;
    const decision = this.lastRefusal;
    if (this.unloggedRefusals === 0 || decision === undefined) return;
    const state = this.state();
    this.log('cli_start_refused_overloaded', {
      reason: decision.reason,
      refused_starts: this.unloggedRefusals,
      retry_after_s: decision.retryAfterSeconds,
      logins_in_flight: state.loginsInFlight,
      event_loop_delay_ms: state.eventLoopDelayMs,
    });
    this.unloggedRefusals = 0;
    this.lastRefusalLogMs = performance.now();
  }

  close(): void {
    this.logRefusals();
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

const acceptedAt = new WeakMap<Socket, number>();
const firstRequestWaits = new WeakMap<IncomingMessage, number>();

/**
 * Remember, for the first request of each connection `server` accepts, how long it waited between
 * the acceptance and its headers being read: in a burst, the time it sat behind the requests read
 * before it (plus however slowly the client sent it). Later requests on a kept-alive connection
 * have no such measure (the connection may have been idle), and are not judged by it.
 */
// mutation-equivalent: overload admission, as Admission above
export function measureConnectionWaits(server: Server): void {
  server.on('connection', (socket: Socket) => acceptedAt.set(socket, performance.now()));
  // Before the application's own listener, so the time is taken as the request is parsed.
  server.prependListener('request', (req: IncomingMessage) => {
    const accepted = acceptedAt.get(req.socket);
    if (accepted === undefined) return;
    acceptedAt.delete(req.socket);
    firstRequestWaits.set(req, performance.now() - accepted);
  });
}

/** How long `req` waited before being read (measureConnectionWaits), if it was its connection's first. */
// mutation-equivalent: overload admission, as Admission above
export function connectionWaitMs(req: IncomingMessage): number | undefined {
  return firstRequestWaits.get(req);
}

/** At most one `cli_start_refused_overloaded` line this often, counting the starts refused since the last. */
const REFUSAL_LOG_INTERVAL_MS = 1000;

/** An admitted start's slot until its route binds it to a login (attachLogin). */
const heldSlots = new WeakMap<ServerResponse, { hold: AdmissionHold; attached: boolean }>();

/**
 * Decide for one start request and answer it when refused: 503, Retry-After, a `{"detail"}` saying
 * no login was started. Written directly rather than thrown to the error handler: in a burst,
 * refusals come by the thousand, and each must cost as little as an answer can. An admitted start
 * holds its slot until the route binds it to a login, or frees it when its answer ends without one
 * (rate limit, store down).
 */
// mutation-equivalent: overload admission, as Admission above
function admitOrRefuse(admission: Admission, req: IncomingMessage, res: ServerResponse): boolean {
  const decision = admission.tryAdmit(connectionWaitMs(req));
  if (!decision.admitted) {
    admission.noteRefusal(decision);
    const body = JSON.stringify(detailBody(decision.detail));
    res.writeHead(503, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'retry-after': String(decision.retryAfterSeconds),
      'x-content-type-options': 'nosniff',
    });
    res.end(body);
    return false;
  }
  const entry = { hold: decision.hold, attached: false };
  heldSlots.set(res, entry);
  res.once('close', () => {
    if (!entry.attached) entry.hold.release();
  });
  return true;
}

/**
 * The start route as express routes it: case-insensitive, one trailing slash allowed (express 5's
 * defaults). A spelling this misses still meets admitStarts behind express.
 */
const START_PATH = new RegExp(`^${CLI_SSO_PATHS.start.replaceAll('/', '\\/')}\\/?(?:\\?|$)`, 'i');

/**
 * In front of the application, before express: a start is decided as soon as it is read, so that a
 * refusal costs the HTTP exchange and nothing more (0.3 ms of CPU against 0.7 ms through express's
 * router and error handler, measured with 3,000 refused starts). Refused starts get no `request`
 * log line; they are counted in `cli_start_refused_overloaded`.
 */
// mutation-equivalent: overload admission, as Admission above
export function gateStarts(admission: Admission, app: RequestListener): RequestListener {
  return (req, res) => {
    if (req.method === 'POST' && START_PATH.test(req.url ?? '') && !admitOrRefuse(admission, req, res)) return;
    app(req, res);
  };
}

/**
 * Express middleware in front of the start route: a start gateStarts has not already admitted (the
 * app mounted without it, another spelling of the path) is decided here, the same way.
 */
// mutation-equivalent: overload admission, as Admission above
export function admitStarts(admission: Admission): RequestHandler {
  return (req, res, next) => {
    if (heldSlots.has(res) || admitOrRefuse(admission, req, res)) next();
  };
}

/** The start route's flow exists: its slot now lasts until the login finishes. */
// mutation-equivalent: overload admission, as Admission above
export function attachLogin(res: ServerResponse, loginId: string): void {
  const entry = heldSlots.get(res);
  if (!entry) return;
  entry.attached = true;
  entry.hold.attach(loginId);
}
