/**
 * The CLI session registry over real HTTP (docs/contract.md section 10.7): a classic login records its
 * session, admins list it, a proxy admin revokes it, and the revoked key is refused on the API
 * (CLISSO-REGISTRY-01 to -07). One gateway on SQLite; replicas.test.ts has two on PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { ManualClock, systemClock } from '../common/clock.ts';
import { CLI_SESSION_PATHS } from '../protocol/cli-sessions.ts';
import { parsePollAnswer } from '../protocol/cli-sso.ts';
import { sessionIdOf } from './cli-sessions.ts';
import { loadProxyConfig } from './config.ts';
import { KeyIssuer } from './key-issuer.ts';
import { proxyEnv, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_MASTER_KEY } from './test-support/proxy-env.ts';
import {
  getJson,
  type JsonAnswer,
  loginUntilVerified,
  type ProxyUnderTest,
  poll,
  startProxyForTest,
} from './test-support/proxy-under-test.ts';
import { type RecordingIdp, startRecordingIdp } from './test-support/recording-idp.ts';

const USERINFO = { preferred_username: 'dana', email: 'dana@example.com', role: 'internal_user', teams: ['t1'] };

let idp: RecordingIdp;
let gateway: ProxyUnderTest;

before(async () => {
  idp = await startRecordingIdp({ clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, userinfo: USERINFO });
  gateway = await startProxyForTest(proxyEnv(idp.endpoints));
});
after(async () => {
  await gateway?.close();
  await idp?.close();
});
beforeEach(() => {
  idp.userinfo = structuredClone(USERINFO);
});

/** A classic login through to the key, as the user the IdP describes now. */
async function loginKey(role = 'internal_user', user = 'dana'): Promise<string> {
  idp.userinfo = { ...USERINFO, preferred_username: user, role };
  const start = await loginUntilVerified(gateway.url);
  const ready = parsePollAnswer((await poll(gateway.url, start)).body);
  assert.equal(ready.status, 'ready');
  return ready.status === 'ready' ? ready.key : '';
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
const list = (key: string | undefined, query = '') =>
  getJson(`${gateway.url}${CLI_SESSION_PATHS.list}${query}`, key === undefined ? {} : bearer(key));

async function revoke(key: string | undefined, sessionId: string): Promise<JsonAnswer> {
  const answer = await fetch(`${gateway.url}${CLI_SESSION_PATHS.revoke(sessionId)}`, {
    method: 'POST',
    headers: key === undefined ? {} : bearer(key),
  });
  const text = await answer.text();
  return { status: answer.status, headers: answer.headers, body: JSON.parse(text) };
}

function sessionIdOfKey(key: string): string {
  const sid = decodeJwt(key)['sid'];
  assert.equal(typeof sid, 'string', 'the key carries a session token');
  return sessionIdOf(String(sid));
}

interface SessionJson {
  session_id: string;
  user_id: string;
  team_id: string | null;
  created_at: string;
  expires_at: string;
  revoked_at: string | null;
  revoked_by: string | null;
}

describe('recording and listing', () => {
  test('a classic login is listed for the master key: user, team, expiry; never the key', async () => {
    const key = await loginKey();
    const answer = await list(TEST_MASTER_KEY);
    assert.equal(answer.status, 200);
    const body = answer.body as { sessions: SessionJson[]; total_count: number };
    const row = body.sessions.find((s) => s.session_id === sessionIdOfKey(key));
    assert.ok(row, 'the login is listed');
    assert.equal(row.user_id, 'dana');
    assert.equal(row.team_id, 't1');
    assert.equal(row.revoked_at, null);
    assert.equal(Date.parse(row.expires_at) / 1000, decodeJwt(key).exp);
    assert.ok(body.total_count >= 1);
    const text = JSON.stringify(answer.body);
    for (const part of [key, ...key.split('.'), String(decodeJwt(key)['sid'])]) {
      assert.ok(!text.includes(part), 'the list holds no part of the key');
    }
  });

  test('newest first, paged', async () => {
    const first = await loginKey();
    const second = await loginKey();
    const page = (await list(TEST_MASTER_KEY, '?page=1&page_size=2')).body as { sessions: SessionJson[] };
    assert.deepEqual(
      page.sessions.map((s) => s.session_id),
      [sessionIdOfKey(second), sessionIdOfKey(first)],
    );
    const next = (await list(TEST_MASTER_KEY, '?page=2&page_size=1')).body as { sessions: SessionJson[] };
    assert.deepEqual(
      next.sessions.map((s) => s.session_id),
      [sessionIdOfKey(first)],
    );
  });

  test('a session is listed until its key expires, and not from then on', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const timed = await startProxyForTest(proxyEnv(idp.endpoints, { CLI_JWT_EXPIRATION_HOURS: '1' }), clock);
    try {
      const start = await loginUntilVerified(timed.url);
      assert.equal(parsePollAnswer((await poll(timed.url, start)).body).status, 'ready');
      const count = async () => {
        const answer = await getJson(`${timed.url}${CLI_SESSION_PATHS.list}`, bearer(TEST_MASTER_KEY));
        return (answer.body as { total_count: number }).total_count;
      };
      assert.equal(await count(), 1);
      clock.advanceSeconds(3599);
      assert.equal(await count(), 1, 'one second before the key expires');
      clock.advanceSeconds(1);
      assert.equal(await count(), 0, 'the second the key expires');
    } finally {
      await timed.close();
    }
  });

  test('bad page or page_size: 400 naming the parameter', async () => {
    for (const [query, name] of [
      ['?page=0', 'page'],
      ['?page=x', 'page'],
      ['?page_size=0', 'page_size'],
      ['?page_size=101', 'page_size'],
      ['?page_size=1.5', 'page_size'],
      ['?page=1&page=2', 'page'],
    ] as const) {
      const answer = await list(TEST_MASTER_KEY, query);
      assert.equal(answer.status, 400, query);
      assert.match(String((answer.body as { detail: unknown }).detail), new RegExp(`^${name} `), query);
    }
  });

  test('an admin viewer may list; an ordinary key is refused 403; no key 401', async () => {
    assert.equal((await list(await loginKey('proxy_admin_viewer', 'vera'))).status, 200);
    const refused = await list(await loginKey('internal_user'));
    assert.equal(refused.status, 403);
    assert.equal(typeof (refused.body as { detail: unknown }).detail, 'string');
    assert.equal((await list(undefined)).status, 401);
  });
});

