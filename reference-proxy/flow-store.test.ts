/**
 * The flow store contract (flow-store.ts), run against the in-memory store and, when redis-server
 * is installed, the Redis store: TTL reset on every write, expiry by the injected clock, atomic
 * read-decide-write under concurrency, and watchers woken by writes and deletes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../common/clock.ts';
import { silentLogger } from '../common/logger.ts';
import { type Flow, type FlowStore, MemoryFlowStore } from './flow-store.ts';
import { RedisFlowStore } from './redis-flow-store.ts';
import { eventually } from './test-support/proxy-under-test.ts';
import { type RedisServer, redisSkipReason, startRedis } from './test-support/services.ts';

const T0 = Date.UTC(2026, 3, 1);

function newFlow(loginId: string): Omit<Flow, 'expiresAtMs' | 'version'> {
  return {
    loginId,
    status: 'pending',
    pollSecretHash: 'a'.repeat(64),
    userCodeHash: 'b'.repeat(64),
    browserTokenHash: null,
    pkceVerifier: null,
    failedCodeAttempts: 0,
    session: null,
    createdAtMs: T0,
  };
}

function contract(name: string, open: (clock: ManualClock) => Promise<FlowStore>, skip?: string) {
  describe(name, { skip }, () => {
    let clock: ManualClock;
    let store: FlowStore;
    before(async () => {
      clock = new ManualClock(T0);
      store = await open(clock);
    });
    after(() => store?.close());

    test('a new flow has version 1 and lives 600 s', async () => {
      const created = await store.create(newFlow('cli-contract-ttl-000001'));
      assert.equal(created.version, 1);
      assert.equal(created.expiresAtMs, clock.nowMs() + 600_000);
      assert.deepEqual(await store.get('cli-contract-ttl-000001'), created);
      clock.advanceSeconds(599);
      assert.ok(await store.get('cli-contract-ttl-000001'));
      clock.advanceSeconds(1);
      assert.equal(await store.get('cli-contract-ttl-000001'), undefined);
    });

    test('every write bumps the version and resets the TTL; keep writes nothing', async () => {
      const id = 'cli-contract-write-00001';
      await store.create(newFlow(id));
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

    test('concurrent read-decide-write loses no update', async () => {
      const id = 'cli-contract-concurrent-01';
      await store.create(newFlow(id));
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
      await store.create(newFlow(id));
      await store.create(newFlow('cli-contract-watch-other'));
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
contract(
  'RedisFlowStore',
  async (clock) => {
    redis = await startRedis();
    return RedisFlowStore.open(redis.url, clock, silentLogger);
  },
  redisSkip,
);
after(() => redis?.destroy());

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
