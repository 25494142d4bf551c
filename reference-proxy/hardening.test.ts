/**
 * Component tests over real HTTP for what an attacker tried on the gateway: taking over an account
 * through the IdP's email, ending a stranger's login, stretching a login past its 10 minutes,
 * identities too long or hostile to handle, a page framed by another site, a 429 with no hint of
 * when to come back. Each test failed before its rule was in place.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { ManualClock } from '../common/clock.ts';
import { browserLoginUrl, CLI_SSO_PATHS, joinUrl, parsePollAnswer, type StartAnswer } from '../protocol/cli-sso.ts';
import { startCuttingRelay } from './test-support/cutting-relay.ts';
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
import { redisSkipReason, startRedis } from './test-support/services.ts';

const VICTIM = { sub: 'v-1', email: 'vera@kiwi.example', email_verified: true, teams: ['team-vera'] };

let idp: RecordingIdp;
let proxy: ProxyUnderTest;
/** Gateways a test started for a configuration of its own, stopped after it. */
const extra: ProxyUnderTest[] = [];

before(async () => {
  idp = await startRecordingIdp({ clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, userinfo: VICTIM });
  proxy = await startProxyForTest(proxyEnv(idp.endpoints));
});
after(async () => {
  await proxy?.close();
  await idp?.close();
});
beforeEach(async () => {
  idp.userinfo = structuredClone(VICTIM);
  await Promise.all(extra.splice(0).map((p) => p.close()));
});
after(() => Promise.all(extra.map((p) => p.close())));

async function gatewayWith(env: Record<string, string>, clock?: ManualClock): Promise<ProxyUnderTest> {
  const started = await startProxyForTest(proxyEnv(idp.endpoints, env), clock);
  extra.push(started);
  return started;
}

const detailOf = (body: unknown) =>
  typeof body === 'object' && body !== null && 'detail' in body ? String(body.detail) : '';

/** A whole login as `userinfo`; the poll answer with the key, or the callback's refusal. */
async function logIn(base: string, userinfo: Record<string, unknown>) {
  idp.userinfo = userinfo;
  const start = await startLogin(base);
  const form = await openLoginForm(base, start.loginId);
  if (form.page.status !== 200) return { refused: form.page, start };
  const done = await postCode(form.action, {
    user_code: start.userCode,
    browser_complete_token: form.browserCompleteToken,
  });
  assert.equal(done.status, 200, JSON.stringify(done.body));
  const answer = await poll(base, start);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  const ready = parsePollAnswer(answer.body);
  assert.equal(ready.status, 'ready');
  return { ready: ready as Extract<typeof ready, { status: 'ready' }>, start };
}

describe('account takeover through the email (CLISSO-IDENTITY-07, CLISSO-IDENTITY-08)', () => {
  test("neither an unverified copy of a user's email nor a Kelvin-sign look-alike of it logs in as that user", async () => {
    const victim = await logIn(proxy.url, VICTIM);
    assert.equal(victim.ready?.userId, 'vera@kiwi.example');
    for (const attacker of [
      { sub: 'm-1', email: 'vera@kiwi.example', email_verified: false },
      { sub: 'm-2', email: 'vera@kiwi.example', email_verified: 'false' },
      { sub: 'm-3', email: 'VERA@\u212Aiwi.example', email_verified: true },
      { sub: 'm-4', email: 'vera@kiwi.example@evil.example', email_verified: true },
    ]) {
      const outcome = await logIn(proxy.url, attacker);
      assert.equal(
        outcome.refused?.status,
        400,
        `${attacker.sub}: ${JSON.stringify(outcome.ready ?? outcome.refused)}`,
      );
      assert.equal(parsePollAnswer((await poll(proxy.url, outcome.start)).body).status, 'pending');
    }
    // The victim's row still holds the victim's email.
    const row = await getJson(joinUrl(proxy.url, '/user/info?user_id=vera@kiwi.example'), {
      authorization: `Bearer ${TEST_MASTER_KEY}`,
    });
    assert.equal((row.body as { user_info: { user_email: string } }).user_info.user_email, 'vera@kiwi.example');
  });

  test('ALLOWED_EMAIL_DOMAINS lets in neither an unverified email, nor a look-alike, nor one with two @', async () => {
    const gateway = await gatewayWith({ ALLOWED_EMAIL_DOMAINS: 'kiwi.example' });
    const cases: Array<[Record<string, unknown>, number, RegExp]> = [
      [{ preferred_username: 'mallory', email: 'mallory@kiwi.example', email_verified: false }, 401, /unverified/],
      [{ preferred_username: 'mallory', email: 'mallory@\u212Aiwi.example' }, 400, /NFKC/],
      [{ preferred_username: 'mallory', email: 'x@evil.example@kiwi.example' }, 400, /exactly one "@"/],
    ];
    for (const [userinfo, status, why] of cases) {
      const outcome = await logIn(gateway.url, userinfo);
      assert.equal(outcome.refused?.status, status, JSON.stringify(userinfo));
      assert.match(detailOf(JSON.parse(outcome.refused?.body ?? '{}')), why);
    }
    const allowed = await logIn(gateway.url, { preferred_username: 'kim', email: 'Kim@KIWI.example' });
    assert.equal(allowed.ready?.userId, 'kim');
  });
});

