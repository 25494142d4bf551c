/**
 * Users in SQLite (better-sqlite3), the default: a file under the working directory, or `:memory:`.
 * The schema is created or migrated when the store opens (numbered migrations, like the PostgreSQL
 * store).
 */
import Database from 'better-sqlite3';
import { z } from 'zod';
import type { NestedMetadata } from '../protocol/claim-map.ts';
import type { IdpIdentity } from './identity.ts';
import { guardStore } from './store-errors.ts';
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

function rowToUser(row: z.infer<typeof rowSchema>): UserRecord {
  return {
    userId: row.user_id,
    email: row.user_email,
    displayName: row.display_name,
    firstName: row.first_name,
    lastName: row.last_name,
    role: row.user_role,
    teams: z.array(z.string()).parse(JSON.parse(row.teams)),
    metadata: z.record(z.string(), z.unknown()).parse(JSON.parse(row.metadata)),
    createdAtMs: row.created_at_ms,
    updatedAtMs: row.updated_at_ms,
  };
}

export class SqliteUserStore implements UserStore {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
  }

  private migrate(): void {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)',
    );
    this.db
      .transaction(() => {
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
      })
      .immediate();
  }

  upsertLogin(identity: IdpIdentity, attribution: NestedMetadata, nowMs: number): Promise<UserRecord> {
    return guardStore(SQLITE_STORE_NAME, async () =>
      // IMMEDIATE: take the write lock before reading, so two logins of one user cannot interleave.
      this.db
        .transaction(() => {
          const user = applyLogin(this.read(identity.userId), identity, attribution, nowMs);
          this.db
            .prepare(
              `INSERT INTO users (user_id, user_email, display_name, first_name, last_name, user_role, teams, metadata,
                                  created_at_ms, updated_at_ms)
               VALUES (@userId, @email, @displayName, @firstName, @lastName, @role, @teams, @metadata, @createdAtMs, @updatedAtMs)
               ON CONFLICT (user_id) DO UPDATE SET
                 user_email = excluded.user_email, display_name = excluded.display_name,
                 first_name = excluded.first_name, last_name = excluded.last_name, user_role = excluded.user_role,
                 teams = excluded.teams, metadata = excluded.metadata, updated_at_ms = excluded.updated_at_ms`,
            )
            .run({ ...user, teams: JSON.stringify(user.teams), metadata: JSON.stringify(user.metadata) });
          return user;
        })
        .immediate(),
    );
  }

  get(userId: string): Promise<UserRecord | undefined> {
    return guardStore(SQLITE_STORE_NAME, async () => this.read(userId));
  }

  private read(userId: string): UserRecord | undefined {
    const row = this.db.prepare('SELECT * FROM users WHERE user_id = ?').get(userId);
    return row === undefined ? undefined : rowToUser(rowSchema.parse(row));
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
