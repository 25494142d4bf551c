/**
 * Pending CLI logins ("flows", docs/contract.md sections 1-2) and where they live.
 *
 * A flow is written by four steps (start, callback, complete, poll) that may run on different
 * replicas, so every write goes through `update()`, which applies a decision to the version it read
 * and retries when another writer got there first. Every write bumps `version`; when the flow ends
 * is decided by flowExpiresAtMs() alone, for both stores; watchers (long polls, `Prefer: wait=N`)
 * are told about every write and delete.
 *
 * This file holds the contract and the in-memory store (one process); redis-flow-store.ts shares
 * flows between replicas.
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../common/clock.ts';
import type { MetadataScalar } from '../protocol/claim-map.ts';
import { FLOW_TTL_SECONDS } from '../protocol/cli-sso.ts';

/** pending -> sso_complete (IdP callback done) -> user_code_verified (code typed) -> deleted (key issued). */
export type FlowStatus = 'pending' | 'sso_complete' | 'user_code_verified';

/** Who signed in at the IdP, kept on the flow from the callback until the key is issued. */
export interface LoginSession {
  userId: string;
  userEmail: string | null;
  userRole: string;
  /** Team ids, from the IdP's team claim and the user's stored memberships. */
  teams: string[];
  /** Flat, dot-keyed form returned in the poll answer (docs/contract.md section 5). */
  attributionMetadata: Record<string, MetadataScalar>;
}

/**
 * The key a verified flow is handing out (its `jti`, `iat` and team), written by the poll that hands
 * it out before it answers; the flow is deleted once the answer has gone. Until `leaseUntilMs` other
 * polls are refused (exactly one gets the key, CLISSO-POLL-11); after it, a poll with the flow's
 * secret gets that same key again: the answer that carried it was lost (a store failure, a crash).
 */
export interface KeyClaim {
  jti: string;
  issuedAt: number;
  teamId: string | null;
  leaseUntilMs: number;
  /** The key's `sid` (cli-sessions.ts), so that a key handed out again carries the same session. */
  sessionToken?: string | undefined;
}

export interface Flow {
  loginId: string;
  status: FlowStatus;
  /** SHA-256 hex of the poll secret. */
  pollSecretHash: string;
  /** SHA-256 hex of the normalised user code. */
  userCodeHash: string;
  /** SHA-256 hex of the one-time browser_complete_token; set by the callback. */
  browserTokenHash: string | null;
  /** PKCE code_verifier sent to the IdP's token endpoint (RFC 7636); null without PKCE. */
  pkceVerifier: string | null;
  /** Failed verification attempts at POST /sso/cli/complete; 5 delete the flow (reference choice). */
  failedCodeAttempts: number;
  session: LoginSession | null;
  /** Set by the poll that hands out the key (see KeyClaim); absent until then. */
  keyClaim?: KeyClaim | undefined;
  createdAtMs: number;
  /** Set by the store on every write, from flowExpiresAtMs(). */
  expiresAtMs: number;
  /** Set by the store on every write: previous + 1. */
  version: number;
}

/** What a step decided to do with the flow it read. */
export type FlowDecision<T> =
  | { write: Omit<Flow, 'expiresAtMs' | 'version'>; result: T }
  | { delete: true; result: T }
  | { keep: true; result: T };

export interface FlowWatch {
  /** Resolves on the next write or delete of the flow after watch() was called. */
  readonly changed: Promise<void>;
  stop(): void;
}

export interface FlowStore {
  /** Stores a new flow; the store sets expiry and version. */
  create(flow: Omit<Flow, 'expiresAtMs' | 'version'>): Promise<Flow>;
  /** The live flow, or undefined when unknown or past its TTL. */
  get(loginId: string): Promise<Flow | undefined>;
  /** Read, decide, write atomically (compare-and-set on `version`; retried on a lost race). */
  update<T>(loginId: string, decide: (flow: Flow | undefined) => FlowDecision<T>): Promise<T>;
  /** Start watching before reading, so a change between the read and the wait is not missed. */
  watch(loginId: string): FlowWatch;
  /**
   * Single-use records of the PKCE-native login (authorization codes, consent flows, refresh
   * tokens and revoked refresh-token families, native-login/): records `name` for `ttlMs` unless it
   * is recorded already. True when this call recorded it, so of two replicas racing, exactly one
   * wins. The store keeps names only, never a secret.
   */
  markOnce(name: string, ttlMs: number): Promise<boolean>;
  /** Whether `name` was recorded by markOnce and has not expired. */
  isMarked(name: string): Promise<boolean>;
  close(): Promise<void>;
}

export const FLOW_TTL_MS = FLOW_TTL_SECONDS * 1000;
/** No flow outlives this, counted from its start, whatever is written to it (CLISSO-START-08). */
export const FLOW_MAX_LIFETIME_MS = 2 * FLOW_TTL_MS;

/**
 * When a flow ends after a write: the one lifetime rule, applied by every store.
 *
 * - A new flow lives 600 s (CLISSO-START-05).
 * - The IdP callback, which moves it from `pending` to `sso_complete`, gives the person 600 s from
 *   then to type the code, as LiteLLM's rewrite of the flow does (CLISSO-START-06).
 * - Nothing else moves the end: not a visit to the browser link (CLISSO-START-07), not a second
 *   sign-in, a wrong code or the code's confirmation. So a flow never outlives 1200 s from its
 *   start (CLISSO-START-08), however often a client writes to it.
 */
