/**
 * The SQLite user store on whichever driver this Node.js gives it: node:sqlite where the runtime
 * has it without a flag (22.13+, 23.4+, 24), else better-sqlite3. The same rows, merges and
 * restarts on both; .ci/run runs this file under Node 20 and Node 24.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { IdpIdentity } from './identity.ts';
import { SqliteUserStore } from './sqlite-user-store.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sqlite-user-store-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function identity(overrides: Partial<IdpIdentity>): IdpIdentity {
  return {
    userId: 'alice',
    email: 'alice@example.com',
    emailNotUsed: null,
    displayName: 'Alice',
    firstName: 'Alice',
    lastName: 'Liddell',
    role: null,
    teams: [],
    ...overrides,
  };
}

test('current Node.js needs no native module: node:sqlite from 22.13 / 23.4 on, better-sqlite3 before', () => {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  const builtIn = major >= 24 || (major === 23 && minor >= 4) || (major === 22 && minor >= 13);
  const store = new SqliteUserStore(':memory:');
  try {
    assert.equal(store.driver, builtIn ? 'node:sqlite' : 'better-sqlite3');
  } finally {
    void store.close();
  }
});

test('a second login merges into the stored row; the row survives a restart on the same file', async () => {
  const path = join(dir, 'users.sqlite');
  const first = new SqliteUserStore(path);
  await first.upsertLogin(identity({ teams: ['team-a'] }), { cost_center: 'cc-1' }, 1_000);
  const merged = await first.upsertLogin(
    identity({ email: 'alice@new.example.com', teams: ['team-b'] }),
    { region: 'eu' },
    2_000,
  );
  await first.close();
  // Opening again runs the migrations' check, not the migrations (CREATE TABLE users would fail).
  const again = new SqliteUserStore(path);
  try {
    const stored = await again.get('alice');
    assert.deepEqual(stored, merged);
    assert.equal(stored?.email, 'alice@new.example.com');
    assert.deepEqual(stored?.teams, ['team-a', 'team-b']);
    assert.deepEqual(stored?.metadata, { cost_center: 'cc-1', region: 'eu' });
    assert.equal(stored?.createdAtMs, 1_000);
    assert.equal(stored?.updatedAtMs, 2_000);
    assert.equal(await again.get('bob'), undefined);
  } finally {
    await again.close();
  }
});