describe('a stranger who knows the login id cannot end it (CLISSO-COMPLETE-07)', () => {
  test('posts without the browser token, and any post after the confirmation, count for nothing', async () => {
    const start = await startLogin(proxy.url);
    const stranger = (code: string, token?: string) =>
      postCode(joinUrl(proxy.url, CLI_SSO_PATHS.complete(start.loginId)), {
        user_code: code,
        ...(token === undefined ? {} : { browser_complete_token: token }),
      });
    const form = await openLoginForm(proxy.url, start.loginId);
    for (let i = 0; i < 6; i++) {
      assert.equal((await stranger('AAAA-AAAA')).status, 400);
      assert.equal((await stranger(start.userCode, 'guessed-token')).status, 400);
    }
    const done = await postCode(form.action, {
      user_code: start.userCode,
      browser_complete_token: form.browserCompleteToken,
    });
    assert.equal(done.status, 200, 'six strangers posts ended the login before the person typed the code');
    for (let i = 0; i < 6; i++) {
      assert.equal((await stranger('AAAA-AAAA')).status, 400);
      // Even the browser's own wrong codes no longer count once the code is confirmed.
      const wrong = await postCode(form.action, {
        user_code: 'AAAA-AAAA',
        browser_complete_token: form.browserCompleteToken,
      });
      assert.equal(wrong.status, 400);
    }
    const answer = await poll(proxy.url, start);
    assert.equal(parsePollAnswer(answer.body).status, 'ready', JSON.stringify(answer.body));
  });

  test("five wrong codes from the flow's own browser still end it (CLISSO-COMPLETE-05)", async () => {
    const start = await startLogin(proxy.url);
    const form = await openLoginForm(proxy.url, start.loginId);
    for (let i = 0; i < 5; i++) {
      await postCode(form.action, { user_code: 'AAAA-AAAA', browser_complete_token: form.browserCompleteToken });
    }
    assert.equal((await poll(proxy.url, start)).status, 400);
  });
});

describe('a login cannot be stretched past its lifetime (CLISSO-START-07, CLISSO-START-08)', () => {
  const visit = (base: string, start: StartAnswer) =>
    fetch(browserLoginUrl(base, start.loginId), { redirect: 'manual' }).then((r) => r.status);

  for (const pkce of ['false', 'true']) {
    test(`visits to the browser link do not move the 600 s (PKCE ${pkce})`, async () => {
      const clock = new ManualClock(Date.UTC(2026, 6, 1));
      const gateway = await gatewayWith({ GENERIC_CLIENT_USE_PKCE: pkce }, clock);
      const start = await startLogin(gateway.url);
      for (const seconds of [300, 290]) {
        clock.advanceSeconds(seconds);
        assert.equal(await visit(gateway.url, start), 303);
      }
      clock.advanceSeconds(11);
      assert.equal((await poll(gateway.url, start)).status, 400, 'the flow outlived 600 s');
      assert.equal(await visit(gateway.url, start), 400);
    });
  }

  test('the callback gives 600 s from then, a second sign-in does not (CLISSO-START-06, CLISSO-START-08)', async () => {
    const clock = new ManualClock(Date.UTC(2026, 6, 1));
    const gateway = await gatewayWith({}, clock);
    const start = await startLogin(gateway.url);
    clock.advanceSeconds(400);
    assert.equal((await openLoginForm(gateway.url, start.loginId)).page.status, 200);
    clock.advanceSeconds(500);
    assert.equal((await openLoginForm(gateway.url, start.loginId)).page.status, 200, 'a second sign-in at 900 s');
    clock.advanceSeconds(99);
    assert.equal(parsePollAnswer((await poll(gateway.url, start)).body).status, 'pending');
    clock.advanceSeconds(2);
    assert.equal((await poll(gateway.url, start)).status, 400, 'the second sign-in moved the end');
  });
});

