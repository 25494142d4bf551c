/**
 * Users in SQLite, the default: a file under the working directory, or `:memory:`. The schema is
 * created or migrated when the store opens (numbered migrations, like the PostgreSQL store).
 *
 * The driver is Node's built-in `node:sqlite` where the runtime has it without a flag (22.13+,
 * 23.4+, 24), else better-sqlite3 (Node 20): no native build on current Node. Both are used
 * through the few calls they share (exec, prepare, run, get, close); docs/node-versions.md has
 * the measurements behind the choice.
 */
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { z } from 'zod';
import type { NestedMetadata } from '../protocol/claim-map.ts';
import { type CliSessionRecord, rowToSession } from './cli-sessions.ts';
import type { IdpIdentity } from './identity.ts';
import { storeOperation } from './store-errors.ts';
import { applyLogin, type UserRecord, type UserStore } from './user-store.ts';

export const SQLITE_STORE_NAME = 'user database (SQLite)';

/** Append-only: a released migration is never edited, a change is a new entry. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE users (
     user_id TEXT PRIMARY KEY,
     user_email TEXT,
     display_name TEXT,
     first_name TEXT,
     last_name TEXT,
     user_role TEXT NOT NULL,
     teams TEXT NOT NULL DEFAULT '[]',
     metadata TEXT NOT NULL DEFAULT '{}',
     created_at_ms INTEGER NOT NULL,
     updated_at_ms INTEGER NOT NULL
   )`,
  // The CLI session registry (cli-sessions.ts): the hash of a session token, never the key.
  `CREATE TABLE cli_sessions (
     session_id TEXT PRIMARY KEY,
     user_id TEXT NOT NULL,
     team_id TEXT,
     created_at_ms INTEGER NOT NULL,
     expires_at_ms INTEGER NOT NULL,
     revoked_at_ms INTEGER,
     revoked_by TEXT
   );
   CREATE INDEX cli_sessions_by_creation ON cli_sessions (created_at_ms DESC)`,
];

const rowSchema = z.object({
  user_id: z.string(),
  user_email: z.string().nullable(),
  display_name: z.string().nullable(),
  first_name: z.string().nullable(),
  last_name: z.string().nullable(),
  user_role: z.string(),
  teams: z.string(),
  metadata: z.string(),
  created_at_ms: z.number(),
  updated_at_ms: z.number(),
});

// Built once: a zod schema costs more to build than to run, and every login reads a row.
const teamsSchema = z.array(z.string());
const metadataSchema = z.record(z.string(), z.unknown());

function rowToUser(row: z.infer<typeof rowSchema>): UserRecord {
  return {
    userId: row.user_id,
    email: row.user_email,
    // mutation-equivalent: read only for /user/info fields the contract does not judge (routes/user-info.ts)
    displayName: row.display_name,
    // mutation-equivalent: read only for /user/info fields the contract does not judge (routes/user-info.ts)
    firstName: row.first_name,
    // mutation-equivalent: read only for /user/info fields the contract does not judge (routes/user-info.ts)
    lastName: row.last_name,
    role: row.user_role,
    teams: teamsSchema.parse(JSON.parse(row.teams)),
    metadata: metadataSchema.parse(JSON.parse(row.metadata)),
    // mutation-equivalent: read only for /user/info fields the contract does not judge (routes/user-info.ts)
    createdAtMs: row.created_at_ms,
    // mutation-equivalent: read only for /user/info fields the contract does not judge (routes/user-info.ts)
    updatedAtMs: row.updated_at_ms,
  };
}

/**
 * SQLite's primary result codes for a database that cannot be used now (sqlite.org/rescode.html):
 * busy or locked past busy_timeout, out of memory, read-only, disk I/O error, corrupt, disk full,
 * cannot open, lock protocol error, not a database. A constraint or a statement we got wrong is
 * our bug.
 */
const SQLITE_UNAVAILABLE = new Map([
  ['SQLITE_BUSY', 5],
  ['SQLITE_LOCKED', 6],
  ['SQLITE_NOMEM', 7],
  ['SQLITE_READONLY', 8],
  ['SQLITE_IOERR', 10],
  ['SQLITE_CORRUPT', 11],
  ['SQLITE_FULL', 13],
  ['SQLITE_CANTOPEN', 14],
  ['SQLITE_PROTOCOL', 15],
  ['SQLITE_NOTADB', 26],
]);
const SQLITE_UNAVAILABLE_CODES = new Set(SQLITE_UNAVAILABLE.values());

