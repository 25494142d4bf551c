/**
 * Component tests over real HTTP: every row of docs/contract.md section 2, against the reference
 * proxy and a recording IdP (test-support/recording-idp.ts) that shows what crossed the wire.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../common/clock.ts';
import { CLI_SSO_PATHS, joinUrl, POLL_SECRET_HEADER, parsePollAnswer } from '../protocol/cli-sso.ts';
import { proxyEnv, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_MASTER_KEY } from './test-support/proxy-env.ts';
import {
  eventually,
  getJson,
  loginUntilVerified,
  openLoginForm,
  type ProxyUnderTest,
  poll,
  postCode,
  startLogin,
  startProxyForTest,
} from './test-support/proxy-under-test.ts';
import { type RecordingIdp, startRecordingIdp } from './test-support/recording-idp.ts';

const MODELS_FILE = fileURLToPath(new URL('./test-support/models.yaml', import.meta.url));
const DEFAULT_USERINFO = {
  sub: 'u-1',
  preferred_username: 'dana',
  email: 'Dana@Example.COM',
  role: 'internal_user',
  teams: [],
  employment_type: 'full_time',
  org_info: { department: 'Engineering', cost_center: '42' },
};

let idp: RecordingIdp;
let proxy: ProxyUnderTest;

before(async () => {
  idp = await startRecordingIdp({
    clientId: TEST_CLIENT_ID,
    clientSecret: TEST_CLIENT_SECRET,
    userinfo: DEFAULT_USERINFO,
  });
  proxy = await startProxyForTest(
    proxyEnv(idp.endpoints, {
      CONFIG_FILE_PATH: MODELS_FILE,
      CLI_SSO_CLAIM_MAP:
        'employment_type->acme_employment_type, org_info.department->department, org_info.cost_center->org.cost_center',
      GENERIC_USER_EXTRA_ATTRIBUTES: 'employment_type,org_info.department,org_info.cost_center',
    }),
  );
});
after(async () => {
  await proxy?.close();
  await idp?.close();
});
beforeEach(() => {
  idp.userinfo = structuredClone(DEFAULT_USERINFO);
  idp.requests.length = 0;
});

const url = (path: string) => joinUrl(proxy.url, path);
const detailOf = (body: unknown) =>
  typeof body === 'object' && body !== null && 'detail' in body ? String(body.detail) : undefined;

describe('POST /sso/cli/start', () => {
  test('answers a login id, a poll secret, a user code and expires_in 600', async () => {
    const start = await startLogin(proxy.url);
    assert.match(start.loginId, /^cli-[A-Za-z0-9_-]{32}$/);
    assert.match(start.pollSecret, /^[A-Za-z0-9_-]{43}$/);
    assert.match(start.userCode, /^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{4}-[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{4}$/);
    assert.equal(start.expiresInSeconds, 600);
  });

  test('logs the flow without its secrets', async () => {
    const start = await startLogin(proxy.url);
    const logs = proxy.logLines.join('\n');
    assert.match(logs, new RegExp(`"event":"flow_created","login_id":"${start.loginId}"`));
    assert.ok(!logs.includes(start.pollSecret), 'poll secret in logs');
    assert.ok(!logs.includes(start.userCode) && !logs.includes(start.userCode.replace('-', '')), 'user code in logs');
  });
});

describe('GET /sso/key/generate', () => {
  test('redirects a CLI login to the IdP with state litellm-session-token:{login_id}', async () => {
    const start = await startLogin(proxy.url);
    const answer = await fetch(url(`/sso/key/generate?source=litellm-cli&key=${start.loginId}`), {
      redirect: 'manual',
    });
    assert.equal(answer.status, 303);
    const location = new URL(answer.headers.get('location') ?? '');
    assert.equal(`${location.origin}${location.pathname}`, idp.endpoints.authorization);
    assert.equal(location.searchParams.get('response_type'), 'code');
    assert.equal(location.searchParams.get('client_id'), TEST_CLIENT_ID);
    assert.equal(location.searchParams.get('redirect_uri'), `${proxy.url}/sso/callback`);
    assert.equal(location.searchParams.get('scope'), 'openid email profile');
    assert.equal(location.searchParams.get('state'), `litellm-session-token:${start.loginId}`);
    assert.equal(location.searchParams.get('code_challenge'), null, 'no PKCE unless configured');
  });

  for (const [name, query] of [
    ['a missing key', 'source=litellm-cli'],
    ['a malformed key', 'source=litellm-cli&key=cli-short'],
    ['an unknown key', 'source=litellm-cli&key=cli-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a client-chosen sk- key (first-generation flow)', 'source=litellm-cli&key=sk-attacker-chosen-key-123'],
    ['a repeated key', 'source=litellm-cli&key=cli-AAAAAAAAAAAAAAAA&key=cli-BBBBBBBBBBBBBBBB'],
  ]) {
    test(`refuses ${name} with 400 Invalid CLI login session`, async () => {
      const answer = await getJson(url(`/sso/key/generate?${query}`));
      assert.equal(answer.status, 400);
      assert.equal(detailOf(answer.body), 'Invalid CLI login session');
    });
  }
});

describe('GET /sso/callback', () => {
  test('exchanges the code with HTTP Basic client auth, calls userinfo, and shows the accessible form', async () => {
    const start = await startLogin(proxy.url);
    const form = await openLoginForm(proxy.url, start.loginId);
    assert.equal(form.page.status, 200);
    assert.match(form.page.body, /<title>LiteLLM CLI Login<\/title>/);
    assert.match(form.page.body, /<h1>Complete CLI Login<\/h1>/);
    assert.match(form.page.body, /<label for="user_code">[^<]+<\/label>/);
    assert.match(form.page.body, /<button type="submit">Complete login<\/button>/);
    assert.equal(new URL(form.action).pathname, `/sso/cli/complete/${start.loginId}`);
    assert.match(form.browserCompleteToken, /^[A-Za-z0-9_-]{43}$/);
    const token = idp.requests.find((r) => r.path === '/token');
    assert.ok(token);
    const basic = Buffer.from(`${TEST_CLIENT_ID}:${TEST_CLIENT_SECRET}`).toString('base64');
    assert.equal(token.authorization, `Basic ${basic}`);
    assert.equal(token.form['client_secret'], undefined, 'secret only in the Basic header');
    assert.equal(token.form['redirect_uri'], `${proxy.url}/sso/callback`);
    assert.ok(idp.requests.some((r) => r.path === '/userinfo' && r.authorization?.startsWith('Bearer ')));
  });

  test('HTML-escapes values it shows', async () => {
    // An email with markup is no address and is refused (hardening.test.ts): the user id shows instead.
    const { email: _email, ...withoutEmail } = DEFAULT_USERINFO;
    idp.userinfo = { ...withoutEmail, preferred_username: '"><script>alert(1)</script>' };
    const start = await startLogin(proxy.url);
    const form = await openLoginForm(proxy.url, start.loginId);
    assert.equal(form.page.status, 200);
    assert.ok(!form.page.body.includes('<script>'), 'unescaped script tag');
    assert.match(form.page.body, /&lt;script&gt;/);
  });

  test('refuses a state whose flow is gone with 400', async () => {
    const answer = await getJson(url('/sso/callback?code=abc&state=litellm-session-token:cli-AAAAAAAAAAAAAAAAAAAA'));
    assert.equal(answer.status, 400);
    assert.equal(detailOf(answer.body), 'Invalid CLI login session');
    assert.equal(idp.requests.length, 0, 'no code exchange for a flow that does not exist');
  });

  test('an IdP refusal (access_denied) is a 4xx (litellm-v4: 401) and the flow stays pending', async () => {
    const start = await startLogin(proxy.url);
    idp.denyNextAuthorization = 'access_denied';
    const form = await openLoginForm(proxy.url, start.loginId);
    assert.equal(form.page.status, 401);
    assert.deepEqual((await poll(proxy.url, start)).body, { status: 'pending' });
  });

  test('a failed code exchange is a 4xx and never marks the flow complete', async () => {
    const start = await startLogin(proxy.url);
    idp.failNextToken = 'invalid_grant';
    const form = await openLoginForm(proxy.url, start.loginId);
    assert.equal(form.page.status, 400);
    assert.match(form.page.body, /invalid_grant/);
    const complete = await postCode(url(CLI_SSO_PATHS.complete(start.loginId)), { user_code: start.userCode });
    assert.equal(complete.status, 400);
    assert.equal(detailOf(complete.body), 'CLI login is not ready');
  });

  test('a forged code never gets past the IdP', async () => {
    const start = await startLogin(proxy.url);
    const answer = await getJson(url(`/sso/callback?code=forged&state=litellm-session-token:${start.loginId}`));
    assert.equal(answer.status, 400);
    assert.deepEqual((await poll(proxy.url, start)).body, { status: 'pending' });
  });
});

describe('POST /sso/cli/complete/{login_id}', () => {
  test('unknown flow -> 400 Invalid CLI login session; before the callback -> 400 CLI login is not ready', async () => {
    const unknown = await postCode(url(CLI_SSO_PATHS.complete('cli-AAAAAAAAAAAAAAAAAAAA')), { user_code: 'ABCD-EFGH' });
    assert.equal(unknown.status, 400);
    assert.equal(detailOf(unknown.body), 'Invalid CLI login session');
    const start = await startLogin(proxy.url);
    const early = await postCode(url(CLI_SSO_PATHS.complete(start.loginId)), { user_code: start.userCode });
    assert.equal(early.status, 400);
    assert.equal(detailOf(early.body), 'CLI login is not ready');
  });

  test('accepts the code in any case and without the dash, whatever the content type; repeating is harmless', async () => {
    const start = await startLogin(proxy.url);
    const form = await openLoginForm(proxy.url, start.loginId);
    const typed = start.userCode.replace('-', '').toLowerCase();
    const body = `user_code=${typed}&browser_complete_token=${form.browserCompleteToken}`;
    const done = await fetch(form.action, { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
    assert.equal(done.status, 200);
    assert.match(await done.text(), /Authentication Successful!/);
    const again = await postCode(form.action, {
      user_code: start.userCode,
      browser_complete_token: form.browserCompleteToken,
    });
    assert.equal(again.status, 200);
    assert.equal(parsePollAnswer((await poll(proxy.url, start)).body).status, 'ready');
  });

  test('a wrong code or a wrong browser token -> 400 Invalid verification code, flow unchanged', async () => {
    const start = await startLogin(proxy.url);
    const form = await openLoginForm(proxy.url, start.loginId);
    const wrongCode = await postCode(form.action, {
      user_code: 'AAAA-AAAA',
      browser_complete_token: form.browserCompleteToken,
    });
    assert.equal(wrongCode.status, 400);
    assert.equal(detailOf(wrongCode.body), 'Invalid verification code');
    const wrongToken = await postCode(form.action, {
      user_code: start.userCode,
      browser_complete_token: 'x'.repeat(43),
    });
    assert.equal(wrongToken.status, 400);
    assert.deepEqual((await poll(proxy.url, start)).body, { status: 'pending' });
    const right = await postCode(form.action, {
      user_code: start.userCode,
      browser_complete_token: form.browserCompleteToken,
    });
    assert.equal(right.status, 200);
  });

  test('5 wrong codes delete the flow', async () => {
    const start = await startLogin(proxy.url);
    const form = await openLoginForm(proxy.url, start.loginId);
    for (let i = 0; i < 5; i++) {
      const wrong = await postCode(form.action, {
        user_code: 'ZZZZ-ZZZZ',
        browser_complete_token: form.browserCompleteToken,
      });
      assert.equal(wrong.status, 400);
      assert.equal(detailOf(wrong.body), 'Invalid verification code');
    }
    const right = await postCode(form.action, {
      user_code: start.userCode,
      browser_complete_token: form.browserCompleteToken,
    });
    assert.equal(right.status, 400);
    assert.equal(detailOf(right.body), 'Invalid CLI login session');
    assert.equal((await poll(proxy.url, start)).status, 400);
    assert.ok(proxy.logLines.some((l) => l.includes('"event":"flow_deleted_after_wrong_codes"')));
  });
});

describe('GET /sso/cli/poll/{login_id}', () => {
  test('malformed or unknown flow -> 400; missing or wrong secret -> 403 and the flow is untouched', async () => {
    for (const id of ['nope', 'cli-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
      const answer = await poll(proxy.url, { loginId: id, pollSecret: 'x' });
      assert.equal(answer.status, 400);
      assert.equal(detailOf(answer.body), 'Invalid CLI login session');
    }
    const start = await loginUntilVerified(proxy.url);
    const wrong = await poll(proxy.url, { loginId: start.loginId, pollSecret: 'wrong' });
    assert.equal(wrong.status, 403);
    assert.equal(detailOf(wrong.body), 'Invalid CLI polling secret');
    const missing = await getJson(url(CLI_SSO_PATHS.poll(start.loginId)));
    assert.equal(missing.status, 403);
    const inQuery = await getJson(url(`${CLI_SSO_PATHS.poll(start.loginId)}?poll_secret=${start.pollSecret}`));
    assert.equal(inQuery.status, 403, 'a secret in the query string is ignored');
    assert.equal(parsePollAnswer((await poll(proxy.url, start)).body).status, 'ready');
  });

  test('pending until the code is confirmed, then ready once with the key and attribution metadata', async () => {
    const start = await startLogin(proxy.url);
    assert.deepEqual(await poll(proxy.url, start).then((a) => [a.status, a.body]), [200, { status: 'pending' }]);
    const form = await openLoginForm(proxy.url, start.loginId);
    assert.deepEqual((await poll(proxy.url, start)).body, { status: 'pending' }, 'callback done, code not yet');
    await postCode(form.action, { user_code: start.userCode, browser_complete_token: form.browserCompleteToken });
    const ready = await poll(proxy.url, start);
    assert.equal(ready.status, 200);
    const body = ready.body as Record<string, unknown>;
    assert.equal(body['status'], 'ready');
    assert.equal(body['user_id'], 'dana');
    assert.equal(body['team_id'], null);
    assert.deepEqual(body['teams'], []);
    assert.deepEqual(body['team_details'], []);
    assert.deepEqual(body['attribution_metadata'], {
      acme_employment_type: 'full_time',
      department: 'Engineering',
      'org.cost_center': '42',
    });
    assert.equal(body['expires_in'], 86400);
    assert.equal(ready.headers.get('cache-control'), 'no-store');
    const second = await poll(proxy.url, start);
    assert.equal(second.status, 400);
    assert.equal(detailOf(second.body), 'Invalid CLI login session');
  });

  test('no attribution_metadata field when nothing is kept', async () => {
    idp.userinfo = { preferred_username: 'erin', email: 'erin@example.com' };
    const start = await loginUntilVerified(proxy.url);
    const body = (await poll(proxy.url, start)).body as Record<string, unknown>;
    assert.equal(body['status'], 'ready');
    assert.ok(!('attribution_metadata' in body));
  });

  test('several teams: team selection first (no key, flow stays), then the chosen team', async () => {
    idp.userinfo = {
      ...DEFAULT_USERINFO,
      preferred_username: 'multi',
      teams: ['team-alpha', 'team-beta', 'team-gamma'],
    };
    const start = await loginUntilVerified(proxy.url);
    const selection = await poll(proxy.url, start);
    assert.equal(selection.status, 200);
    const body = selection.body as Record<string, unknown>;
    assert.equal(body['requires_team_selection'], true);
    assert.equal(body['key'], undefined);
    assert.deepEqual(body['team_details'], [
      { team_id: 'team-alpha', team_alias: 'Alpha Team' },
      { team_id: 'team-beta', team_alias: 'Beta Team' },
      { team_id: 'team-gamma', team_alias: null },
    ]);
    const notMine = await poll(proxy.url, start, { teamId: 'team-delta' });
    assert.equal(notMine.status, 403);
    assert.equal(detailOf(notMine.body), 'User does not belong to team: team-delta');
    const chosen = parsePollAnswer((await poll(proxy.url, start, { teamId: 'team-alpha' })).body);
    assert.equal(chosen.status, 'ready');
    assert.equal(chosen.status === 'ready' && chosen.teamId, 'team-alpha');
    // team-alpha may use gpt-4o only (models.yaml).
    const key = chosen.status === 'ready' ? chosen.key : '';
    const models = await getJson(url('/v1/models'), { authorization: `Bearer ${key}` });
    assert.deepEqual(
      (models.body as { data: { id: string }[] }).data.map((m) => m.id),
      ['gpt-4o'],
    );
  });

  test('one team: that team is the key team', async () => {
    idp.userinfo = { ...DEFAULT_USERINFO, preferred_username: 'solo', teams: ['team-beta'] };
    const start = await loginUntilVerified(proxy.url);
    const ready = parsePollAnswer((await poll(proxy.url, start)).body);
    assert.equal(ready.status === 'ready' && ready.teamId, 'team-beta');
  });

  test('Prefer: wait=N holds a pending poll and answers the moment the code is confirmed', async () => {
    const start = await startLogin(proxy.url);
    const form = await openLoginForm(proxy.url, start.loginId);
    const startedMs = performance.now();
    const held = poll(proxy.url, start, { prefer: 'wait=20' });
    // Confirm the code only once the long poll is waiting, so the test proves it was woken.
    const waiting = `"event":"poll_waiting","login_id":"${start.loginId}"`;
    await eventually('the long poll to wait', async () => proxy.logLines.some((l) => l.includes(waiting)), Boolean);
    await postCode(form.action, { user_code: start.userCode, browser_complete_token: form.browserCompleteToken });
    const answer = await held;
    assert.equal(answer.status, 200);
    assert.equal(parsePollAnswer(answer.body).status, 'ready');
    assert.equal(answer.headers.get('preference-applied'), 'wait=20');
    assert.ok(performance.now() - startedMs < 10_000, 'answered on the change, not after the wait');
  });

  test('Prefer: wait=1 on a quiet flow answers pending after about a second', async () => {
    const start = await startLogin(proxy.url);
    const startedMs = performance.now();
    const answer = await poll(proxy.url, start, { prefer: 'wait=1' });
    const elapsedMs = performance.now() - startedMs;
    assert.deepEqual(answer.body, { status: 'pending' });
    assert.equal(answer.headers.get('preference-applied'), 'wait=1');
    assert.ok(elapsedMs >= 900, `held ${elapsedMs} ms`);
  });

  test('a malformed Prefer header is ignored (RFC 7240), never an error', async () => {
    const start = await startLogin(proxy.url);
    for (const prefer of ['wait=abc', 'wait=-1', 'wait', 'respond-async', 'wait=0']) {
      const answer = await poll(proxy.url, start, { prefer });
      assert.deepEqual([answer.status, answer.body], [200, { status: 'pending' }], prefer);
      assert.equal(answer.headers.get('preference-applied'), null);
    }
  });
});

describe('identity from the IdP (docs/contract.md section 4)', () => {
  test("email is lower-cased, a known role is kept, metadata is stored nested with the IdP's types (litellm-v4)", async () => {
    const start = await loginUntilVerified(proxy.url);
    await poll(proxy.url, start);
    const info = await getJson(url('/user/info?user_id=dana'), { authorization: `Bearer ${TEST_MASTER_KEY}` });
    assert.equal(info.status, 200);
    const userInfo = (info.body as { user_info: Record<string, unknown> }).user_info;
    assert.equal(userInfo['user_email'], 'dana@example.com');
    assert.equal(userInfo['user_role'], 'internal_user');
    assert.deepEqual(userInfo['metadata'], {
      acme_employment_type: 'full_time',
      department: 'Engineering',
      org: { cost_center: '42' },
    });
  });

  test('an unknown role gives a new user internal_user_viewer', async () => {
    idp.userinfo = { preferred_username: 'mallory', email: 'm@example.com', role: 'superuser' };
    await loginUntilVerified(proxy.url);
    const info = await getJson(url('/user/info?user_id=mallory'), { authorization: `Bearer ${TEST_MASTER_KEY}` });
    assert.equal((info.body as { user_info: Record<string, unknown> }).user_info['user_role'], 'internal_user_viewer');
  });

  test('/user/info: master key only, user_id required, unknown user 404', async () => {
    assert.equal((await getJson(url('/user/info?user_id=dana'))).status, 401);
    assert.equal((await getJson(url('/user/info'), { authorization: `Bearer ${TEST_MASTER_KEY}` })).status, 400);
    const unknown = await getJson(url('/user/info?user_id=nobody'), { authorization: `Bearer ${TEST_MASTER_KEY}` });
    assert.equal(unknown.status, 404);
    const start = await loginUntilVerified(proxy.url);
    const key = parsePollAnswer((await poll(proxy.url, start)).body);
    const withKey = await getJson(url('/user/info?user_id=dana'), {
      authorization: `Bearer ${key.status === 'ready' ? key.key : ''}`,
    });
    assert.equal(withKey.status, 403);
  });
});

describe('GET /models with keys (docs/contract.md section 6)', () => {
  test('missing, unknown, tampered and alg:none keys are 401 with an {"error":{...}} body', async () => {
    const start = await loginUntilVerified(proxy.url);
    const ready = parsePollAnswer((await poll(proxy.url, start)).body);
    assert.equal(ready.status, 'ready');
    const key = ready.status === 'ready' ? ready.key : '';
    const [header, payload] = key.split('.');
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8'));
    const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const cases: [string, Record<string, string>][] = [
      ['missing', {}],
      ['unknown', { authorization: 'Bearer sk-not-a-key' }],
      ['tampered', { authorization: `Bearer ${header}.${forged}.${key.split('.')[2]}` }],
      ['alg none', { authorization: `Bearer ${none}.${payload}.` }],
      ['not bearer', { authorization: `Basic ${key}` }],
    ];
    for (const [name, headers] of cases) {
      const answer = await getJson(url('/models'), headers);
      assert.equal(answer.status, 401, name);
      const error = (answer.body as { error: Record<string, unknown> }).error;
      assert.equal(error['code'], '401', name);
      assert.equal(typeof error['message'], 'string', name);
    }
    assert.equal((await getJson(url('/models'), { authorization: `Bearer ${key}` })).status, 200);
  });

  test('the master key lists every model', async () => {
    const answer = await getJson(url('/models'), { authorization: `Bearer ${TEST_MASTER_KEY}` });
    assert.deepEqual(
      (answer.body as { data: { id: string }[] }).data.map((m) => m.id),
      ['gpt-4o', 'claude-sonnet'],
    );
  });
});

describe('configurations (a proxy each)', () => {
  test('expired key -> 400 expired_key; valid up to the second it expires', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const other = await startProxyForTest(proxyEnv(idp.endpoints, { LITELLM_CLI_JWT_EXPIRATION_HOURS: '1' }), clock);
    try {
      const start = await loginUntilVerified(other.url);
      const ready = parsePollAnswer((await poll(other.url, start)).body);
      assert.equal(ready.status === 'ready' && ready.expiresInSeconds, 3600);
      const headers = { authorization: `Bearer ${ready.status === 'ready' ? ready.key : ''}` };
      clock.advanceSeconds(3599);
      assert.equal((await getJson(joinUrl(other.url, '/models'), headers)).status, 200);
      clock.advanceSeconds(1);
      const expired = await getJson(joinUrl(other.url, '/models'), headers);
      assert.equal(expired.status, 400);
      const error = (expired.body as { error: Record<string, unknown> }).error;
      assert.equal(error['type'], 'expired_key');
      assert.equal(error['code'], '400');
      assert.match(String(error['message']), /Expired Key/);
    } finally {
      await other.close();
    }
  });

  test('a key a gateway has accepted is refused by one started with another LITELLM_SALT_KEY', async () => {
    // Both gateways run in this process: what one remembers of the keys it verified must not reach the other.
    const before = await startProxyForTest(
      proxyEnv(idp.endpoints, { LITELLM_SALT_KEY: 'salt-before-0123456789abcdefghijk' }),
    );
    const after = await startProxyForTest(
      proxyEnv(idp.endpoints, { LITELLM_SALT_KEY: 'salt-after-0123456789abcdefghijkl' }),
    );
    try {
      const start = await loginUntilVerified(before.url);
      const ready = parsePollAnswer((await poll(before.url, start)).body);
      const headers = { authorization: `Bearer ${ready.status === 'ready' ? ready.key : ''}` };
      for (const path of ['/models', '/v1/models']) {
        assert.equal((await getJson(joinUrl(before.url, path), headers)).status, 200);
        assert.equal((await getJson(joinUrl(after.url, path), headers)).status, 401);
      }
    } finally {
      await before.close();
      await after.close();
    }
  });

  test('flows expire after 600 s of the injected clock', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const other = await startProxyForTest(proxyEnv(idp.endpoints), clock);
    try {
      const start = await startLogin(other.url);
      clock.advanceSeconds(599);
      assert.equal((await poll(other.url, start)).status, 200);
      clock.advanceSeconds(1);
      assert.equal((await poll(other.url, start)).status, 400);
    } finally {
      await other.close();
    }
  });

  test('EXPERIMENTAL_UI_LOGIN off: CLI keys are refused with 401, and the key from another signer too', async () => {
    const off = await startProxyForTest(proxyEnv(idp.endpoints, { EXPERIMENTAL_UI_LOGIN: 'false' }));
    const otherSigner = await startProxyForTest(
      proxyEnv(idp.endpoints, { LITELLM_SALT_KEY: 'another-salt-0123456789abcdefghijk' }),
    );
    try {
      const start = await loginUntilVerified(off.url);
      const ready = parsePollAnswer((await poll(off.url, start)).body);
      const headers = { authorization: `Bearer ${ready.status === 'ready' ? ready.key : ''}` };
      assert.equal((await getJson(joinUrl(off.url, '/models'), headers)).status, 401);
      assert.equal((await getJson(joinUrl(otherSigner.url, '/models'), headers)).status, 401);
    } finally {
      await off.close();
      await otherSigner.close();
    }
  });

  test('PKCE S256 towards the IdP and client credentials in the body', async () => {
    const other = await startProxyForTest(
      proxyEnv(idp.endpoints, { GENERIC_CLIENT_USE_PKCE: 'true', GENERIC_INCLUDE_CLIENT_ID: 'true' }),
    );
    try {
      const start = await loginUntilVerified(other.url);
      assert.equal(parsePollAnswer((await poll(other.url, start)).body).status, 'ready');
      const authorize = idp.requests.find((r) => r.path === '/authorize');
      assert.equal(authorize?.query['code_challenge_method'], 'S256');
      assert.match(authorize?.query['code_challenge'] ?? '', /^[A-Za-z0-9_-]{43}$/);
      const token = idp.requests.find((r) => r.path === '/token');
      assert.match(token?.form['code_verifier'] ?? '', /^[A-Za-z0-9_-]{43}$/);
      assert.equal(token?.form['client_id'], TEST_CLIENT_ID);
      assert.equal(token?.form['client_secret'], TEST_CLIENT_SECRET);
      assert.equal(token?.authorization, undefined);
    } finally {
      await other.close();
    }
  });

  test('ALLOWED_EMAIL_DOMAINS: another domain is 401 at the callback', async () => {
    const other = await startProxyForTest(
      proxyEnv(idp.endpoints, { ALLOWED_EMAIL_DOMAINS: 'corp.example, @Example.com' }),
    );
    try {
      const allowed = await loginUntilVerified(other.url);
      assert.equal(parsePollAnswer((await poll(other.url, allowed)).body).status, 'ready');
      idp.userinfo = { ...DEFAULT_USERINFO, email: 'eve@evil.example' };
      const start = await startLogin(other.url);
      const form = await openLoginForm(other.url, start.loginId);
      assert.equal(form.page.status, 401);
      assert.deepEqual((await poll(other.url, start)).body, { status: 'pending' });
    } finally {
      await other.close();
    }
  });

  test('identity attributes: dot paths, \\. literal dots, metadata. prefix, name and email fallbacks', async () => {
    const other = await startProxyForTest(
      proxyEnv(idp.endpoints, {
        GENERIC_USER_ID_ATTRIBUTE: 'metadata.ids.employee\\.id',
        GENERIC_USER_EMAIL_ATTRIBUTE: 'contact.mail',
        GENERIC_USER_ROLE_ATTRIBUTE: 'litellm.role',
        GENERIC_USER_TEAMS_ATTRIBUTE: 'memberships',
      }),
    );
    try {
      idp.userinfo = {
        ids: { 'employee.id': 'E-7' },
        contact: { mail: 'Frank@Example.com' },
        litellm: { role: 'proxy_admin' },
        memberships: ['team-beta'],
      };
      let start = await loginUntilVerified(other.url);
      let ready = parsePollAnswer((await poll(other.url, start)).body);
      assert.equal(ready.status === 'ready' && ready.userId, 'E-7');
      assert.equal(ready.status === 'ready' && ready.teamId, 'team-beta');
      idp.userinfo = { contact: { mail: 'Grace@Example.com' } };
      start = await loginUntilVerified(other.url);
      ready = parsePollAnswer((await poll(other.url, start)).body);
      assert.equal(ready.status === 'ready' && ready.userId, 'grace@example.com', 'email when no id and no name');
    } finally {
      await other.close();
    }
  });

  test('start rate limit: the 31st start within 60 s is 429 and makes no flow', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const other = await startProxyForTest(proxyEnv(idp.endpoints), clock);
    try {
      for (let i = 0; i < 30; i++) await startLogin(other.url);
      const refused = await fetch(joinUrl(other.url, CLI_SSO_PATHS.start), { method: 'POST' });
      assert.equal(refused.status, 429);
      assert.equal(detailOf(await refused.json()), 'Too many CLI login attempts. Try again later.');
      clock.advanceSeconds(60);
      await startLogin(other.url);
    } finally {
      await other.close();
    }
  });
});

describe('logs: one line per request, no secret in any', () => {
  test('one line per request and per login-state change, with no secret anywhere', async () => {
    const first = proxy.logLines.length;
    const start = await startLogin(proxy.url);
    const form = await openLoginForm(proxy.url, start.loginId);
    await postCode(form.action, { user_code: start.userCode, browser_complete_token: form.browserCompleteToken });
    const ready = parsePollAnswer((await poll(proxy.url, start)).body);
    const key = ready.status === 'ready' ? ready.key : 'no key';
    await getJson(url('/models'), { authorization: `Bearer ${key}` });
    const lines = proxy.logLines.slice(first);
    const events = lines.map((l) => JSON.parse(l) as { event: string; login_id?: string });
    const mine = events.filter((e) => e.login_id === start.loginId).map((e) => e.event);
    assert.deepEqual(mine, [
      'flow_created',
      'flow_sent_to_idp',
      'user_upserted',
      'flow_sso_complete',
      'flow_code_verified',
      'flow_key_issued',
    ]);
    assert.ok(events.filter((e) => e.event === 'request').length >= 5);
    const text = lines.join('\n');
    const idpCode = idp.requests.find((r) => r.path === '/token')?.form['code'] ?? 'no code';
    for (const secret of [
      key,
      start.pollSecret,
      start.userCode,
      start.userCode.replace('-', ''),
      form.browserCompleteToken,
      idpCode,
      TEST_CLIENT_SECRET,
      TEST_MASTER_KEY,
    ]) {
      assert.ok(!text.includes(secret), `a secret reached the log: ${secret.slice(0, 6)}...`);
    }
  });
});

describe('routing', () => {
  test('unknown paths are 404, known paths with another method 405 with Allow; health answers', async () => {
    const missing = await getJson(url('/nope'));
    assert.equal(missing.status, 404);
    assert.equal(detailOf(missing.body), 'Not Found');
    assert.equal((await getJson(url('/health/liveliness'))).status, 200);
    const header = await fetch(url(CLI_SSO_PATHS.poll('cli-AAAAAAAAAAAAAAAA')), {
      headers: { [POLL_SECRET_HEADER]: '' },
    });
    assert.equal(header.status, 400);
    const wrongMethod = await fetch(url(CLI_SSO_PATHS.start));
    assert.equal(wrongMethod.status, 405);
    assert.equal(wrongMethod.headers.get('allow'), 'POST');
    const put = await fetch(url(CLI_SSO_PATHS.poll('cli-AAAAAAAAAAAAAAAA')), { method: 'PUT' });
    assert.equal(put.status, 405);
    assert.equal(put.headers.get('allow'), 'GET, HEAD');
  });
});
