/**
 * The flow store contract (flow-store.ts), run against the in-memory store and, when redis-server
 * is installed, the Redis store: the lifetime rule (600 s, 600 s again from the IdP callback, never
 * more than 1200 s), expiry by the injected clock, atomic read-decide-write under concurrency, and
 * watchers woken by writes and deletes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { ManualClock } from '../common/clock.ts';
import { silentLogger } from '../common/logger.ts';
import { type Flow, type FlowStore, MemoryFlowStore } from './flow-store.ts';
import { RedisFlowStore } from './redis-flow-store.ts';
import { eventually } from './test-support/proxy-under-test.ts';
import { type RedisServer, redisSkipReason, startRedis } from './test-support/services.ts';

const T0 = Date.UTC(2026, 3, 1);

function newFlow(loginId: string, createdAtMs = T0): Omit<Flow, 'expiresAtMs' | 'version'> {
  return {
    loginId,
    status: 'pending',
    pollSecretHash: 'a'.repeat(64),
    userCodeHash: 'b'.repeat(64),
    browserTokenHash: null,
    pkceVerifier: null,
    failedCodeAttempts: 0,
    session: null,
    createdAtMs,
  };
}

/** How long the store itself still keeps a flow (Redis' PTTL), when the store has such a thing. */
type StoredTtlMs = (loginId: string) => Promise<number>;

function contract(
  name: string,
  open: (clock: ManualClock) => Promise<FlowStore>,
  skip?: string,
  storedTtlMs?: () => StoredTtlMs,
) {
  describe(name, { skip }, () => {
    let clock: ManualClock;
    let store: FlowStore;
    before(async () => {
      clock = new ManualClock(T0);
      store = await open(clock);
    });
    after(() => store?.close());

    test('a new flow has version 1 and lives 600 s', async () => {
      const created = await store.create(newFlow('cli-contract-ttl-000001', clock.nowMs()));
      assert.equal(created.version, 1);
      assert.equal(created.expiresAtMs, clock.nowMs() + 600_000);
      assert.deepEqual(await store.get('cli-contract-ttl-000001'), created);
      clock.advanceSeconds(599);
      assert.ok(await store.get('cli-contract-ttl-000001'));
      clock.advanceSeconds(1);
      assert.equal(await store.get('cli-contract-ttl-000001'), undefined);
    });

    test('markOnce: of two calls (even racing) exactly one records a name; isMarked sees it', async () => {
      assert.equal(await store.isMarked('code:contract-1'), false);
      const raced = await Promise.all([
        store.markOnce('code:contract-1', 60_000),
        store.markOnce('code:contract-1', 60_000),
      ]);
      assert.deepEqual(raced.sort(), [false, true]);
      assert.equal(await store.isMarked('code:contract-1'), true);
      assert.equal(await store.isMarked('code:contract-2'), false);
    });

    test('every write bumps the version; the IdP callback gives 600 s again; keep writes nothing', async () => {
      const id = 'cli-contract-write-00001';
      await store.create(newFlow(id, clock.nowMs()));
      clock.advanceSeconds(500);
      const kept = await store.update(id, (flow) => ({ keep: true, result: flow?.version }));
      assert.equal(kept, 1);
      await store.update(id, (flow) => ({ write: { ...flow!, status: 'sso_complete' as const }, result: undefined }));
      clock.advanceSeconds(500);
      const flow = await store.get(id);
      assert.equal(flow?.version, 2);
      assert.equal(flow?.status, 'sso_complete');
      assert.equal(await store.update(id, () => ({ delete: true, result: 'deleted' })), 'deleted');
      assert.equal(await store.get(id), undefined);
      assert.equal(await store.update(id, (gone) => ({ keep: true, result: gone })), undefined);
    });

    test('other writes never move the end: a pending flow still ends 600 s after its start', async () => {
      const id = 'cli-contract-stretch-0001';
      const created = await store.create(newFlow(id, clock.nowMs()));
      // What a visit to the browser link writes (a PKCE verifier), every 5 minutes, then a wrong code.
      for (const seconds of [300, 290]) {
        clock.advanceSeconds(seconds);
        await store.update(id, (flow) => ({ write: { ...flow!, pkceVerifier: `v-${seconds}` }, result: 0 }));
        assert.equal((await store.get(id))?.expiresAtMs, created.expiresAtMs);
      }
      if (storedTtlMs) assert.ok((await storedTtlMs()(id)) <= 10_000, 'the store keeps the flow past its end');
      clock.advanceSeconds(10);
      assert.equal(await store.get(id), undefined, 'a pending flow outlived its 600 s');
    });

    test('a signed-in flow ends 600 s after the callback, whatever is written after it', async () => {
      const id = 'cli-contract-stretch-0002';
      await store.create(newFlow(id, clock.nowMs()));
      clock.advanceSeconds(590);
      const signIn = (flow: Flow | undefined) => ({ write: { ...flow!, status: 'sso_complete' as const }, result: 0 });
      await store.update(id, signIn);
      const endsAt = clock.nowMs() + 600_000;
      // A second sign-in, wrong codes, the confirmation: none of them moves the end again.
      for (const write of [
        signIn,
        (flow: Flow | undefined) => ({ write: { ...flow!, failedCodeAttempts: 1 }, result: 0 }),
        (flow: Flow | undefined) => ({ write: { ...flow!, status: 'user_code_verified' as const }, result: 0 }),
      ]) {
        clock.advanceSeconds(199);
        await store.update(id, write);
        assert.equal((await store.get(id))?.expiresAtMs, endsAt);
      }
      clock.advanceSeconds(3);
      assert.equal(await store.get(id), undefined, 'a flow outlived 600 s after its IdP callback');
    });

    test('no flow outlives 1200 s from its start, even one created with a later clock', async () => {
      const id = 'cli-contract-stretch-0003';
      const startedAt = clock.nowMs();
      await store.create(newFlow(id, startedAt - 700_000));
      assert.equal((await store.get(id))?.expiresAtMs, startedAt + 500_000);
      await store.update(id, (flow) => ({ write: { ...flow!, status: 'sso_complete' as const }, result: 0 }));
      assert.equal((await store.get(id))?.expiresAtMs, startedAt + 500_000);
    });

    test('concurrent read-decide-write loses no update', async () => {
      const id = 'cli-contract-concurrent-01';
      await store.create(newFlow(id, clock.nowMs()));
      await Promise.all(
        Array.from({ length: 10 }, () =>
          store.update(id, (flow) => ({
            write: { ...flow!, failedCodeAttempts: flow!.failedCodeAttempts + 1 },
            result: 0,
          })),
        ),
      );
      assert.equal((await store.get(id))?.failedCodeAttempts, 10);
    });

    test('a watch wakes on a write or delete of its flow, not of another', async () => {
      const id = 'cli-contract-watch-00001';
      await store.create(newFlow(id, clock.nowMs()));
      await store.create(newFlow('cli-contract-watch-other', clock.nowMs()));
      const watch = store.watch(id);
      let woken = false;
      void watch.changed.then(() => {
        woken = true;
      });
      await store.update('cli-contract-watch-other', (flow) => ({ write: flow!, result: 0 }));
      await store.get(id); // a round trip, so a wrongly routed wake-up would have arrived
      assert.equal(woken, false);
      await store.update(id, () => ({ delete: true, result: 0 }));
      await watch.changed;
      watch.stop();
    });
  });
}

