/**
 * The gateway pool with real processes: a configuration is started once and reused; to make room
 * the configuration used by the fewest scenarios goes first, and a gateway the running scenario
 * holds is never stopped.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunningGateway } from './gateway.ts';
import { standInPool } from './test-support/stand-in-pool.ts';

const pool = standInPool("'ok'");

async function scenarioUsing(...configurations: string[]): Promise<RunningGateway[]> {
  pool().beginScenario();
  const gateways: RunningGateway[] = [];
  for (const name of configurations) gateways.push(await pool().acquire({ CONFIGURATION: name }));
  return gateways;
}

async function isServing(gateway: RunningGateway): Promise<boolean> {
  return fetch(gateway.url).then(
    (response) => response.ok,
    () => false,
  );
}

test('a configuration is started once and reused by later scenarios', async () => {
  const [first] = await scenarioUsing('default');
  const [again] = await scenarioUsing('default');
  assert.equal(again, first);
  assert.ok(first && (await isServing(first)));
});

test('the configuration used by the fewest scenarios is stopped first, not the least recent', async () => {
  const [popular] = await scenarioUsing('default'); // used by three scenarios by now
  const [once] = await scenarioUsing('used-once');
  // Full (2 of 2): "default" is the least recently used, "used-once" the least used.
  const [other] = await scenarioUsing('another');
  assert.ok(popular && once && other);
  assert.equal(await isServing(once), false, 'the configuration used once was stopped');
  assert.equal(await isServing(popular), true, 'the configuration most scenarios use kept running');
  const [popularAgain] = await scenarioUsing('default');
  assert.equal(popularAgain, popular);
});

test('a gateway the running scenario holds is not stopped to make room', async () => {
  const [mine, second, third] = await scenarioUsing('mine-1', 'mine-2', 'mine-3');
  assert.ok(mine && second && third);
  for (const gateway of [mine, second, third]) assert.equal(await isServing(gateway), true);
});
