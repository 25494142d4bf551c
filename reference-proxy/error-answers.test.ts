/**
 * A bug is a logged 500, a store that cannot be reached a 503 with Retry-After (CLISSO-STORE-02),
 * over real HTTP against a real in-process gateway. The bugs are planted in the gateway's own code
 * paths (a store call, a route's flow decision): they must not pass for an outage.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../common/clock.ts';
import { freePort, listen, type RunningServer } from '../common/http-server.ts';
import { CLI_SSO_PATHS, joinUrl, POLL_SECRET_HEADER } from '../protocol/cli-sso.ts';
import { createProxyApp } from './app.ts';
import { loadProxyConfig } from './config.ts';
import { type Flow, type LoginSession, MemoryFlowStore } from './flow-store.ts';
import { isPostgresOutage } from './postgres-user-store.ts';
import { isRedisOutage } from './redis-flow-store.ts';
import { newLoginId, sha256Hex } from './secrets.ts';
import { isSqliteOutage, SqliteUserStore } from './sqlite-user-store.ts';
import { testProxyContext } from './test-support/proxy-context.ts';
import { proxyEnv, TEST_MASTER_KEY } from './test-support/proxy-env.ts';
import { getJson, type ProxyUnderTest, startProxyForTest } from './test-support/proxy-under-test.ts';

/** The IdP is never reached by these tests. */
const NO_IDP = {
  authorization: 'http://127.0.0.1:9/authorize',
  token: 'http://127.0.0.1:9/token',
  userinfo: 'http://127.0.0.1:9/userinfo',
};

/**
 * A store with a programming error inside one of its calls: it reads a field of a flow it never
 * found (a TypeError), as a careless edit of a store would.
 */
class StoreWithABug extends MemoryFlowStore {
  override async create(flow: Omit<Flow, 'expiresAtMs' | 'version'>): Promise<Flow> {
    const previous = (await this.get(flow.loginId)) as Flow;
    return { ...flow, expiresAtMs: previous.expiresAtMs, version: 1 };
  }
}

interface GatewayWithBug {
  server: RunningServer;
  flows: StoreWithABug;
  logLines: string[];
}

/** The gateway's app over real HTTP, on the planted store. */
async function gatewayWithBug(): Promise<GatewayWithBug> {
  const config = loadProxyConfig(proxyEnv(NO_IDP), { host: '127.0.0.1', port: 0 });
  const logLines: string[] = [];
  const flows = new StoreWithABug(systemClock);
  const app = createProxyApp(testProxyContext(config, { logLines, flows }));
  return { server: await listen(app, '127.0.0.1', 0), flows, logLines };
}

function assertLoggedBug(logLines: string[], what: RegExp): void {
  const line = logLines.find((l) => l.includes('"event":"unexpected_error"'));
  assert.ok(line, `no unexpected_error line in the log:\n${logLines.join('')}`);
  assert.match(line, what);
  assert.ok(!logLines.some((l) => l.includes('"event":"store_unavailable"')), 'a bug was logged as an outage');
}

describe('a bug is a logged 500, not an outage', () => {
  let gateway: GatewayWithBug;
  before(async () => {
    gateway = await gatewayWithBug();
  });
  after(() => gateway.server.close());

  test('a TypeError inside a store call: 500 with nothing internal in the answer', async () => {
    const answer = await fetch(joinUrl(gateway.server.url, CLI_SSO_PATHS.start), { method: 'POST' });
    const text = await answer.text();
    assert.equal(answer.status, 500, text);
    assert.equal(text, '{"detail":"Internal server error"}');
    assert.equal(answer.headers.get('retry-after'), null);
    assertLoggedBug(gateway.logLines, /TypeError: Cannot read properties of undefined \(reading 'expiresAtMs'\)/);
  });

  test("a TypeError in a route's flow decision, run inside the store's update: 500", async () => {
    gateway.logLines.length = 0;
    const loginId = newLoginId();
    const pollSecret = 'poll-secret-of-a-flow-written-without-its-teams';
    // A flow as a faulty write could leave it: verified, its session without the teams list.
    await MemoryFlowStore.prototype.create.call(gateway.flows, {
      loginId,
      status: 'user_code_verified',
      pollSecretHash: sha256Hex(pollSecret),
      userCodeHash: sha256Hex('ABCDEFGH'),
      browserTokenHash: null,
      pkceVerifier: null,
      failedCodeAttempts: 0,
      session: { userId: 'alice' } as LoginSession,
      createdAtMs: Date.now(),
    });
    const answer = await fetch(joinUrl(gateway.server.url, CLI_SSO_PATHS.poll(loginId)), {
      headers: { [POLL_SECRET_HEADER]: pollSecret },
    });
    const text = await answer.text();
    assert.equal(answer.status, 500, text);
    assert.equal(text, '{"detail":"Internal server error"}');
    assertLoggedBug(gateway.logLines, /TypeError: Cannot read properties of undefined \(reading 'length'\)/);
  });
});

