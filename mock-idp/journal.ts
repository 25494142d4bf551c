/**
 * The journal: what crossed the mock's wire (requests with their OAuth parameters) and what the
 * provider did (its events), so tests assert on observed traffic instead of mocks (architecture.md,
 * convention 12). Everything is redacted on the way in (convention 13): no secret is ever stored.
 */
import { z } from 'zod';
import type { Clock } from '../common/clock.ts';
import { isSecretName, redact, redactText, redactUrl } from '../protocol/redact.ts';

/** One HTTP request the mock answered (control API calls are not journaled). */
export interface RequestEntry {
  /** Sequence number, from 1; pass one to {@link JournalFilter.since}. */
  seq: number;
  /** When it was answered, ISO 8601 (from the `clock` option). */
  time: string;
  type: 'request';
  /** `GET`, `POST`, ... */
  method: string;
  /** Path and query, secret parameters redacted. */
  path: string;
  /** The OpenID endpoint, when the request went to oidc-provider. */
  endpoint?: string;
  /** The status answered; `0` when the connection was dropped. */
  status: number;
  /** Milliseconds from the request to the answer. */
  durationMs: number;
  /** The client the provider identified, if any. */
  clientId?: string;
  /** OAuth parameters the provider read (query or form), secrets redacted. */
  params?: Record<string, unknown>;
  /** Kind of the fault that hit this request. */
  fault?: string;
}

/** One thing oidc-provider did: `authorization.success`, `grant.success`, `grant.error`, `server_error`, ... */
export interface EventEntry {
  /** Sequence number, shared with requests. */
  seq: number;
  /** When it happened, ISO 8601. */
  time: string;
  type: 'event';
  /** oidc-provider event name (e.g. `grant.success`, `authorization.error`) or a mock event. */
  event: string;
  /** The client concerned, if any. */
  clientId?: string;
  /** The user's OpenID subject, if any. */
  accountId?: string;
  /** The OAuth error, for error events. */
  error?: string;
  /** Its description, secrets redacted. */
  errorDescription?: string;
}

/** An entry of the {@link Journal}: tell them apart by `type`. */
export type JournalEntry = RequestEntry | EventEntry;
type NewEntry = Omit<RequestEntry, 'seq' | 'time'> | Omit<EventEntry, 'seq' | 'time'>;

/** @internal */
export const journalFilterSchema = z
  .object({
    type: z.enum(['request', 'event']).optional(),
    endpoint: z.string().optional(),
    event: z.string().optional(),
    /** Path prefix, e.g. `/token`. */
    path: z.string().optional(),
    method: z.string().optional(),
    status: z.coerce.number().int().optional(),
    clientId: z.string().optional(),
    /** Entries after this sequence number. */
    since: z.coerce.number().int().min(0).optional(),
    limit: z.coerce.number().int().min(1).max(10_000).optional(),
  })
  .strict();
/** Which entries {@link Journal.query} returns: those that match every criterion given. */
export interface JournalFilter {
  /** Requests or events only. */
  type?: 'request' | 'event';
  /** Requests to this OpenID endpoint: `authorization`, `token`, `userinfo`, `jwks`, `discovery`, ... */
  endpoint?: string;
  /** Events of this name, e.g. `grant.success`. */
  event?: string;
  /** Requests whose path starts with this, e.g. `/token`. */
  path?: string;
  /** Requests with this method (any case). */
  method?: string;
  /** Requests answered with this status. */
  status?: number;
  /** Entries of this client. */
  clientId?: string;
  /** Entries after this sequence number, e.g. a {@link Journal.lastSeq} taken earlier. */
  since?: number;
  /** Only the newest this many (1-10000). */
  limit?: number;
}

/** Oldest entries are dropped past this many, so a long-running mock does not grow without bound. */
const MAX_ENTRIES = 5000;

function redactParams(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(params).map(([name, value]) => [
      name,
      isSecretName(name) && value !== undefined && value !== '' ? '[redacted]' : redact(value),
    ]),
  );
}