/**
 * Whether an error from the SQLite driver means that the database file cannot be used right now:
 * better-sqlite3's SqliteError names the (extended) code, `SQLITE_IOERR_WRITE`; node:sqlite gives
 * `ERR_SQLITE_ERROR` with the extended code as a number in `errcode` (its low byte the primary).
 */
// mutation-equivalent: a black-box suite cannot take an embedded database file away from a running
// gateway (it stops Redis and PostgreSQL servers instead); sqlite-user-store.test.ts covers it
export function isSqliteOutage(error: unknown): boolean {
  if (!(error instanceof Error) || !('code' in error)) return false;
  if (error.code === 'ERR_SQLITE_ERROR') {
    const errcode = 'errcode' in error ? error.errcode : undefined;
    return typeof errcode === 'number' && SQLITE_UNAVAILABLE_CODES.has(errcode & 0xff);
  }
  if (error.name !== 'SqliteError' || typeof error.code !== 'string') return false;
  const primary = /^SQLITE_[A-Z]+/.exec(error.code)?.[0] ?? '';
  return SQLITE_UNAVAILABLE.has(primary);
}

/** What both drivers offer and this store uses. */
interface SqliteStatement {
  run(...parameters: unknown[]): unknown;
  get(...parameters: unknown[]): unknown;
  all(...parameters: unknown[]): unknown[];
}
interface SqliteConnection {
  exec(sql: string): unknown;
  prepare(sql: string): SqliteStatement;
  close(): unknown;
}
export type SqliteDriver = 'node:sqlite' | 'better-sqlite3';

const requireHere = createRequire(import.meta.url);

/** node:sqlite's DatabaseSync, or undefined where the runtime has no unflagged node:sqlite. */
function loadNodeSqlite(): (new (path: string) => SqliteConnection) | undefined {
  // Node 22 prints "ExperimentalWarning: SQLite is an experimental feature" once per process (24.15+
  // no longer does: release candidate). The gateway's stderr is its JSON log and the calls used here
  // have not changed since node:sqlite appeared, so that one warning is held back; any other passes.
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (/^SQLite is an experimental feature/.test(text)) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return (requireHere('node:sqlite') as { DatabaseSync: new (path: string) => SqliteConnection }).DatabaseSync;
  } catch {
    return undefined; // Node 20, or 22.5-22.12 without --experimental-sqlite
  } finally {
    process.emitWarning = emitWarning;
  }
}

function openConnection(path: string): { db: SqliteConnection; driver: SqliteDriver } {
  const DatabaseSync = loadNodeSqlite();
  if (DatabaseSync !== undefined) return { db: new DatabaseSync(path), driver: 'node:sqlite' };
  let db: SqliteConnection;
  // mutation-equivalent: reached only at start-up on a Node.js without node:sqlite whose better-sqlite3
  // does not load; no scenario can start a gateway there
  try {
    const Database = requireHere('better-sqlite3') as typeof BetterSqlite3;
    db = new Database(path);
  } catch (error) {
    // The usual cause: a native module built for another Node.js (NODE_MODULE_VERSION mismatch).
    const reason = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ');
    throw new Error(
      `${SQLITE_STORE_NAME}: better-sqlite3 does not load in Node.js ${process.version}: ${reason} ` +
        'Rebuild it for this Node.js (npm rebuild better-sqlite3), use Node.js 22.13 or later ' +
        '(built-in node:sqlite), or set DATABASE_URL',
      { cause: error },
    );
  }
  return { db, driver: 'better-sqlite3' };
}

export class SqliteUserStore implements UserStore {
  private readonly db: SqliteConnection;
  /** Which driver this store runs on (tests check that current Node needs no native module). */
  readonly driver: SqliteDriver;
  /** The statements of every login, compiled once after the migrations rather than on each call. */
  private readonly statements: { upsert: SqliteStatement; read: SqliteStatement };

  constructor(path: string) {
    ({ db: this.db, driver: this.driver } = openConnection(path));
    this.db.exec('PRAGMA journal_mode = WAL');
    // better-sqlite3 is compiled with this as its WAL default (SQLITE_DEFAULT_WAL_SYNCHRONOUS=1);
    // node:sqlite keeps SQLite's FULL, an fsync per login (measured 6.6 ms a login against 0.2 ms).
    this.db.exec('PRAGMA synchronous = NORMAL');
    this.db.exec('PRAGMA busy_timeout = 5000');
    this.migrate();
    this.statements = {
      upsert: this.db.prepare(
        `INSERT INTO users (user_id, user_email, display_name, first_name, last_name, user_role, teams, metadata,
                            created_at_ms, updated_at_ms)
         VALUES (@userId, @email, @displayName, @firstName, @lastName, @role, @teams, @metadata, @createdAtMs, @updatedAtMs)
         ON CONFLICT (user_id) DO UPDATE SET
           user_email = excluded.user_email, display_name = excluded.display_name,
           first_name = excluded.first_name, last_name = excluded.last_name, user_role = excluded.user_role,
           teams = excluded.teams, metadata = excluded.metadata, updated_at_ms = excluded.updated_at_ms`,
      ),
      read: this.db.prepare('SELECT * FROM users WHERE user_id = ?'),
    };
  }