describe('a store that cannot be reached is 503 with Retry-After', () => {
  const gateways: ProxyUnderTest[] = [];
  after(() => Promise.all(gateways.map((g) => g.close())));

  async function assertUnavailable(
    gateway: ProxyUnderTest,
    answer: { status: number; headers: Headers; body: unknown },
    store: string,
  ): Promise<void> {
    assert.equal(answer.status, 503, JSON.stringify(answer.body));
    assert.equal(answer.headers.get('retry-after'), '5');
    assert.deepEqual(answer.body, {
      detail: `Service temporarily unavailable: the ${store} cannot be reached. Try again shortly.`,
    });
    assert.ok(gateway.logLines.some((l) => l.includes('"event":"store_unavailable"')));
    assert.ok(!gateway.logLines.some((l) => l.includes('"event":"unexpected_error"')));
  }

  test('Redis refusing connections: the start, the browser link and the poll answer 503', async () => {
    const gateway = await startProxyForTest(proxyEnv(NO_IDP, { REDIS_URL: `redis://127.0.0.1:${await freePort()}` }));
    gateways.push(gateway);
    const loginId = newLoginId();
    const start = await fetch(joinUrl(gateway.url, CLI_SSO_PATHS.start), { method: 'POST' });
    await assertUnavailable(
      gateway,
      { status: start.status, headers: start.headers, body: await start.json() },
      'login session store (Redis)',
    );
    for (const path of [
      `${CLI_SSO_PATHS.browserEntry}?source=litellm-cli&key=${loginId}`,
      CLI_SSO_PATHS.poll(loginId),
    ]) {
      await assertUnavailable(gateway, await getJson(joinUrl(gateway.url, path)), 'login session store (Redis)');
    }
  });

  test('PostgreSQL refusing connections: /user/info answers 503', async () => {
    const port = await freePort();
    const gateway = await startProxyForTest(
      proxyEnv(NO_IDP, { DATABASE_URL: `postgres://litellm:secret@127.0.0.1:${port}/litellm` }),
    );
    gateways.push(gateway);
    const answer = await getJson(joinUrl(gateway.url, `${CLI_SSO_PATHS.userInfo}?user_id=alice`), {
      authorization: `Bearer ${TEST_MASTER_KEY}`,
    });
    await assertUnavailable(gateway, answer, 'user database (PostgreSQL)');
  });
});

describe("each store tells its driver's failures from our bugs", () => {
  test('Redis and PostgreSQL: a TypeError or a reply to a wrong command is not an outage', () => {
    const typeError = new TypeError("Cannot read properties of undefined (reading 'x')");
    const scriptError = Object.assign(new Error('ERR Error running script: user_script:1: bad'), {
      name: 'ReplyError',
    });
    const loading = Object.assign(new Error('LOADING Redis is loading the dataset in memory'), { name: 'ReplyError' });
    assert.equal(isRedisOutage(typeError), false);
    assert.equal(isRedisOutage(scriptError), false);
    assert.equal(isRedisOutage(loading), true);
    assert.equal(isRedisOutage(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), true);
    assert.equal(isPostgresOutage(typeError), false);
    assert.equal(isPostgresOutage(new Error('Connection terminated unexpectedly')), true);
  });

  test('SQLite: a database locked by another writer is an outage, a statement we got wrong is not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'error-answers-'));
    const path = join(dir, 'users.sqlite');
    const store = new SqliteUserStore(':memory:');
    const open = sqliteDriver(store.driver);
    store.close();
    const holder = open(path);
    const other = open(path);
    try {
      holder.exec('CREATE TABLE t (x INTEGER)');
      holder.exec('BEGIN IMMEDIATE');
      other.exec('PRAGMA busy_timeout = 0');
      assert.equal(isSqliteOutage(thrownBy(() => other.exec('BEGIN IMMEDIATE'))), true);
      assert.equal(isSqliteOutage(thrownBy(() => other.exec('SELEC 1'))), false);
      assert.equal(isSqliteOutage(new TypeError('x is not a function')), false);
    } finally {
      holder.close();
      other.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

interface RawSqlite {
  exec(sql: string): unknown;
  close(): unknown;
}

/** A bare connection on the driver the store runs on, to provoke the driver's own errors. */
function sqliteDriver(driver: SqliteUserStore['driver']): (path: string) => RawSqlite {
  const load = createRequire(import.meta.url);
  if (driver === 'node:sqlite') {
    const { DatabaseSync } = load('node:sqlite') as { DatabaseSync: new (path: string) => RawSqlite };
    return (path) => new DatabaseSync(path);
  }
  const Database = load('better-sqlite3') as new (path: string) => RawSqlite;
  return (path) => new Database(path);
}

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  assert.fail('expected the driver to throw');
}
