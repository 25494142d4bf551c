/**
 * Replicas sharing Redis (flows, start limit, long-poll wake-ups) and PostgreSQL (users) behave as
 * one gateway (CLISSO-POLL-07, CLISSO-STORE-03), and an unreachable store answers 503, never 500, and works again
 * once it is back. Real redis-server and a throwaway PostgreSQL cluster, started here on free ports.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { CLI_SESSION_PATHS } from '../protocol/cli-sessions.ts';
import { CLI_SSO_PATHS, parsePollAnswer } from '../protocol/cli-sso.ts';
import { sessionIdOf } from './cli-sessions.ts';
import { proxyEnv, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_MASTER_KEY } from './test-support/proxy-env.ts';
import {
  eventually,
  getJson,
  type ProxyUnderTest,
  poll,
  postCode,
  startLogin,
  startProxyForTest,
} from './test-support/proxy-under-test.ts';
import { type RecordingIdp, startRecordingIdp } from './test-support/recording-idp.ts';
import {
  type PostgresCluster,
  postgresSkipReason,
  type RedisServer,
  redisSkipReason,
  startPostgres,
  startRedis,
} from './test-support/services.ts';

const host = { path: process.env['PATH'] ?? '', uid: process.getuid?.() };
const skip = redisSkipReason(host) ?? postgresSkipReason(host);
if (skip) console.log(`# replicas.test.ts skipped: ${skip}`);

/** What a load balancer in front of the replicas would be called; only used as the redirect URI. */
const GATEWAY = 'http://gateway.test';