/**
 * What crossed the mock's wire and what its provider did ({@link MockIdp.journal}), so a test asserts
 * on observed traffic: which endpoints the code under test called, with which OAuth parameters,
 * and what they answered. Secrets (codes, verifiers, client secrets, tokens) are stored as
 * `"[redacted]"`. The newest 5000 entries are kept.
 * @example
 * ```ts
 * const mark = idp.journal.lastSeq();
 * await relyingParty.login();
 * const [authorize] = idp.journal.requests({ endpoint: 'authorization', since: mark });
 * assert.equal(authorize?.params?.['code_challenge_method'], 'S256');
 * ```
 */
export class Journal {
  /** The newest MAX_ENTRIES entries, oldest first from `start`, in a ring (no shifting when full). */
  private ring: JournalEntry[] = [];
  private start = 0;
  private seq = 0;

  /** @internal */
  constructor(private readonly clock: Clock) {}

  /** @internal */
  record(entry: NewEntry): JournalEntry {
    const stamp = { seq: ++this.seq, time: new Date(this.clock.nowMs()).toISOString() };
    const full: JournalEntry =
      entry.type === 'request'
        ? {
            ...entry,
            ...stamp,
            path: redactUrl(entry.path),
            ...(entry.params ? { params: redactParams(entry.params) } : {}),
          }
        : {
            ...entry,
            ...stamp,
            ...(entry.errorDescription ? { errorDescription: redactText(entry.errorDescription) } : {}),
          };
    if (this.ring.length < MAX_ENTRIES) {
      this.ring.push(full);
    } else {
      this.ring[this.start] = full;
      this.start = (this.start + 1) % MAX_ENTRIES;
    }
    return full;
  }

  /** Every entry kept, oldest first. */
  private entries(): JournalEntry[] {
    return this.start === 0 ? this.ring : [...this.ring.slice(this.start), ...this.ring.slice(0, this.start)];
  }

  /**
   * Entries matching every given criterion, oldest first (the newest `limit` when a limit is given).
   * @param filter - the criteria; none gives every entry
   * @throws ZodError when a criterion has the wrong type or an unknown name
   */
  query(filter: JournalFilter = {}): JournalEntry[] {
    const f = journalFilterSchema.parse(filter);
    const matching = this.entries().filter(
      (e) =>
        (f.type === undefined || e.type === f.type) &&
        (f.since === undefined || e.seq > f.since) &&
        (f.endpoint === undefined || (e.type === 'request' && e.endpoint === f.endpoint)) &&
        (f.event === undefined || (e.type === 'event' && e.event === f.event)) &&
        (f.path === undefined || (e.type === 'request' && e.path.startsWith(f.path))) &&
        (f.method === undefined || (e.type === 'request' && e.method === f.method.toUpperCase())) &&
        (f.status === undefined || (e.type === 'request' && e.status === f.status)) &&
        (f.clientId === undefined || e.clientId === f.clientId),
    );
    return structuredClone(f.limit === undefined ? matching : matching.slice(-f.limit));
  }

  /**
   * The requests matching `filter`, oldest first: {@link Journal.query} with `type: 'request'`.
   * @param filter - the criteria (other than `type`)
   */
  requests(filter: Omit<JournalFilter, 'type'> = {}): RequestEntry[] {
    return this.query({ ...filter, type: 'request' }).filter((e): e is RequestEntry => e.type === 'request');
  }

  /**
   * The provider events matching `filter`, oldest first: {@link Journal.query} with `type: 'event'`.
   * @param filter - the criteria (other than `type`)
   */
  events(filter: Omit<JournalFilter, 'type'> = {}): EventEntry[] {
    return this.query({ ...filter, type: 'event' }).filter((e): e is EventEntry => e.type === 'event');
  }

  /** Sequence number of the newest entry (0 when empty): pass it as `since` to see only what follows. */
  lastSeq(): number {
    return this.seq;
  }

  /** Drops every entry; sequence numbers go on, so a `since` taken earlier still works. */
  clear(): void {
    this.ring = [];
    this.start = 0;
  }

  /**
   * Back to the start: no entries, and the next one is number 1 again.
   * @internal
   */
  reset(): void {
    this.clear();
    this.seq = 0;
  }
}
