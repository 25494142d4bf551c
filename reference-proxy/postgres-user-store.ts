/**
 * Users in PostgreSQL (DATABASE_URL), shared by every replica. The schema is created or migrated at
 * start-up under an advisory lock, so replicas starting together do not race; when the database is
 * unreachable at start-up the proxy still starts, answers 503 where it needs users, and migrates as
 * soon as the database answers.
 */
import pg from 'pg';
import { z } from 'zod';
import type { Logger } from '../common/logger.ts';
import type { NestedMetadata } from '../protocol/claim-map.ts';
import { type CliSessionRecord, rowToSession } from './cli-sessions.ts';
import type { IdpIdentity } from './identity.ts';
import { isNetworkFailure, storeOperation } from './store-errors.ts';
import { applyLogin, type UserRecord, type UserStore } from './user-store.ts';

export const POSTGRES_STORE_NAME = 'user database (PostgreSQL)';
/** pg_advisory_xact_lock key for migrations: any constant shared by every replica. */
const MIGRATION_LOCK = 4_715_001;

/** Append-only: a released migration is never edited, a change is a new entry. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS users (
     user_id TEXT PRIMARY KEY,
     user_email TEXT,
     display_name TEXT,
     first_name TEXT,
     last_name TEXT,
     user_role TEXT NOT NULL,
     teams JSONB NOT NULL DEFAULT '[]',
     metadata JSONB NOT NULL DEFAULT '{}',
     created_at_ms BIGINT NOT NULL,
     updated_at_ms BIGINT NOT NULL
   )`,
  // The CLI session registry (cli-sessions.ts): the hash of a session token, never the key.
  `CREATE TABLE IF NOT EXISTS cli_sessions (
     session_id TEXT PRIMARY KEY,
     user_id TEXT NOT NULL,
     team_id TEXT,
     created_at_ms BIGINT NOT NULL,
     expires_at_ms BIGINT NOT NULL,
     revoked_at_ms BIGINT,
     revoked_by TEXT
   );
   CREATE INDEX IF NOT EXISTS cli_sessions_by_creation ON cli_sessions (created_at_ms DESC)`,
];

const rowSchema = z.object({
  user_id: z.string(),
  user_email: z.string().nullable(),
  display_name: z.string().nullable(),
  first_name: z.string().nullable(),
  last_name: z.string().nullable(),
  user_role: z.string(),
  teams: z.array(z.string()),
  metadata: z.record(z.string(), z.unknown()),
  // BIGINT arrives as a string.
  created_at_ms: z.coerce.number(),
  updated_at_ms: z.coerce.number(),
});

/**
 * Messages of node-postgres (8.x) and its pool for a connection that could not be made in time or
 * was lost under a query.
 */
const PG_CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Query read timeout',
];
/**
 * SQLSTATE classes and codes of a server that cannot serve now (PostgreSQL, appendix A): 08
 * connection exception, 53 insufficient resources (disk full, too many connections), 57P0x
 * shutting down or starting up, 58 system error (I/O), 28 credentials refused and 3D000 no such
 * database (the configured database cannot be used). A syntax error, a missing table or a
 * constraint violation is our bug.
 */
// mutation-equivalent: a SQLSTATE has five characters and an outage's begins with its class; the
// anchors matter only for codes like 42809 that no statement of this gateway can meet
const PG_UNAVAILABLE_SQLSTATE = /^(08|53|57P0|58|28)|^3D000$/;

/** Whether an error from a node-postgres call means that PostgreSQL cannot be used right now. */
export function isPostgresOutage(error: unknown): boolean {
  if (isNetworkFailure(error)) return true;
  if (!(error instanceof Error)) return false;
  if (PG_CONNECTION_MESSAGES.some((message) => error.message.startsWith(message))) return true;
  return (
    error instanceof pg.DatabaseError && typeof error.code === 'string' && PG_UNAVAILABLE_SQLSTATE.test(error.code)
  );
}

function rowToUser(row: unknown): UserRecord {
  const r = rowSchema.parse(row);
  return {
    userId: r.user_id,
    email: r.user_email,
    // mutation-equivalent: read only for /user/info fields the contract does not judge (routes/user-info.ts)
    displayName: r.display_name,
    // mutation-equivalent: read only for /user/info fields the contract does not judge (routes/user-info.ts)
    firstName: r.first_name,
    // mutation-equivalent: read only for /user/info fields the contract does not judge (routes/user-info.ts)
    lastName: r.last_name,
    role: r.user_role,
    teams: r.teams,
    metadata: r.metadata,
    // mutation-equivalent: read only for /user/info fields the contract does not judge (routes/user-info.ts)
    createdAtMs: r.created_at_ms,
    // mutation-equivalent: read only for /user/info fields the contract does not judge (routes/user-info.ts)
    updatedAtMs: r.updated_at_ms,
  };
}

export class PostgresUserStore implements UserStore {
  private readonly pool: pg.Pool;
  private schemaReady: Promise<void> | undefined;

