/**
 * Admission control at the start of a login (admission.ts): a saturated replica refuses new starts
 * with 503 and Retry-After and stores nothing, while every later step of the logins it admitted goes
 * through. Over real HTTP against in-process proxies; a login started on one replica and finished on
 * another frees its slot on the first (real redis-server, skipped with the reason when missing).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CLI_SSO_PATHS, parsePollAnswer, type StartAnswer } from '../protocol/cli-sso.ts';
import { ConfigError, loadProxyConfig } from './config.ts';
import { proxyEnv, TEST_CLIENT_ID, TEST_CLIENT_SECRET } from './test-support/proxy-env.ts';
import {
  eventually,
  type JsonAnswer,
  loginUntilVerified,
  type ProxyUnderTest,
  poll,
  postCode,
  startProxyForTest,
} from './test-support/proxy-under-test.ts';
import { type RecordingIdp, startRecordingIdp } from './test-support/recording-idp.ts';
import { type RedisServer, redisSkipReason, startRedis } from './test-support/services.ts';

const USERINFO = { preferred_username: 'ada', email: 'ada@example.com' };

async function postStart(base: string): Promise<JsonAnswer> {
  const response = await fetch(`${base}${CLI_SSO_PATHS.start}`, { method: 'POST' });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as unknown };
}

function asStart(answer: JsonAnswer): Pick<StartAnswer, 'loginId' | 'pollSecret' | 'userCode'> {
  const body = answer.body as { login_id: string; poll_secret: string; user_code: string };
  return { loginId: body.login_id, pollSecret: body.poll_secret, userCode: body.user_code };
}

function assertRefusedOverloaded(answer: JsonAnswer, detail: RegExp): void {
  assert.equal(answer.status, 503, JSON.stringify(answer.body));
  assert.equal(answer.headers.get('retry-after'), '2');
  assert.equal(answer.headers.get('x-content-type-options'), 'nosniff');
  const text = (answer.body as { detail?: string }).detail ?? '';
  assert.match(text, detail);
  assert.match(text, /No login was started; try again in 2 s/);
}

describe('admission at the start of a login (one replica)', () => {
  let idp: RecordingIdp;
  const proxies: ProxyUnderTest[] = [];

  before(async () => {
    idp = await startRecordingIdp({ clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, userinfo: USERINFO });
  });
  after(async () => {
    await Promise.allSettled(proxies.map((p) => p.close()));
    await idp?.close();
  });

  async function proxyWith(extra: Record<string, string>): Promise<ProxyUnderTest> {
    const proxy = await startProxyForTest(proxyEnv(idp.endpoints, extra));
    proxies.push(proxy);
    return proxy;
  }

  test('beyond the bound of logins in flight a start gets 503 + Retry-After and nothing; admitted logins finish and free their slots', async () => {
    const proxy = await proxyWith({ CLI_SSO_MAX_LOGINS_IN_FLIGHT: '2' });
    const first = await loginUntilVerified(proxy.url);
    const second = await postStart(proxy.url);
    assert.equal(second.status, 200);

    const refused = await postStart(proxy.url);
    assertRefusedOverloaded(refused, /busy with 2 logins in progress \(its limit is 2\)/);
    assert.equal((refused.body as Record<string, unknown>)['login_id'], undefined);
    assert.ok(
      proxy.logLines.some((l) => l.includes('"event":"cli_start_refused_overloaded"')),
      'the refusal is logged',
    );
    assert.equal(proxy.logLines.filter((l) => l.includes('"event":"flow_created"')).length, 2, 'no flow stored');

    // Every later step of an admitted login goes through while starts are refused.
    const ready = parsePollAnswer((await poll(proxy.url, first)).body);
    assert.equal(ready.status, 'ready');
    const pending = parsePollAnswer((await poll(proxy.url, asStart(second))).body);
    assert.equal(pending.status, 'pending');

    // The login that got its key no longer counts.
    const again = await eventually(
      'a start admitted again',
      () => postStart(proxy.url),
      (a) => a.status === 200,
    );
    assert.equal(again.status, 200);
    assertRefusedOverloaded(await postStart(proxy.url), /busy with 2 logins/);
  });

  test('an unfinished login stops counting after CLI_SSO_LOGIN_IN_FLIGHT_SECONDS (a walked-away person holds no slot)', async () => {
    const proxy = await proxyWith({ CLI_SSO_MAX_LOGINS_IN_FLIGHT: '1', CLI_SSO_LOGIN_IN_FLIGHT_SECONDS: '1' });
    const startedMs = performance.now();
    assert.equal((await postStart(proxy.url)).status, 200);
    assertRefusedOverloaded(await postStart(proxy.url), /limit is 1/);
    await eventually(
      'a start admitted after 1 s',
      () => postStart(proxy.url),
      (a) => a.status === 200,
      5000,
    );
    assert.ok(performance.now() - startedMs >= 1000, 'not before the second is over');
  });

  test('an event loop running late beyond CLI_SSO_MAX_EVENT_LOOP_DELAY_MS refuses starts until it catches up', async () => {
    const proxy = await proxyWith({ CLI_SSO_MAX_EVENT_LOOP_DELAY_MS: '300' });
    // Just started in a busy test process, the loop may itself be late: wait until a start is admitted.
    const admitted = asStart(
      await eventually(
        'a first start admitted',
        () => postStart(proxy.url),
        (a) => a.status === 200,
      ),
    );
    // The proxy runs in this process: hold its event loop as a saturated replica's would be held.
    const until = performance.now() + 1000;
    while (performance.now() < until) {
      // busy: nothing else runs
    }
    assertRefusedOverloaded(await postStart(proxy.url), /it answers \d+ ms late; its limit is 300 ms/);
    const polled = await poll(proxy.url, admitted);
    assert.equal(polled.status, 200, JSON.stringify(polled.body));
    assert.equal(parsePollAnswer(polled.body).status, 'pending', 'polls still answer');
    await eventually(
      'a start admitted once the loop is on time',
      () => postStart(proxy.url),
      (a) => a.status === 200,
    );
  });

  /**
   * A start whose connection the proxy accepted and then left unread for `holdMs` while busy: the
   * proxy runs in this process, so holding this event loop is holding the proxy's, as a burst does.
   * The connection is accepted before the hold: the kernel queues connections in order, so once a
   * connection opened after ours has been answered, ours was accepted.
   */
  async function startQueuedFor(base: string, holdMs: number): Promise<JsonAnswer> {
    const { hostname, port } = new URL(base);
    const socket = connect(Number(port), hostname);
    await once(socket, 'connect');
    await new Promise<void>((resolve, reject) => {
      request(`${base}/health/liveliness`, { agent: false }, (res) => res.resume().once('end', resolve))
        .once('error', reject)
        .end();
    });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = once(socket, 'end');
    socket.write(
      `POST ${CLI_SSO_PATHS.start} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
    const until = performance.now() + holdMs;
    while (performance.now() < until) {
      // busy: the request waits unread, as behind a burst
    }
    await ended;
    socket.destroy();
    const raw = Buffer.concat(chunks).toString('utf8');
    const [head = '', body = ''] = raw.split('\r\n\r\n');
    const headers = new Headers();
    for (const line of head.split('\r\n').slice(1)) {
      const colon = line.indexOf(':');
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    }
    return { status: Number(head.split(' ')[1]), headers, body: JSON.parse(body) as unknown };
  }

  test('while saturated, a start that waited in the queue beyond CLI_SSO_MAX_START_QUEUE_MS is refused; before that it is not', async () => {
    const proxy = await proxyWith({
      CLI_SSO_MAX_LOGINS_IN_FLIGHT: '2',
      CLI_SSO_LOGIN_IN_FLIGHT_SECONDS: '1',
      CLI_SSO_MAX_START_QUEUE_MS: '300',
    });
    // Not saturated: a slow read is the machine, not a burst, and the start is admitted.
    const calm = await startQueuedFor(proxy.url, 500);
    assert.equal(calm.status, 200, JSON.stringify(calm.body));
    assert.equal((await postStart(proxy.url)).status, 200);
    assertRefusedOverloaded(await postStart(proxy.url), /busy with 2 logins/);

    // Saturated now. Once both slots are free again, take one, leaving one free.
    await eventually(
      'a start admitted once the window is over',
      () => postStart(proxy.url),
      (a) => a.status === 200,
      5000,
    );
    const queued = await startQueuedFor(proxy.url, 500);
    assertRefusedOverloaded(queued, /saturated, and requests wait \d+ ms in its queue \(its limit is 300 ms/);
    assert.equal(queued.headers.get('content-type')?.startsWith('application/json'), true);
    // The slot was free (the refusal names the queue, not the logins in flight): once the loop is on
    // time again, a start read at once takes it.
    await eventually(
      'a start admitted once requests no longer wait',
      () => postStart(proxy.url),
      (a) => a.status === 200,
      5000,
    );
  });

  test('0 turns each rule off', async () => {
    const proxy = await proxyWith({
      CLI_SSO_MAX_LOGINS_IN_FLIGHT: '0',
      CLI_SSO_MAX_EVENT_LOOP_DELAY_MS: '0',
      CLI_SSO_MAX_START_QUEUE_MS: '0',
    });
    const answers = await Promise.all(Array.from({ length: 20 }, () => postStart(proxy.url)));
    assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
  });

  test('bad settings are reported together at start-up, naming each variable', () => {
    const env = proxyEnv(idp.endpoints, {
      CLI_SSO_MAX_LOGINS_IN_FLIGHT: '-1',
      CLI_SSO_LOGIN_IN_FLIGHT_SECONDS: '0',
      CLI_SSO_MAX_EVENT_LOOP_DELAY_MS: 'fast',
      CLI_SSO_MAX_START_QUEUE_MS: '-5',
      CLI_SSO_OVERLOAD_RETRY_AFTER_SECONDS: '2.5',
    });
    assert.throws(
      () => loadProxyConfig(env),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems.map((p) => p.variable).sort(), [
          'CLI_SSO_LOGIN_IN_FLIGHT_SECONDS',
          'CLI_SSO_MAX_EVENT_LOOP_DELAY_MS',
          'CLI_SSO_MAX_LOGINS_IN_FLIGHT',
          'CLI_SSO_MAX_START_QUEUE_MS',
          'CLI_SSO_OVERLOAD_RETRY_AFTER_SECONDS',
        ]);
        return true;
      },
    );
  });
});

const skip = redisSkipReason({ path: process.env['PATH'] ?? '', uid: process.getuid?.() });
if (skip) console.log(`# admission.test.ts (replicas) skipped: ${skip}`);

describe('admission with replicas sharing Redis', { skip }, () => {
  let redis: RedisServer;
  let idp: RecordingIdp;
  let a: ProxyUnderTest;
  let b: ProxyUnderTest;

  before(async () => {
    [redis, idp] = await Promise.all([
      startRedis(),
      startRecordingIdp({ clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, userinfo: USERINFO }),
    ]);
    const env = proxyEnv(idp.endpoints, {
      REDIS_URL: redis.url,
      PROXY_BASE_URL: 'http://gateway.test',
      CLI_SSO_MAX_LOGINS_IN_FLIGHT: '1',
    });
    [a, b] = await Promise.all([startProxyForTest(env), startProxyForTest(env)]);
  });
  after(async () => {
    await Promise.allSettled([a?.close(), b?.close()]);
    await Promise.allSettled([redis?.destroy(), idp?.close()]);
  });

  test('a login started on A and finished on B frees its slot on A', async () => {
    const start = asStart(await postStart(a.url));
    assertRefusedOverloaded(await postStart(a.url), /limit is 1/);
    assert.equal((await postStart(b.url)).status, 200, 'each replica has its own bound');

    // The browser and the CLI only ever reach B.
    const generate = await fetch(`${b.url}/sso/key/generate?source=litellm-cli&key=${start.loginId}`, {
      redirect: 'manual',
    });
    const authorize = await fetch(generate.headers.get('location') ?? '', { redirect: 'manual' });
    const back = new URL(authorize.headers.get('location') ?? '');
    const page = await fetch(`${b.url}/sso/callback${back.search}`);
    const token = /name="browser_complete_token" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    const done = await postCode(`${b.url}${CLI_SSO_PATHS.complete(start.loginId)}`, {
      user_code: start.userCode,
      browser_complete_token: token,
    });
    assert.equal(done.status, 200);
    assert.equal(parsePollAnswer((await poll(b.url, start)).body).status, 'ready');

    await eventually(
      'A admits a start again',
      () => postStart(a.url),
      (x) => x.status === 200,
    );
  });
});