describe('revoking', () => {
  test('only a proxy admin revokes: an admin viewer and an ordinary key get 403', async () => {
    const sessionId = sessionIdOfKey(await loginKey());
    assert.equal((await revoke(await loginKey('proxy_admin_viewer', 'vera'), sessionId)).status, 403);
    assert.equal((await revoke(await loginKey('internal_user', 'olga'), sessionId)).status, 403);
    assert.equal((await revoke(undefined, sessionId)).status, 401);
    const admin = await loginKey('proxy_admin', 'ada');
    const done = await revoke(admin, sessionId);
    assert.equal(done.status, 200);
    assert.equal((done.body as SessionJson).revoked_by, 'ada');
  });

  test('an unknown id: 404 naming it, capped and printable', async () => {
    const answer = await revoke(TEST_MASTER_KEY, 'no-such-session');
    assert.deepEqual([answer.status, answer.body], [404, { detail: 'CLI session not found: no-such-session' }]);
    const long = await revoke(TEST_MASTER_KEY, `${'a'.repeat(300)}\u001b[31m`);
    assert.equal(long.status, 404);
    const detail = String((long.body as { detail: unknown }).detail);
    assert.ok(detail.length < 200 && !detail.includes('\u001b'), detail);
  });

  test('a revoked key is refused at once on every API route; revoking again keeps revoked_at', async () => {
    const key = await loginKey();
    assert.equal((await getJson(`${gateway.url}/v1/models`, bearer(key))).status, 200);
    const first = await revoke(TEST_MASTER_KEY, sessionIdOfKey(key));
    assert.equal(first.status, 200);
    const row = first.body as SessionJson;
    assert.equal(row.session_id, sessionIdOfKey(key));
    assert.equal(row.revoked_by, 'master_key');
    assert.ok(row.revoked_at !== null);
    for (const path of ['/v1/models', '/models', '/user/info?user_id=dana', CLI_SESSION_PATHS.list]) {
      const refused = await getJson(`${gateway.url}${path}`, bearer(key));
      assert.equal(refused.status, 401, path);
    }
    const again = await revoke(TEST_MASTER_KEY, sessionIdOfKey(key));
    assert.equal(again.status, 200);
    assert.equal((again.body as SessionJson).revoked_at, row.revoked_at);
    const listed = ((await list(TEST_MASTER_KEY)).body as { sessions: SessionJson[] }).sessions;
    assert.equal(listed.find((s) => s.session_id === row.session_id)?.revoked_at, row.revoked_at, 'still listed');
  });

  test('a key without a session token (issued before the registry) keeps working', async () => {
    const config = loadProxyConfig(proxyEnv(idp.endpoints));
    const issuer = new KeyIssuer(config.signingSecret, 3600, systemClock);
    const { key } = await issuer.issue({ userId: 'old', teamId: null, userRole: 'internal_user', models: [] });
    assert.equal(decodeJwt(key)['sid'], undefined);
    assert.equal((await getJson(`${gateway.url}/v1/models`, bearer(key))).status, 200);
  });
});
