/**
 * The journal: what crossed the mock's wire (requests with their OAuth parameters) and what the
 * provider did (its events), so tests assert on observed traffic instead of mocks (architecture.md,
 * convention 12). Everything is redacted on the way in (convention 13): no secret is ever stored.
 */
import { z } from 'zod';
import type { Clock } from '../common/clock.ts';
import { isSecretName, redact, redactText, redactUrl } from '../protocol/redact.ts';

export interface RequestEntry {
  seq: number;
  time: string;
  type: 'request';
  method: string;
  /** Path and query, secret parameters redacted. */
  path: string;
  /** The OpenID endpoint, when the request went to oidc-provider. */
  endpoint?: string;
  status: number;
  durationMs: number;
  clientId?: string;
  /** OAuth parameters the provider read (query or form), secrets redacted. */
  params?: Record<string, unknown>;
  /** Kind of the fault that hit this request. */
  fault?: string;
}

export interface EventEntry {
  seq: number;
  time: string;
  type: 'event';
  /** oidc-provider event name (e.g. `grant.success`, `authorization.error`) or a mock event. */
  event: string;
  clientId?: string;
  accountId?: string;
  error?: string;
  errorDescription?: string;
}

export type JournalEntry = RequestEntry | EventEntry;
type NewEntry = Omit<RequestEntry, 'seq' | 'time'> | Omit<EventEntry, 'seq' | 'time'>;

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
export type JournalFilter = z.input<typeof journalFilterSchema>;

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

export class Journal {
  private entries: JournalEntry[] = [];
  private seq = 0;

  constructor(private readonly clock: Clock) {}

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
    this.entries.push(full);
    if (this.entries.length > MAX_ENTRIES) this.entries.splice(0, this.entries.length - MAX_ENTRIES);
    return full;
  }

  /** Entries matching every given criterion, oldest first (the last `limit` when a limit is given). */
  query(filter: JournalFilter = {}): JournalEntry[] {
    const f = journalFilterSchema.parse(filter);
    const matching = this.entries.filter(
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

  /** Sequence number of the newest entry (0 when empty): pass it as `since` to see only what follows. */
  lastSeq(): number {
    return this.seq;
  }

  /** Drops every entry; sequence numbers go on, so a `since` taken earlier still works. */
  clear(): void {
    this.entries = [];
  }

  /** Back to the start: no entries, and the next one is number 1 again. */
  reset(): void {
    this.entries = [];
    this.seq = 0;
  }
}
