/**
 * The store relay and the throwaway Redis with real processes: a write whose reply the relay
 * swallowed was carried out all the same, reads do not count as changes, the store stays down until
 * it recovers; and Redis run with appendonly/appendfsync always keeps an acknowledged write through
 * SIGKILL, while Redis without persistence loses it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { type RedisPersistence, RedisServer } from './redis-server.ts';
import { StoreRelay } from './store-relay.ts';

const REDIS_SERVER = '/usr/bin/redis-server';
const skip = existsSync(REDIS_SERVER) ? false : `needs ${REDIS_SERVER} (apt-get install -y redis-server)`;

let workDir = '';
before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'store-relay-'));
});
after(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** Connected like a gateway's client: no retries of a failed command, no queue while disconnected. */
async function client(url: string): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  await redis.connect();
  return redis;
}

describe('StoreRelay', { skip }, () => {
  test('fails the store right after the n-th write: that write is done, its reply lost, new connections cut until recover()', async () => {
    const redis = await RedisServer.start(REDIS_SERVER, workDir, {});
    const relay = await StoreRelay.start('127.0.0.1', redis.port);
    const direct = await client(redis.url);
    try {
      const gateway = await client(relay.url);
      await gateway.set('before', '1');
      const { failed } = await relay.failAfterChanges(2);
      // Reads and a first write pass; the second write is carried out and its reply swallowed.
      assert.equal(await gateway.get('before'), '1');
      await gateway.set('first', '1');
      await assert.rejects(gateway.set('second', '1'));
      await failed;
      assert.equal(relay.failed, 1);
      assert.equal(relay.down, true);
      assert.equal(await direct.get('second'), '1', 'the write whose reply was lost was carried out');
      gateway.disconnect();
      await assert.rejects(
        client(relay.url).then((meanwhile) => meanwhile.ping()),
        'a connection while the store is down is cut',
      );
      relay.recover();
      const again = await client(relay.url);
      assert.equal(await again.get('second'), '1');
      again.disconnect();
    } finally {
      direct.disconnect();
      await relay.close();
      await redis.stop();
    }
  });

  test('disarmed before the n-th write, nothing fails', async () => {
    const redis = await RedisServer.start(REDIS_SERVER, workDir, {});
    const relay = await StoreRelay.start('127.0.0.1', redis.port);
    try {
      const gateway = await client(relay.url);
      await relay.failAfterChanges(2);
      await gateway.set('only', '1');
      relay.disarm();
      await gateway.set('later', '1');
      assert.equal(relay.failed, 0);
      gateway.disconnect();
    } finally {
      await relay.close();
      await redis.stop();
    }
  });
});

describe('RedisServer.crashAndRestart', { skip }, () => {
  const cases: Array<[RedisPersistence, string | null]> = [
    ['aof-always', 'pending'],
    ['none', null],
  ];
  for (const [persistence, expected] of cases) {
    test(`persistence ${persistence}: an acknowledged write after SIGKILL is ${expected ? 'kept' : 'lost'}`, async () => {
      const redis = await RedisServer.start(REDIS_SERVER, workDir, {}, persistence);
      try {
        const before = await client(redis.url);
        await before.set('flow', 'pending');
        before.disconnect();
        await redis.crashAndRestart();
        const after = await client(redis.url);
        assert.equal(await after.get('flow'), expected);
        after.disconnect();
      } finally {
        await redis.stop();
      }
    });
  }
});