  private constructor(url: string, logger: Logger) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: 5,
      connectionTimeoutMillis: 3000,
      idleTimeoutMillis: 10_000,
    });
    // An idle client losing its connection emits here; without a listener the process would crash.
    this.pool.on('error', (error) => logger.warn('postgres_error', { error: error.message }));
  }

  static async open(url: string, logger: Logger): Promise<PostgresUserStore> {
    const store = new PostgresUserStore(url, logger);
    await store.ensureSchema().catch((error: unknown) => {
      logger.warn('postgres_unreachable_at_start', { error: error instanceof Error ? error.message : String(error) });
    });
    return store;
  }

  /** Runs the migrations once; a failure is forgotten so the next request tries again. */
  private ensureSchema(): Promise<void> {
    this.schemaReady ??= this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
      );
      const { rows } = await client.query('SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations');
      const applied = z.object({ version: z.coerce.number() }).parse(rows[0]).version;
      for (const [index, sql] of MIGRATIONS.entries()) {
        if (index + 1 <= applied) continue;
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [index + 1]);
      }
    }).catch((error: unknown) => {
      this.schemaReady = undefined;
      throw error;
    });
    return this.schemaReady;
  }

  upsertLogin(identity: IdpIdentity, attribution: NestedMetadata, nowMs: number): Promise<UserRecord> {
    return storeOperation(POSTGRES_STORE_NAME, isPostgresOutage, async () => {
      await this.ensureSchema();
      return this.transaction(async (client) => {
        // Lock the row (or its absence, via the insert) so two logins of one user cannot interleave.
        const inserted = await client.query(
          `INSERT INTO users (user_id, user_role, created_at_ms, updated_at_ms) VALUES ($1, '', $2, $2)
           ON CONFLICT (user_id) DO NOTHING`,
          [identity.userId, nowMs],
        );
        const { rows } = await client.query('SELECT * FROM users WHERE user_id = $1 FOR UPDATE', [identity.userId]);
        const existing = inserted.rowCount === 1 ? undefined : rowToUser(rows[0]);
        const user = applyLogin(existing, identity, attribution, nowMs);
        await client.query(
          `UPDATE users SET user_email = $2, display_name = $3, first_name = $4, last_name = $5, user_role = $6,
                  teams = $7, metadata = $8, created_at_ms = $9, updated_at_ms = $10
           WHERE user_id = $1`,
          [
            user.userId,
            user.email,
            user.displayName,
            user.firstName,
            user.lastName,
            user.role,
            JSON.stringify(user.teams),
            JSON.stringify(user.metadata),
            user.createdAtMs,
            user.updatedAtMs,
          ],
        );
        return user;
      });
    });
  }

  get(userId: string): Promise<UserRecord | undefined> {
    return storeOperation(POSTGRES_STORE_NAME, isPostgresOutage, async () => {
      await this.ensureSchema();
      const { rows } = await this.pool.query('SELECT * FROM users WHERE user_id = $1', [userId]);
      return rows.length === 0 ? undefined : rowToUser(rows[0]);
    });
  }

  recordCliSession(session: CliSessionRecord): Promise<void> {
    return storeOperation(POSTGRES_STORE_NAME, isPostgresOutage, async () => {
      await this.ensureSchema();
      await this.pool.query(
        `INSERT INTO cli_sessions (session_id, user_id, team_id, created_at_ms, expires_at_ms)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (session_id) DO NOTHING`,
        [session.sessionId, session.userId, session.teamId, session.createdAtMs, session.expiresAtMs],
      );
    });
  }

  listCliSessions(
    nowMs: number,
    page: number,
    pageSize: number,
  ): Promise<{ sessions: CliSessionRecord[]; totalCount: number }> {
    return storeOperation(POSTGRES_STORE_NAME, isPostgresOutage, async () => {
      await this.ensureSchema();
      const count = await this.pool.query('SELECT COUNT(*) AS n FROM cli_sessions WHERE expires_at_ms > $1', [nowMs]);
      const totalCount = z.object({ n: z.coerce.number() }).parse(count.rows[0]).n;
      const { rows } = await this.pool.query(
        `SELECT * FROM cli_sessions WHERE expires_at_ms > $1
         ORDER BY created_at_ms DESC, session_id LIMIT $2 OFFSET $3`,
        [nowMs, pageSize, (page - 1) * pageSize],
      );
      return { sessions: rows.map(rowToSession), totalCount };
    });
  }

  revokeCliSession(sessionId: string, revokedBy: string, nowMs: number): Promise<CliSessionRecord | undefined> {
    return storeOperation(POSTGRES_STORE_NAME, isPostgresOutage, async () => {
      await this.ensureSchema();
      // One statement: of two concurrent revocations the first sets revoked_at, the second keeps it.
      await this.pool.query(
        'UPDATE cli_sessions SET revoked_at_ms = $2, revoked_by = $3 WHERE session_id = $1 AND revoked_at_ms IS NULL',
        [sessionId, nowMs, revokedBy],
      );
      return this.readSession(sessionId);
    });
  }

  getCliSession(sessionId: string): Promise<CliSessionRecord | undefined> {
    return storeOperation(POSTGRES_STORE_NAME, isPostgresOutage, async () => {
      await this.ensureSchema();
      return this.readSession(sessionId);
    });
  }

  private async readSession(sessionId: string): Promise<CliSessionRecord | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM cli_sessions WHERE session_id = $1', [sessionId]);
    return rows.length === 0 ? undefined : rowToSession(rows[0]);
  }

  // mutation-equivalent: what the gateway does on its way out; the contract has no rule on shutdown
  async close(): Promise<void> {
    await this.pool.end();
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // mutation-equivalent: only a ROLLBACK that fails too (the connection died mid-transaction) reaches it; the
      // connection is then dropped instead of reused, and the answer is the original error's either way
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      // A connection that cannot even roll back is destroyed, not returned to the pool.
      client.release(broken);
    }
  }
}