describe('a stranger who opens the browser link cannot break the PKCE of a login', () => {
  test("a visit between the person's and the IdP's callback leaves the verifier the code is redeemed with", async () => {
    const gateway = await gatewayWith({ GENERIC_CLIENT_USE_PKCE: 'true' });
    const start = await startLogin(gateway.url);
    const link = browserLoginUrl(gateway.url, start.loginId);
    // The person's browser is sent to the IdP; before it comes back, a stranger opens the same link.
    const first = await fetch(link, { redirect: 'manual' });
    const second = await fetch(link, { redirect: 'manual' });
    const challenge = (r: Response) => new URL(r.headers.get('location') ?? '').searchParams.get('code_challenge');
    assert.ok(challenge(first));
    assert.equal(challenge(second), challenge(first));
    // The person's IdP round trip, from their own redirect: the code exchange must succeed.
    const atIdp = await fetch(first.headers.get('location') ?? '', { redirect: 'manual' });
    const callback = await fetch(atIdp.headers.get('location') ?? '', { redirect: 'manual' });
    assert.equal(callback.status, 200, await callback.text());
  });
});

describe('identities of hostile length or content (CLISSO-IDENTITY-09)', () => {
  test('are refused at the callback with a 4xx naming the claim, never a 500 or a key the gateway refuses', async () => {
    const long = 'x'.repeat(20_000);
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ preferred_username: long }, /"preferred_username" claim is 20000 characters long/],
      [{ sub: 's', email: `${long}@kiwi.example` }, /"email" claim is 20013 characters long/],
      [{ preferred_username: 'p', teams: [long] }, /team id in the IdP's "teams" claim is 20000 characters/],
      [{ preferred_username: 'dana\u001b]0;owned\u0007' }, /control characters/],
      [{ preferred_username: 'dana\u0000' }, /control characters/],
    ];
    for (const [userinfo, why] of cases) {
      const outcome = await logIn(proxy.url, { sub: 's', ...userinfo });
      assert.equal(outcome.refused?.status, 400, JSON.stringify(userinfo).slice(0, 80));
      const detail = detailOf(JSON.parse(outcome.refused?.body ?? '{}'));
      assert.match(detail, why);
      assert.ok(detail.length < 300 && !detail.includes('\u001b'), 'the detail echoes the hostile value');
    }
  });

  test('the longest identity accepted gets a key the gateway accepts', async () => {
    const outcome = await logIn(proxy.url, {
      sub: 's',
      preferred_username: 'u'.repeat(256),
      teams: ['t'.repeat(256)],
    });
    const key = outcome.ready?.key ?? '';
    assert.ok(key.length > 0);
    assert.equal((await getJson(joinUrl(proxy.url, '/models'), { authorization: `Bearer ${key}` })).status, 200);
  });
});