export function flowExpiresAtMs(
  previous: Flow | undefined,
  next: Pick<Flow, 'status' | 'createdAtMs'>,
  nowMs: number,
): number {
  if (previous === undefined) return Math.min(nowMs + FLOW_TTL_MS, next.createdAtMs + FLOW_MAX_LIFETIME_MS);
  if (previous.status === 'pending' && next.status === 'sso_complete') {
    return Math.min(nowMs + FLOW_TTL_MS, previous.createdAtMs + FLOW_MAX_LIFETIME_MS);
  }
  return previous.expiresAtMs;
}

/** Local fan-out of "flow X changed" to waiting long polls (fed directly, or by Redis pub/sub). */
export class FlowWatchers {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per waiting long poll; hundreds are normal, not a leak.
    this.emitter.setMaxListeners(0);
  }

  watch(loginId: string): FlowWatch {
    let listener: () => void = () => {};
    const changed = new Promise<void>((resolve) => {
      listener = () => resolve();
    });
    this.emitter.once(loginId, listener);
    return { changed, stop: () => this.emitter.off(loginId, listener) };
  }

  notify(loginId: string): void {
    this.emitter.emit(loginId);
  }
}

/** markOnce's map is first swept at twice this many names. */
const MARKS_SWEEP_FLOOR = 512;

/** Flows of one process. Expiry follows the injected clock, read afresh on every call. */
export class MemoryFlowStore implements FlowStore {
  private readonly flows = new Map<string, Flow>();
  private readonly watchers = new FlowWatchers();
  /** markOnce's names, with when each ends (ms). */
  private readonly marks = new Map<string, number>();
  private marksAfterSweep = MARKS_SWEEP_FLOOR;

  constructor(private readonly clock: Clock) {}

  async create(flow: Omit<Flow, 'expiresAtMs' | 'version'>): Promise<Flow> {
    this.sweepExpired();
    const stored = { ...flow, version: 1, expiresAtMs: flowExpiresAtMs(undefined, flow, this.clock.nowMs()) };
    this.flows.set(flow.loginId, stored);
    return structuredClone(stored);
  }

  async get(loginId: string): Promise<Flow | undefined> {
    const flow = this.live(loginId);
    return flow ? structuredClone(flow) : undefined;
  }

  async update<T>(loginId: string, decide: (flow: Flow | undefined) => FlowDecision<T>): Promise<T> {
    // Single-threaded: nothing can interleave between this read and this write.
    const current = this.live(loginId);
    const decision = decide(current ? structuredClone(current) : undefined);
    if ('write' in decision) {
      this.flows.set(loginId, {
        ...decision.write,
        loginId,
        version: (current?.version ?? 0) + 1,
        expiresAtMs: flowExpiresAtMs(current, decision.write, this.clock.nowMs()),
      });
      this.watchers.notify(loginId);
    } else if ('delete' in decision) {
      this.flows.delete(loginId);
      this.watchers.notify(loginId);
    }
    return decision.result;
  }

  watch(loginId: string): FlowWatch {
    return this.watchers.watch(loginId);
  }

  async markOnce(name: string, ttlMs: number): Promise<boolean> {
    // No await between the check and the set: two requests in this process must not both win.
    const now = this.clock.nowMs();
    // mutation-equivalent: the millisecond a mark ends in; no client can time a request to it
    if ((this.marks.get(name) ?? 0) > now) return false;
    // Ended names are swept once the map has doubled since the last sweep: a refresh token's name
    // lives 14 days, so sweeping on every call would cost a pass over all of them per request.
    // mutation-equivalent: sweeping only frees memory: a swept name had ended, and an ended name answers as
    // an absent one
    if (this.marks.size >= this.marksAfterSweep * 2) {
      for (const [other, endsAtMs] of this.marks) if (endsAtMs <= now) this.marks.delete(other);
      this.marksAfterSweep = Math.max(MARKS_SWEEP_FLOOR, this.marks.size);
    }
    this.marks.set(name, now + ttlMs);
    return true;
  }

  async isMarked(name: string): Promise<boolean> {
    const endsAtMs = this.marks.get(name);
    return endsAtMs !== undefined && endsAtMs > this.clock.nowMs();
  }

  async close(): Promise<void> {
    this.flows.clear();
    this.marks.clear();
  }

  private live(loginId: string): Flow | undefined {
    const flow = this.flows.get(loginId);
    // mutation-equivalent: `<=` and `<` differ only in the very millisecond a flow expires, which no client can
    // aim a request at
    if (flow && flow.expiresAtMs <= this.clock.nowMs()) {
      this.flows.delete(loginId);
      return undefined;
    }
    return flow;
  }

  private sweepExpired(): void {
    const now = this.clock.nowMs();
    // mutation-equivalent: as above: the sweep and the read agree but for the millisecond of expiry
    for (const [id, flow] of this.flows) if (flow.expiresAtMs <= now) this.flows.delete(id);
  }
}
