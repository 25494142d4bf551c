/**
 * The CLI session registry (docs/contract.md section 10.7). Every key the classic poll hands out
 * carries a session token (claim `sid`); the records store keeps one row per login under the SHA-256
 * of that token, never the key or the token itself [CLISSO-REGISTRY-01]. Admins list the rows and
 * proxy admins revoke one; a revoked key is refused on the API [CLISSO-REGISTRY-05].
 *
 * The key check is a hot path, so the revocation state is not read from the database per request:
 * {@link SessionRevocations} remembers "not revoked" for {@link LIVE_SESSION_TTL_MS} and "revoked"
 * for good. The replica that revokes marks the session at once; every other replica sharing the
 * database reads the row again at the latest when its "not revoked" has aged out.
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';

export interface CliSessionRecord {
  /** SHA-256 hex of the session token the key carries. */
  sessionId: string;
  userId: string;
  teamId: string | null;
  createdAtMs: number;
  /** The key's expiry. */
  expiresAtMs: number;
  revokedAtMs: number | null;
  revokedBy: string | null;
}

/** What the records store (SQLite or PostgreSQL) offers for the registry. */
export interface CliSessionRegistry {
  /** Write the row; the same session recorded again (a poll answered twice) keeps the first row. */
  recordCliSession(session: CliSessionRecord): Promise<void>;
  /** Unexpired rows at `nowMs`, newest first, one page (1-based), and how many there are in all. */
  listCliSessions(
    nowMs: number,
    page: number,
    pageSize: number,
  ): Promise<{ sessions: CliSessionRecord[]; totalCount: number }>;
  /** Mark the row revoked unless it already is (the first revocation stays); undefined for no row. */
  revokeCliSession(sessionId: string, revokedBy: string, nowMs: number): Promise<CliSessionRecord | undefined>;
  /** The row, or undefined. */
  getCliSession(sessionId: string): Promise<CliSessionRecord | undefined>;
}

/** A new session token: what the key carries; only its hash is stored. */
export function newSessionToken(): string {
  // mutation-equivalent: the token's size above the contract's needs: its 16 random bytes or 17 are as
  // unguessable, and only its hash is ever shown
  return `cli-session-${randomBytes(16).toString('base64url')}`;
}

/** The registry's id of a session: SHA-256 hex of its token. */
export function sessionIdOf(sessionToken: string): string {
  return createHash('sha256').update(sessionToken, 'utf8').digest('hex');
}

/**
 * A session row as both record stores keep it (SQLite and PostgreSQL, the same columns): times in
 * milliseconds, which PostgreSQL's BIGINT hands over as strings.
 */
const sessionRowSchema = z.object({
  session_id: z.string(),
  user_id: z.string(),
  team_id: z.string().nullable(),
  created_at_ms: z.coerce.number(),
  expires_at_ms: z.coerce.number(),
  revoked_at_ms: z.coerce.number().nullable(),
  revoked_by: z.string().nullable(),
});

/** A session row of either record store, checked, as the registry's record. */
export function rowToSession(row: unknown): CliSessionRecord {
  const r = sessionRowSchema.parse(row);
  return {
    sessionId: r.session_id,
    userId: r.user_id,
    teamId: r.team_id,
    createdAtMs: r.created_at_ms,
    expiresAtMs: r.expires_at_ms,
    revokedAtMs: r.revoked_at_ms,
    revokedBy: r.revoked_by,
  };
}

/** The wire form of a row (LiteLLM's CLISessionResponse, times as ISO 8601). */
export function sessionToJson(session: CliSessionRecord): Record<string, unknown> {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    session_id: session.sessionId,
    user_id: session.userId,
    team_id: session.teamId,
    created_at: iso(session.createdAtMs),
    expires_at: iso(session.expiresAtMs),
    revoked_at: iso(session.revokedAtMs),
    revoked_by: session.revokedBy,
  };
}

/**
 * How long a replica trusts "this session is not revoked" before reading the row again: a
 * revocation on another replica sharing the database is seen within this time plus one read
 * (CLISSO-REGISTRY-06 asks for 5 s).
 */
export const LIVE_SESSION_TTL_MS = 2000;
/** Sessions whose state is remembered (the oldest entry goes first), about 100 bytes each. */
export const REMEMBERED_SESSIONS = 10_000;

interface SessionState {
  revoked: boolean;
  /** performance.now() when read: monotonic, so a wall-clock jump neither extends nor ends it. */
  readAtMs: number;
}

export class SessionRevocations {
  private readonly states = new Map<string, SessionState>();
  private readonly reading = new Map<string, Promise<boolean>>();

  constructor(
    private readonly registry: Pick<CliSessionRegistry, 'getCliSession'>,
    private readonly ttlMs = LIVE_SESSION_TTL_MS,
    private readonly capacity = REMEMBERED_SESSIONS,
  ) {}

  /**
   * Whether the session is revoked: answered from memory while the remembered state is fresh (a
   * revocation is remembered for good), else from the store (one read shared by concurrent calls;
   * a store failure rejects). A session without a row is not revoked: its key predates the registry.
   */
  isRevoked(sessionId: string): boolean | Promise<boolean> {
    const known = this.states.get(sessionId);
    if (known !== undefined && (known.revoked || performance.now() - known.readAtMs < this.ttlMs)) {
      return known.revoked;
    }
    let pending = this.reading.get(sessionId);
    if (pending === undefined) {
      pending = this.registry.getCliSession(sessionId).then(
        (row) => {
          this.reading.delete(sessionId);
          // A revocation marked here while the read was under way stays.
          const revoked =
            (row?.revokedAtMs !== null && row?.revokedAtMs !== undefined) ||
            this.states.get(sessionId)?.revoked === true;
          this.remember(sessionId, revoked);
          return revoked;
        },
        (error: unknown) => {
          this.reading.delete(sessionId);
          throw error;
        },
      );
      this.reading.set(sessionId, pending);
    }
    return pending;
  }

  /** The revoking replica refuses the key at once. */
  markRevoked(sessionId: string): void {
    this.remember(sessionId, true);
  }

  private remember(sessionId: string, revoked: boolean): void {
    this.states.delete(sessionId);
    // mutation-equivalent: the bound of a cache: a state it dropped is read from the store again,
    // which holds the same revocation, so only the number of store reads changes
    if (this.states.size >= this.capacity) {
      const oldest = this.states.keys().next();
      if (!oldest.done) this.states.delete(oldest.value);
    }
    this.states.set(sessionId, { revoked, readAtMs: performance.now() });
  }
}