describe('security headers (CLISSO-CALLBACK-07) and Retry-After (CLISSO-START-09)', () => {
  /** The browser's way to the completion page, hop by hop, to read the page's own headers. */
  async function completionPageResponse(base: string, start: StartAnswer): Promise<Response> {
    let url = browserLoginUrl(base, start.loginId);
    for (let hop = 0; hop < 5; hop++) {
      const response = await fetch(url, { redirect: 'manual' });
      const location = response.headers.get('location');
      if (location === null) return response;
      url = new URL(location, url).toString();
    }
    throw new Error('too many redirects');
  }

  function assertPageHeaders(response: Response, what: string): void {
    const csp = response.headers.get('content-security-policy') ?? '';
    assert.match(csp, /frame-ancestors 'none'/, `${what}: ${csp}`);
    assert.match(csp, /default-src 'none'/, `${what}: ${csp}`);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff', what);
    assert.equal(response.headers.get('referrer-policy'), 'no-referrer', what);
  }

  test('the completion, success and UI pages forbid framing, sniffing and referrers; the CSP allows their style', async () => {
    const start = await startLogin(proxy.url);
    const page = await completionPageResponse(proxy.url, start);
    assert.equal(page.status, 200);
    assertPageHeaders(page, 'completion page');
    const html = await page.text();
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
    const hash = createHash('sha256').update(style).digest('base64');
    assert.ok(page.headers.get('content-security-policy')?.includes(`'sha256-${hash}'`), 'the page style is blocked');
    assert.match(page.headers.get('content-security-policy') ?? '', /form-action 'self'/);
    const token = /name="browser_complete_token" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const success = await fetch(joinUrl(proxy.url, CLI_SSO_PATHS.complete(start.loginId)), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ user_code: start.userCode, browser_complete_token: token }).toString(),
    });
    assert.equal(success.status, 200);
    assertPageHeaders(success, 'success page');
    assertPageHeaders(await fetch(joinUrl(proxy.url, '/ui/')), 'UI page');
  });

  test('JSON answers carry nosniff too', async () => {
    for (const response of [
      await fetch(joinUrl(proxy.url, CLI_SSO_PATHS.start), { method: 'POST' }),
      await fetch(joinUrl(proxy.url, CLI_SSO_PATHS.poll('cli-unknown-AAAAAAAAAAAAAAAAAAAA'))),
      await fetch(joinUrl(proxy.url, '/no/such/path')),
    ]) {
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', response.url);
    }
  });

  test('a 429 says when to come back: when the oldest start leaves the 60 s window', async () => {
    const clock = new ManualClock(Date.UTC(2026, 6, 1));
    const gateway = await gatewayWith({}, clock);
    for (let i = 0; i < 30; i++) {
      await startLogin(gateway.url);
      if (i === 0) clock.advanceSeconds(20);
    }
    const refused = await fetch(joinUrl(gateway.url, CLI_SSO_PATHS.start), { method: 'POST' });
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '40');
    clock.advanceSeconds(40);
    assert.equal((await fetch(joinUrl(gateway.url, CLI_SSO_PATHS.start), { method: 'POST' })).status, 200);
  });
});

const redisSkip = redisSkipReason({ path: process.env['PATH'] ?? '', uid: process.getuid?.() });

describe('a key whose answer was lost to a store failure', { skip: redisSkip }, () => {
  test('the same CLI polling again gets it; no one else does, and it is handed out once', async () => {
    const redis = await startRedis();
    const relay = await startCuttingRelay(redis.port);
    try {
      const clock = new ManualClock(Date.UTC(2026, 6, 1));
      const gateway = await gatewayWith({ REDIS_URL: `redis://127.0.0.1:${relay.port}` }, clock);
      const start = await loginUntilVerified(gateway.url);
      // The poll's write that hands out the key reaches Redis, which carries it out; its reply is lost.
      relay.cutAfterNext((request) => request.includes(start.loginId) && request.includes("'PUBLISH'"));
      const lost = await poll(gateway.url, start);
      assert.equal(relay.cuts, 1, 'the relay lost no reply');
      assert.equal(lost.status, 503, JSON.stringify(lost.body));
      clock.advanceSeconds(2);
      // Someone with the login id but not the poll secret gets nothing.
      const stranger = await eventually(
        'an answer to a stranger other than 503 (the store reconnects)',
        () =>
          poll(gateway.url, { loginId: start.loginId, pollSecret: 'not-the-poll-secret-AAAAAAAAAAAAAAAAAAAAAAAAAAAA' }),
        (a) => a.status !== 503,
      );
      assert.equal(stranger.status, 403);
      // The CLI keeps polling through the 503s of a reconnecting store, as CLIs do (CLISSO-CLI-16).
      const retried = await eventually(
        'an answer other than 503',
        () => poll(gateway.url, start),
        (a) => a.status !== 503,
      );
      assert.equal(retried.status, 200, JSON.stringify(retried.body));
      const ready = parsePollAnswer(retried.body);
      assert.equal(ready.status, 'ready');
      const key = ready.status === 'ready' ? ready.key : '';
      assert.equal((await getJson(joinUrl(gateway.url, '/models'), { authorization: `Bearer ${key}` })).status, 200);
      // Handed out: the flow is gone (CLISSO-POLL-07).
      assert.equal((await poll(gateway.url, start)).status, 400);
    } finally {
      await Promise.all(extra.splice(0).map((p) => p.close()));
      await relay.close();
      await redis.destroy();
    }
  });

  test('polls sent at the same moment: exactly one gets the key, the others 400 (CLISSO-POLL-11)', async () => {
    const start = await loginUntilVerified(proxy.url);
    const answers = await Promise.all(Array.from({ length: 8 }, () => poll(proxy.url, start)));
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 400, 400, 400, 400, 400, 400, 400]);
  });
});