  /** BEGIN IMMEDIATE: the write lock is taken before the first read. */
  private immediate<T>(work: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    let result: T;
    try {
      result = work();
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
    try {
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
    return result;
  }

  private migrate(): void {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)',
    );
    this.immediate(() => {
      const row = this.db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get();
      const applied = z.object({ version: z.number().nullable() }).parse(row).version ?? 0;
      MIGRATIONS.forEach((sql, index) => {
        const version = index + 1;
        if (version <= applied) return;
        this.db.exec(sql);
        this.db
          .prepare('INSERT INTO schema_migrations (version, applied_at_ms) VALUES (?, ?)')
          .run(version, Date.now());
      });
    });
  }

  upsertLogin(identity: IdpIdentity, attribution: NestedMetadata, nowMs: number): Promise<UserRecord> {
    return storeOperation(SQLITE_STORE_NAME, isSqliteOutage, async () =>
      // IMMEDIATE: take the write lock before reading, so two logins of one user cannot interleave.
      this.immediate(() => {
        const user = applyLogin(this.read(identity.userId), identity, attribution, nowMs);
        this.statements.upsert.run({
          ...user,
          teams: JSON.stringify(user.teams),
          metadata: JSON.stringify(user.metadata),
        });
        return user;
      }),
    );
  }

  get(userId: string): Promise<UserRecord | undefined> {
    return storeOperation(SQLITE_STORE_NAME, isSqliteOutage, async () => this.read(userId));
  }

  recordCliSession(session: CliSessionRecord): Promise<void> {
    return storeOperation(SQLITE_STORE_NAME, isSqliteOutage, async () => {
      this.db
        .prepare(
          `INSERT INTO cli_sessions (session_id, user_id, team_id, created_at_ms, expires_at_ms, revoked_at_ms, revoked_by)
           VALUES (?, ?, ?, ?, ?, NULL, NULL) ON CONFLICT (session_id) DO NOTHING`,
        )
        .run(session.sessionId, session.userId, session.teamId, session.createdAtMs, session.expiresAtMs);
    });
  }

  listCliSessions(
    nowMs: number,
    page: number,
    pageSize: number,
  ): Promise<{ sessions: CliSessionRecord[]; totalCount: number }> {
    return storeOperation(SQLITE_STORE_NAME, isSqliteOutage, async () => {
      const count = this.db.prepare('SELECT COUNT(*) AS n FROM cli_sessions WHERE expires_at_ms > ?').get(nowMs);
      const totalCount = z.object({ n: z.number() }).parse(count).n;
      const rows = this.db
        .prepare(
          `SELECT * FROM cli_sessions WHERE expires_at_ms > ?
           ORDER BY created_at_ms DESC, session_id LIMIT ? OFFSET ?`,
        )
        .all(nowMs, pageSize, (page - 1) * pageSize);
      return { sessions: rows.map(rowToSession), totalCount };
    });
  }

  revokeCliSession(sessionId: string, revokedBy: string, nowMs: number): Promise<CliSessionRecord | undefined> {
    return storeOperation(SQLITE_STORE_NAME, isSqliteOutage, async () =>
      this.immediate(() => {
        this.db
          .prepare(
            'UPDATE cli_sessions SET revoked_at_ms = ?, revoked_by = ? WHERE session_id = ? AND revoked_at_ms IS NULL',
          )
          .run(nowMs, revokedBy, sessionId);
        return this.readSession(sessionId);
      }),
    );
  }

  getCliSession(sessionId: string): Promise<CliSessionRecord | undefined> {
    return storeOperation(SQLITE_STORE_NAME, isSqliteOutage, async () => this.readSession(sessionId));
  }

  private readSession(sessionId: string): CliSessionRecord | undefined {
    const row = this.db.prepare('SELECT * FROM cli_sessions WHERE session_id = ?').get(sessionId);
    return row === undefined ? undefined : rowToSession(row);
  }

  private read(userId: string): UserRecord | undefined {
    const row = this.statements.read.get(userId);
    return row === undefined ? undefined : rowToUser(rowSchema.parse(row));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
