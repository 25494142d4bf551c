/**
 * Test support: the harness's gateway pool over a stand-in gateway, a one-line node:http server
 * started as a real process on the port the pool gives it. For the tests of the pool and of what
 * is built on it; registers its own clean-up with node:test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before } from 'node:test';
import { GatewayPool } from '../gateway.ts';

/**
 * A pool of at most two stand-in gateways, each answering every request with `answer` (a
 * JavaScript expression, evaluated in the gateway per request: `'ok'`, `String(process.env.X)`).
 * The returned getter is valid from the first test on.
 */
export function standInPool(answer: string): () => GatewayPool {
  const server = `require('node:http').createServer((q, s) => s.end(${answer})).listen(Number(process.env.PORT), '127.0.0.1')`;
  let workDir = '';
  let pool: GatewayPool | undefined;
  before(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'stand-in-pool-'));
    pool = new GatewayPool({
      target: { kind: 'command', command: `"${process.execPath}" -e "${server}"`, label: 'stand-in' },
      workDir,
      baseEnv: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin` },
      models: [],
      faketimeLibrary: undefined,
      startTimeoutMs: 10_000,
      maxAlive: 2,
      log: () => undefined,
    });
  });
  after(async () => {
    await pool?.stopAll();
    await rm(workDir, { recursive: true, force: true });
  });
  return () => {
    if (!pool) throw new Error('the stand-in pool is made before the first test');
    return pool;
  };
}