contract('MemoryFlowStore', async (clock) => new MemoryFlowStore(clock));

let redis: RedisServer | undefined;
const redisSkip = redisSkipReason({ path: process.env['PATH'] ?? '', uid: process.getuid?.() });
if (redisSkip) console.log(`# RedisFlowStore contract skipped: ${redisSkip}`);
let inspector: Redis | undefined;
contract(
  'RedisFlowStore',
  async (clock) => {
    redis = await startRedis();
    return RedisFlowStore.open(redis.url, clock, silentLogger);
  },
  redisSkip,
  () => {
    inspector ??= new Redis(redis?.url ?? '');
    const client = inspector;
    return (loginId) => client.pttl(`cli-sso:flow:${loginId}`);
  },
);
after(async () => {
  inspector?.disconnect();
  await redis?.destroy();
});

test('Redis down at start-up: once it is up, flows are stored and watches wake across stores', {
  skip: redisSkip,
}, async () => {
  const server = await startRedis();
  await server.stop();
  const clock = new ManualClock(T0);
  const [a, b] = await Promise.all([
    RedisFlowStore.open(server.url, clock, silentLogger),
    RedisFlowStore.open(server.url, clock, silentLogger),
  ]);
  try {
    await assert.rejects(a.create(newFlow('cli-late-redis-0000001')), /login session store \(Redis\) is unavailable/);
    await server.start();
    await eventually('a flow stored once Redis is up', () => a.create(newFlow('cli-late-redis-0000001')), Boolean);
    // The subscription is made when the subscriber connects; keep writing until a watch wakes.
    const woken = await eventually(
      'a watch on A woken by a write on B',
      async () => {
        const watch = a.watch('cli-late-redis-0000001');
        await b.update('cli-late-redis-0000001', (flow) => ({ write: flow!, result: 0 }));
        const result = await Promise.race([watch.changed.then(() => true), delay(200).then(() => false)]);
        watch.stop();
        return result;
      },
      Boolean,
    );
    assert.equal(woken, true);
  } finally {
    await a.close();
    await b.close();
    await server.destroy();
  }
});

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

test('memory store: a markOnce name ends with its lifetime, on the injected clock', async () => {
  const clock = new ManualClock(T0);
  const store = new MemoryFlowStore(clock);
  assert.equal(await store.markOnce('refresh:a', 10_000), true);
  clock.advanceSeconds(9);
  assert.equal(await store.isMarked('refresh:a'), true);
  assert.equal(await store.markOnce('refresh:a', 10_000), false);
  clock.advanceSeconds(1);
  assert.equal(await store.isMarked('refresh:a'), false);
  assert.equal(await store.markOnce('refresh:a', 10_000), true);
  // Many names later the ended ones are swept, and live ones stay.
  for (let i = 0; i < 2000; i++) await store.markOnce(`n:${i}`, i < 1000 ? 1000 : 60_000);
  clock.advanceSeconds(2);
  for (let i = 0; i < 2000; i++) await store.markOnce(`m:${i}`, 60_000);
  assert.equal(await store.isMarked('n:1999'), true);
  assert.equal(await store.isMarked('n:0'), false);
  await store.close();
});
