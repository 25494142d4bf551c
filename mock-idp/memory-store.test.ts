/**
 * The provider's storage through the adapter interface oidc-provider uses: lookups by id, uid,
 * user code and grant, expiry by each entry's own lifetime (without anyone looking it up), and a
 * bound on how many entries are kept. A clock the test moves stands in for the real one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../common/clock.ts';
import { MemoryStore } from './memory-store.ts';

function storeWithClock(maxEntries?: number) {
  const clock = new ManualClock();
  const store = new MemoryStore({ now: () => clock.nowMs(), ...(maxEntries !== undefined ? { maxEntries } : {}) });
  return { clock, store, adapter: (model: string) => store.adapterFactory(model) };
}

test('entries are found by id, uid and user code, each model apart, and rewritten entries move their index', async () => {
  const { adapter } = storeWithClock();
  const sessions = adapter('Session');
  const interactions = adapter('Interaction');
  await sessions.upsert('s1', { uid: 'u1', accountId: 'alice' }, 60);
  await interactions.upsert('s1', { uid: 'u1', kind: 'Interaction' }, 60);
  await adapter('DeviceCode').upsert('d1', { userCode: 'ABCD-EFGH', grantId: 'g1' }, 60);

  assert.deepEqual(await sessions.find('s1'), { uid: 'u1', accountId: 'alice' });
  assert.deepEqual(await sessions.findByUid?.('u1'), { uid: 'u1', accountId: 'alice' });
  assert.deepEqual(await interactions.findByUid?.('u1'), { uid: 'u1', kind: 'Interaction' });
  assert.deepEqual(await adapter('DeviceCode').findByUserCode?.('ABCD-EFGH'), { userCode: 'ABCD-EFGH', grantId: 'g1' });
  assert.equal(await adapter('AccessToken').findByUid?.('u1'), undefined, 'another model');

  await sessions.upsert('s1', { uid: 'u2', accountId: 'alice' }, 60);
  assert.equal(await sessions.findByUid?.('u1'), undefined, 'the old uid no longer finds it');
  assert.deepEqual(await sessions.findByUid?.('u2'), { uid: 'u2', accountId: 'alice' });
  await sessions.destroy('s1');
  assert.equal(await sessions.findByUid?.('u2'), undefined);
  assert.equal(await sessions.find('s1'), undefined);
});

test("revoking a grant removes that grant's tokens of the model and nothing else", async () => {
  const { adapter } = storeWithClock();
  const refresh = adapter('RefreshToken');
  const access = adapter('AccessToken');
  await refresh.upsert('r1', { grantId: 'g1' }, 60);
  await refresh.upsert('r2', { grantId: 'g1' }, 60);
  await refresh.upsert('r3', { grantId: 'g2' }, 60);
  await access.upsert('a1', { grantId: 'g1' }, 60);
  await refresh.revokeByGrantId?.('g1');
  assert.equal(await refresh.find('r1'), undefined);
  assert.equal(await refresh.find('r2'), undefined);
  assert.deepEqual(await refresh.find('r3'), { grantId: 'g2' });
  assert.deepEqual(await access.find('a1'), { grantId: 'g1' }, 'revocation is per model; oidc-provider calls each');
});

test('entries expire at their own time, and leave the store even if no one looks them up again', async () => {
  const { clock, store, adapter } = storeWithClock();
  const codes = adapter('AuthorizationCode');
  const sessions = adapter('Session');
  await codes.upsert('c1', { grantId: 'g1' }, 60);
  await sessions.upsert('s1', { uid: 'u1' }, 3600);
  await adapter('Client').upsert('kept', { client_id: 'x' }, 0);
  clock.advanceSeconds(59);
  assert.deepEqual(await codes.find('c1'), { grantId: 'g1' });
  clock.advanceSeconds(1);
  assert.equal(await codes.find('c1'), undefined, 'expired at 60 s');
  assert.deepEqual(await sessions.findByUid?.('u1'), { uid: 'u1' });

  for (let i = 0; i < 100; i++) await codes.upsert(`burst-${i}`, {}, 60);
  assert.equal(store.size, 102);
  clock.advanceSeconds(61);
  await sessions.find('s1'); // any operation sweeps what expired since the last one
  assert.equal(store.size, 2, 'the 100 codes are gone, unvisited');
  clock.advanceSeconds(365 * 24 * 3600);
  assert.equal(await sessions.findByUid?.('u1'), undefined, 'after a long idle time too');
  assert.equal(store.size, 1, 'an entry without a lifetime stays');
});

test('past its bound the store drops the entries used longest ago, a read counting as a use', async () => {
  const { store, adapter } = storeWithClock(3);
  const sessions = adapter('Session');
  await sessions.upsert('s1', { uid: 'u1' }, 60);
  await sessions.upsert('s2', { uid: 'u2' }, 60);
  await sessions.upsert('s3', { uid: 'u3' }, 60);
  await sessions.upsert('s1', { uid: 'u1' }, 60); // written again: now the newest
  await sessions.upsert('s4', { uid: 'u4' }, 60);
  assert.equal(store.size, 3);
  assert.equal(await sessions.find('s2'), undefined, 'the oldest write went');
  assert.equal(await sessions.findByUid?.('u2'), undefined, 'with its index entry');
  for (const id of ['s1', 's3', 's4']) assert.ok(await sessions.find(id), id);
  // A grant that is only read (as a refresh reads it) stays while newer entries push others out.
  const grants = adapter('Grant');
  await grants.upsert('g1', { accountId: 'a' }, 60);
  for (const n of [5, 6, 7, 8]) {
    assert.ok(await grants.find('g1'), `the grant read before write ${n}`);
    await sessions.upsert(`s${n}`, { uid: `u${n}` }, 60);
  }
  assert.ok(await grants.find('g1'), 'the grant read all along is still there');
  assert.equal(store.size, 3);
});

test('clear empties the store and its indexes', async () => {
  const { store, adapter } = storeWithClock();
  await adapter('Session').upsert('s1', { uid: 'u1' }, 60);
  store.clear();
  assert.equal(store.size, 0);
  assert.equal(await adapter('Session').findByUid?.('u1'), undefined);
});
