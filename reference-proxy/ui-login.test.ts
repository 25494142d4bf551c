/**
 * The admin UI login (docs/contract.md section 7) over real HTTP: the same IdP login without
 * `source=litellm-cli`, a session cookie, and /ui/ showing who is signed in and when the session
 * ends: 10 minutes under EXPERIMENTAL_UI_LOGIN whatever LITELLM_UI_SESSION_DURATION says, else that.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { HttpBrowser } from '../common/browserless-login.ts';
import { ManualClock } from '../common/clock.ts';
import { proxyEnv, TEST_CLIENT_ID, TEST_CLIENT_SECRET } from './test-support/proxy-env.ts';
import { getJson, startProxyForTest } from './test-support/proxy-under-test.ts';
import { type RecordingIdp, startRecordingIdp } from './test-support/recording-idp.ts';

let idp: RecordingIdp;
const START_MS = Date.UTC(2026, 5, 1, 12, 0, 0);

before(async () => {
  idp = await startRecordingIdp({
    clientId: TEST_CLIENT_ID,
    clientSecret: TEST_CLIENT_SECRET,
    userinfo: { preferred_username: 'ada', email: 'Ada@Example.com', role: 'proxy_admin' },
  });
});
after(() => idp?.close());

async function signInToUi(base: string): Promise<{ browser: HttpBrowser; body: string; status: number }> {
  const browser = new HttpBrowser();
  const page = await browser.get(`${base}/sso/key/generate`);
  return { browser, body: page.body, status: page.status };
}

function sessionEndOf(body: string): string | undefined {
  return /data-testid="session-ends" datetime="([^"]+)"/.exec(body)?.[1];
}

for (const [name, env, sessionSeconds] of [
  ['EXPERIMENTAL_UI_LOGIN on: 10 minutes, whatever the duration says', { LITELLM_UI_SESSION_DURATION: '7d' }, 600],
  [
    'EXPERIMENTAL_UI_LOGIN off: LITELLM_UI_SESSION_DURATION',
    { EXPERIMENTAL_UI_LOGIN: 'false', LITELLM_UI_SESSION_DURATION: '30m' },
    1800,
  ],
  ['EXPERIMENTAL_UI_LOGIN off, default 24h', { EXPERIMENTAL_UI_LOGIN: 'False' }, 86400],
] as const) {
  test(`UI session: ${name}`, async () => {
    const clock = new ManualClock(START_MS);
    const proxy = await startProxyForTest(proxyEnv(idp.endpoints, env), clock);
    try {
      const { browser, body, status } = await signInToUi(proxy.url);
      assert.equal(status, 200);
      assert.equal(new URL(browser.visited.at(-1)?.url ?? '').pathname, '/ui/');
      assert.match(body, /data-testid="user-id">ada</);
      assert.match(body, /data-testid="user-email">ada@example.com</);
      assert.match(body, /data-testid="user-role">proxy_admin</);
      assert.equal(sessionEndOf(body), new Date(START_MS + sessionSeconds * 1000).toISOString());

      clock.advanceSeconds(sessionSeconds - 1);
      assert.equal((await browser.get(`${proxy.url}/ui/`)).status, 200, 'still signed in a second before the end');
      clock.advanceSeconds(1);
      const ended = await browser.get(`${proxy.url}/ui/`);
      assert.equal(ended.status, 401);
      assert.match(ended.body, /not signed in/);
    } finally {
      await proxy.close();
    }
  });
}

test('a UI callback whose state this browser did not start is refused', async () => {
  const proxy = await startProxyForTest(proxyEnv(idp.endpoints));
  idp.requests.length = 0;
  try {
    const answer = await getJson(`${proxy.url}/sso/callback?code=abc&state=not-mine`);
    assert.equal(answer.status, 400);
    assert.equal(idp.requests.filter((r) => r.path === '/token').length, 0);
    assert.equal((await getJson(`${proxy.url}/ui/`)).status, 401);
  } finally {
    await proxy.close();
  }
});

test("the sign-in's login-state cookie is scoped to the callback under the public base URL, a path prefix included", async () => {
  for (const [base, callbackPath] of [
    [undefined, '/sso/callback'],
    ['https://gateway.example/litellm', '/litellm/sso/callback'],
  ] as const) {
    const proxy = await startProxyForTest(proxyEnv(idp.endpoints, base === undefined ? {} : { PROXY_BASE_URL: base }));
    try {
      const answer = await fetch(`${proxy.url}/sso/key/generate`, { redirect: 'manual' });
      assert.equal(answer.status, 303);
      const cookie = answer.headers.getSetCookie().find((c) => c.startsWith('litellm_ui_login_state='));
      // The browser comes back to {PROXY_BASE_URL}/sso/callback: a cookie of another path is not sent there.
      assert.match(
        cookie ?? '',
        new RegExp(`; Path=${callbackPath}(;|$)`, 'i'),
        `Set-Cookie: ${cookie?.replace(/=[^;]*/, '=(value)')}`,
      );
    } finally {
      await proxy.close();
    }
  }
});