describe('replicas sharing Redis and PostgreSQL', { skip }, () => {
  let redis: RedisServer;
  let postgres: PostgresCluster;
  let idp: RecordingIdp;
  let a: ProxyUnderTest;
  let b: ProxyUnderTest;

  before(async () => {
    [redis, postgres, idp] = await Promise.all([
      startRedis(),
      startPostgres(),
      startRecordingIdp({
        clientId: TEST_CLIENT_ID,
        clientSecret: TEST_CLIENT_SECRET,
        userinfo: { preferred_username: 'rita', email: 'rita@example.com', cc: '42', teams: ['t1'] },
      }),
    ]);
    const env = proxyEnv(idp.endpoints, {
      REDIS_URL: redis.url,
      DATABASE_URL: postgres.url,
      PROXY_BASE_URL: GATEWAY,
      CLI_SSO_CLAIM_MAP: 'cc->org.cost_center',
      GENERIC_USER_EXTRA_ATTRIBUTES: 'cc',
    });
    // Started together: the migration runs once under PostgreSQL's advisory lock.
    [a, b] = await Promise.all([startProxyForTest(env), startProxyForTest(env)]);
  });

  after(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await Promise.allSettled([redis?.destroy(), postgres?.destroy(), idp?.close()]);
  });

  /** The browser's IdP round trip by hand, so each hop can go to the replica the test chooses. */
  async function callbackQueryVia(entry: ProxyUnderTest, loginId: string): Promise<string> {
    const generate = await fetch(`${entry.url}/sso/key/generate?source=litellm-cli&key=${loginId}`, {
      redirect: 'manual',
    });
    assert.equal(generate.status, 303);
    const authorize = await fetch(generate.headers.get('location') ?? '', { redirect: 'manual' });
    const back = new URL(authorize.headers.get('location') ?? '');
    assert.equal(`${back.origin}${back.pathname}`, `${GATEWAY}/sso/callback`);
    return back.search;
  }

  async function formVia(replica: ProxyUnderTest, query: string): Promise<string> {
    const page = await fetch(`${replica.url}/sso/callback${query}`);
    const html = await page.text();
    assert.equal(page.status, 200, html);
    return /name="browser_complete_token" value="([^"]+)"/.exec(html)?.[1] ?? '';
  }

  test('started on A, called back on B, completed on A, polled on B', async () => {
    const start = await startLogin(a.url);
    const query = await callbackQueryVia(a, start.loginId);
    const token = await formVia(b, query);
    const done = await postCode(`${a.url}${CLI_SSO_PATHS.complete(start.loginId)}`, {
      user_code: start.userCode,
      browser_complete_token: token,
    });
    assert.equal(done.status, 200);
    const ready = parsePollAnswer((await poll(b.url, start)).body);
    assert.equal(ready.status, 'ready');
    if (ready.status !== 'ready') return;
    assert.deepEqual(ready.attributionMetadata, { 'org.cost_center': '42' });
    assert.equal(ready.teamId, 't1');
    assert.equal((await poll(a.url, start)).status, 400, 'one time only, on every replica');
    assert.equal((await getJson(`${a.url}/models`, { authorization: `Bearer ${ready.key}` })).status, 200);
    const info = await getJson(`${a.url}/user/info?user_id=rita`, { authorization: `Bearer ${TEST_MASTER_KEY}` });
    // Stored as the IdP sent it under the default profile, litellm-v4 (CLISSO-CLAIMS-11).
    assert.deepEqual((info.body as { user_info: { metadata: unknown } }).user_info.metadata, {
      org: { cost_center: '42' },
    });
  });

  test('a long poll waiting on A wakes when the browser finishes on B (Redis pub/sub)', async () => {
    const start = await startLogin(a.url);
    const token = await formVia(b, await callbackQueryVia(b, start.loginId));
    const startedMs = performance.now();
    const held = poll(a.url, start, { prefer: 'wait=25' });
    const waiting = `"event":"poll_waiting","login_id":"${start.loginId}"`;
    await eventually('the poll to wait on A', async () => a.logLines.some((l) => l.includes(waiting)), Boolean);
    await postCode(`${b.url}${CLI_SSO_PATHS.complete(start.loginId)}`, {
      user_code: start.userCode,
      browser_complete_token: token,
    });
    const answer = await held;
    assert.equal(parsePollAnswer(answer.body).status, 'ready');
    assert.ok(performance.now() - startedMs < 10_000, 'woken by the change, not by the 25 s wait');
  });

  test('two replicas polling a verified flow at once: exactly one gets the key', async () => {
    const start = await startLogin(a.url);
    const token = await formVia(a, await callbackQueryVia(a, start.loginId));
    await postCode(`${b.url}${CLI_SSO_PATHS.complete(start.loginId)}`, {
      user_code: start.userCode,
      browser_complete_token: token,
    });
    const answers = await Promise.all([poll(a.url, start), poll(b.url, start), poll(a.url, start), poll(b.url, start)]);
    assert.deepEqual(answers.map((x) => x.status).sort(), [200, 400, 400, 400]);
  });

  test('Redis stopped: CLI SSO endpoints answer 503 with a detail; back again: logins work', async () => {
    const start = await startLogin(a.url);
    await redis.stop();
    try {
      const refused = [
        await fetch(`${a.url}${CLI_SSO_PATHS.start}`, { method: 'POST' }),
        await fetch(`${b.url}/sso/key/generate?source=litellm-cli&key=${start.loginId}`, { redirect: 'manual' }),
        await fetch(`${a.url}${CLI_SSO_PATHS.poll(start.loginId)}`, {
          headers: { 'x-litellm-cli-poll-secret': start.pollSecret },
        }),
        await fetch(`${b.url}${CLI_SSO_PATHS.complete(start.loginId)}`, { method: 'POST', body: 'user_code=x' }),
      ];
      for (const answer of refused) {
        assert.equal(answer.status, 503);
        assert.match(String(((await answer.json()) as { detail: unknown }).detail), /login session store \(Redis\)/);
      }
      assert.equal((await fetch(`${a.url}/health/liveliness`)).status, 200, 'the process itself is alive');
    } finally {
      await redis.start();
    }
    const again = await eventually(
      'a start after Redis is back',
      () => fetch(`${b.url}${CLI_SSO_PATHS.start}`, { method: 'POST' }).then((r) => r.status),
      (status) => status === 200,
    );
    assert.equal(again, 200);
    const next = await startLogin(a.url);
    const token = await formVia(b, await callbackQueryVia(a, next.loginId));
    await postCode(`${a.url}${CLI_SSO_PATHS.complete(next.loginId)}`, {
      user_code: next.userCode,
      browser_complete_token: token,
    });
    assert.equal(parsePollAnswer((await poll(b.url, next)).body).status, 'ready');
    assert.ok(a.logLines.some((l) => l.includes('"event":"store_unavailable"')));
  });

  test('PostgreSQL stopped: the callback and /user/info answer 503; back again: they work', async () => {
    const start = await startLogin(a.url);
    const query = await callbackQueryVia(a, start.loginId);
    await postgres.stop();
    try {
      const callback = await fetch(`${b.url}/sso/callback${query}`);
      assert.equal(callback.status, 503);
      assert.match(String(((await callback.json()) as { detail: unknown }).detail), /user database \(PostgreSQL\)/);
      const info = await getJson(`${a.url}/user/info?user_id=rita`, { authorization: `Bearer ${TEST_MASTER_KEY}` });
      assert.equal(info.status, 503);
      assert.deepEqual((await poll(a.url, start)).body, { status: 'pending' }, 'the flow is not lost');
    } finally {
      await postgres.start();
    }
    const info = await eventually(
      '/user/info after PostgreSQL is back',
      () => getJson(`${a.url}/user/info?user_id=rita`, { authorization: `Bearer ${TEST_MASTER_KEY}` }),
      (answer) => answer.status === 200,
    );
    assert.equal(info.status, 200);
    // The same flow can finish with a fresh IdP round trip.
    const token = await formVia(b, await callbackQueryVia(b, start.loginId));
    await postCode(`${a.url}${CLI_SSO_PATHS.complete(start.loginId)}`, {
      user_code: start.userCode,
      browser_complete_token: token,
    });
    assert.equal(parsePollAnswer((await poll(b.url, start)).body).status, 'ready');
  });

  /** A whole classic login through A, to the key. */
  async function loginKeyVia(replica: ProxyUnderTest): Promise<string> {
    const start = await startLogin(replica.url);
    const token = await formVia(replica, await callbackQueryVia(replica, start.loginId));
    await postCode(`${replica.url}${CLI_SSO_PATHS.complete(start.loginId)}`, {
      user_code: start.userCode,
      browser_complete_token: token,
    });
    const ready = parsePollAnswer((await poll(replica.url, start)).body);
    assert.equal(ready.status, 'ready');
    return ready.status === 'ready' ? ready.key : '';
  }

  test('a session revoked on A: its key is refused at once on A and within 5 s on B (CLISSO-REGISTRY-06)', async () => {
    const key = await loginKeyVia(a);
    const bearer = { authorization: `Bearer ${key}` };
    // B has seen the key, and remembers it as not revoked.
    assert.equal((await getJson(`${b.url}/v1/models`, bearer)).status, 200);
    const listed = await getJson(`${b.url}${CLI_SESSION_PATHS.list}`, { authorization: `Bearer ${TEST_MASTER_KEY}` });
    const sessionId = sessionIdOf(String(decodeJwt(key)['sid']));
    assert.ok((listed.body as { sessions: { session_id: string }[] }).sessions.some((s) => s.session_id === sessionId));
    const revoked = await fetch(`${a.url}${CLI_SESSION_PATHS.revoke(sessionId)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_MASTER_KEY}` },
    });
    assert.equal(revoked.status, 200);
    const revokedAtMs = performance.now();
    assert.equal((await getJson(`${a.url}/v1/models`, bearer)).status, 401, 'at once on the revoking replica');
    await eventually(
      'the key refused on B',
      () => getJson(`${b.url}/v1/models`, bearer),
      (answer) => answer.status === 401,
      5000,
    );
    assert.ok(performance.now() - revokedAtMs < 5000);
  });

  test('PostgreSQL stopped when the key would go out: 503 and no key; back again: the same login gets it', async () => {
    const start = await startLogin(a.url);
    const token = await formVia(a, await callbackQueryVia(a, start.loginId));
    await postCode(`${a.url}${CLI_SSO_PATHS.complete(start.loginId)}`, {
      user_code: start.userCode,
      browser_complete_token: token,
    });
    await postgres.stop();
    try {
      const refused = await poll(b.url, start);
      assert.equal(refused.status, 503);
      assert.ok(!JSON.stringify(refused.body).includes('"key"'), 'no key without its session recorded');
    } finally {
      await postgres.start();
    }
    const ready = await eventually(
      'the key once PostgreSQL is back',
      () => poll(a.url, start),
      (answer) => answer.status === 200,
    );
    const key = String((ready.body as { key: unknown }).key);
    assert.equal((await getJson(`${b.url}/v1/models`, { authorization: `Bearer ${key}` })).status, 200);
  });

  test('the start limit is shared: 30 starts over both replicas, the 31st is 429 on either', async () => {
    // Earlier tests in this file started flows from this IP too, so count what is left of the 30:
    // with a limit per replica instead of a shared one, alternating would pass 40 starts.
    let allowed = 0;
    for (let i = 0; i < 40; i++) {
      const replica = i % 2 === 0 ? a : b;
      const answer = await fetch(`${replica.url}${CLI_SSO_PATHS.start}`, { method: 'POST' });
      if (answer.status === 429) break;
      assert.equal(answer.status, 200);
      allowed++;
    }
    assert.ok(allowed <= 30, `${allowed} starts were allowed over both replicas`);
    for (const replica of [a, b]) {
      const refused = await fetch(`${replica.url}${CLI_SSO_PATHS.start}`, { method: 'POST' });
      assert.equal(refused.status, 429);
      // When the oldest start of the shared window leaves it (CLISSO-START-09): within the 60 s.
      const retryAfter = Number(refused.headers.get('retry-after'));
      assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    }
  });
});
