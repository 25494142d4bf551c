/**
 * Property-based tests (fast-check): the claim-map parser and filters (docs/contract.md section 5),
 * and bad input on every endpoint over real HTTP: malformed ids, headers, bodies and query strings
 * never get a 5xx and never crash the proxy.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { decodeJwt } from 'jose';
import {
  BLOCKED_KEY_WORDS,
  blockedKeyWords,
  buildAttributionMetadata,
  CLAIM_RULES,
  checkDestinationKey,
  isAllowedMetadataValue,
  nestAttributionMetadata,
  parseClaimMap,
} from '../protocol/claim-map.ts';
import { CLI_SESSION_PATHS } from '../protocol/cli-sessions.ts';
import { parsePollAnswer } from '../protocol/cli-sso.ts';
import { sessionIdOf } from './cli-sessions.ts';
import { captureExtraAttributes } from './identity.ts';
import { preferredWaitSeconds } from './prefer-wait.ts';
import { proxyEnv, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_MASTER_KEY } from './test-support/proxy-env.ts';
import { loginUntilVerified, type ProxyUnderTest, poll, startProxyForTest } from './test-support/proxy-under-test.ts';
import { type RecordingIdp, startRecordingIdp } from './test-support/recording-idp.ts';

const keyPart = fc.stringMatching(/^[A-Za-z0-9_]{1,12}$/);
const anyClaimValue = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(keyPart, fc.string(), { maxKeys: 3 }),
  fc.string({ minLength: 1020, maxLength: 1100 }),
  fc.tuple(keyPart, keyPart).map(([a, b]) => `eyJ${a}.${b}.sig`),
);

describe('claim map parser and filters', () => {
  test('parseClaimMap never throws and keeps only trimmed, non-empty pairs with unique destinations', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'b', '.', ',', '-', '>', ' ', 'metadata.', '\t', 'é') }),
        (raw) => {
          const mappings = parseClaimMap(raw);
          for (const { source, destination } of mappings) {
            assert.ok(source !== '' && source === source.trim() && !source.includes(','));
            assert.ok(destination !== '' && destination === destination.trim());
          }
          assert.equal(new Set(mappings.map((m) => m.destination)).size, mappings.length);
        },
      ),
    );
  });

  test('well-formed pairs: order of last occurrence kept, later pair for a destination wins', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(keyPart, fc.constantFrom('x', 'y', 'metadata.x', 'z')), { maxLength: 8 }),
        (pairs) => {
          const raw = pairs.map(([s, d]) => ` ${s} -> ${d} `).join(',');
          const expected = new Map<string, string>();
          for (const [source, dest] of pairs) {
            const destination = dest.replace(/^metadata\./, '');
            expected.delete(destination);
            expected.set(destination, source);
          }
          assert.deepEqual(
            parseClaimMap(raw),
            [...expected].map(([destination, source]) => ({ source, destination })),
          );
        },
      ),
    );
  });

  test('attribution metadata only ever holds allowed keys and values, and never touches prototypes', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            keyPart,
            fc.oneof(keyPart, fc.constantFrom(...BLOCKED_KEY_WORDS, '__proto__.x', 'a b', 'org.cc', 'ok-key')),
          ),
          { maxLength: 8 },
        ),
        fc.dictionary(keyPart, anyClaimValue, { maxKeys: 8 }),
        (pairs, userinfo) => {
          const mappings = parseClaimMap(pairs.map(([s, d]) => `${s}->${d}`).join(','));
          for (const rules of Object.values(CLAIM_RULES)) {
            const captured = captureExtraAttributes(userinfo, Object.keys(userinfo));
            const flat = buildAttributionMetadata(mappings, captured, rules);
            for (const [key, value] of Object.entries(flat)) {
              assert.ok(checkDestinationKey(key, rules).allowed, key);
              assert.ok(!blockedKeyWords(rules).some((w) => key.toLowerCase().includes(w)), key);
              assert.ok(isAllowedMetadataValue(value), JSON.stringify(value));
              assert.equal(value, userinfo[mappings.find((m) => m.destination === key)?.source ?? '']);
            }
            nestAttributionMetadata(flat, rules);
          }
          assert.equal(Object.keys(Object.prototype).length, 0, 'Object.prototype polluted');
        },
      ),
    );
  });

  test('Prefer: wait parsing never throws and stays within 1..30', () => {
    fc.assert(
      fc.property(fc.string(), (header) => {
        const wait = preferredWaitSeconds(header);
        assert.ok(wait === undefined || (Number.isInteger(wait) && wait >= 1 && wait <= 30));
      }),
    );
    assert.equal(preferredWaitSeconds('respond-async, wait=100'), 30);
    assert.equal(preferredWaitSeconds('WAIT = "5"'), 5);
  });
});

describe('bad input on every endpoint: never a 5xx, never a crash', () => {
  let idp: RecordingIdp;
  let proxy: ProxyUnderTest;
  let liveLoginId = '';

  before(async () => {
    idp = await startRecordingIdp({
      clientId: TEST_CLIENT_ID,
      clientSecret: TEST_CLIENT_SECRET,
      userinfo: { preferred_username: 'fuzz', email: 'fuzz@example.com', teams: ['a', 'b'] },
    });
    proxy = await startProxyForTest(proxyEnv(idp.endpoints));
    // One real, verified flow, so some inputs reach the deeper rules (secret, team selection).
    liveLoginId = (await loginUntilVerified(proxy.url)).loginId;
  });
  after(async () => {
    await proxy?.close();
    await idp?.close();
  });

  /** Printable ASCII only: fetch itself refuses other header bytes, before any request is sent. */
  const headerValue = fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: 80,
  });
  const loginIdLike = fc.oneof(
    fc.string({ maxLength: 140 }),
    fc.stringMatching(/^cli-[A-Za-z0-9_-]{0,130}$/),
    fc.constantFrom('cli-', '%', '%E0%A4%A', '..', 'sk-1234', '__proto__', 'constructor'),
    fc.constant('').map(() => liveLoginId),
  );
  const queryValue = fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom('litellm-cli', '', '%00', '[]'));
  const segment = (value: string) => (value.startsWith('%') ? value : encodeURIComponent(value));
  const runs = { numRuns: 30 };

  async function expectNo5xx(label: string, input: string | URL, init: RequestInit = {}): Promise<void> {
    const response = await fetch(input, { redirect: 'manual', ...init });
    await response.arrayBuffer();
    assert.ok(response.status < 500, `${label} answered ${response.status}`);
  }

  test('POST /sso/cli/start with any body and headers', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 200 }), headerValue, async (body, contentType) => {
        await expectNo5xx('start', `${proxy.url}/sso/cli/start`, {
          method: 'POST',
          body,
          headers: { 'content-type': contentType },
        });
      }),
      { numRuns: 20 },
    );
  });

  test('GET /sso/key/generate with any query', async () => {
    await fc.assert(
      fc.asyncProperty(queryValue, loginIdLike, fc.boolean(), async (source, key, repeat) => {
        const q = new URLSearchParams({ source, key });
        if (repeat) q.append('key', key);
        await expectNo5xx('key/generate', `${proxy.url}/sso/key/generate?${q}`);
      }),
      runs,
    );
  });

  test('GET /sso/callback with any code, state and error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          queryValue,
          loginIdLike.map((id) => `litellm-session-token:${id}`),
        ),
        queryValue,
        fc.option(queryValue),
        headerValue,
        async (state, code, error, cookie) => {
          const q = new URLSearchParams({ state, code });
          if (error !== null) q.set('error', error);
          await expectNo5xx('callback', `${proxy.url}/sso/callback?${q}`, { headers: { cookie } });
        },
      ),
      runs,
    );
  });

  test('POST /sso/cli/complete/{id} with any id, body and content type', async () => {
    await fc.assert(
      fc.asyncProperty(
        loginIdLike,
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc
            .record({ user_code: fc.string(), browser_complete_token: fc.string() })
            .map((r) => new URLSearchParams(r).toString()),
        ),
        fc.constantFrom(
          'application/x-www-form-urlencoded',
          'application/json',
          'text/plain; charset=latin1',
          'multipart/form-data',
          'x/y; charset=klingon',
          '',
        ),
        async (id, body, contentType) => {
          const headers: Record<string, string> = contentType === '' ? {} : { 'content-type': contentType };
          await expectNo5xx('complete', `${proxy.url}/sso/cli/complete/${segment(id)}`, {
            method: 'POST',
            body,
            headers,
          });
        },
      ),
      runs,
    );
    await expectNo5xx('complete (too large)', `${proxy.url}/sso/cli/complete/${liveLoginId}`, {
      method: 'POST',
      body: 'x'.repeat(100_000),
    });
  });

  test('GET /sso/cli/poll/{id} with any id, secret, Prefer and team_id', async () => {
    await fc.assert(
      fc.asyncProperty(
        loginIdLike,
        headerValue,
        fc.option(headerValue),
        fc.option(queryValue),
        async (id, secret, prefer, teamId) => {
          const headers: Record<string, string> = { 'x-litellm-cli-poll-secret': secret };
          // Short waits only: a long one is a valid request that simply takes long.
          if (prefer !== null) headers['prefer'] = prefer.replace(/wait\s*=\s*"?\d+/gi, 'wait=0');
          const url = new URL(`${proxy.url}/sso/cli/poll/${segment(id)}`);
          if (teamId !== null) url.searchParams.append('team_id', teamId);
          await expectNo5xx('poll', url, { headers });
        },
      ),
      runs,
    );
  });

  test('API routes with any Authorization header and query', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/models', '/v1/models', '/user/info', '/ui/', '/health/liveliness'),
        fc.oneof(
          headerValue,
          headerValue.map((v) => `Bearer ${v}`),
          fc.constant(`Bearer ${TEST_MASTER_KEY}`),
        ),
        queryValue,
        async (path, authorization, userId) => {
          await expectNo5xx(path, `${proxy.url}${path}?user_id=${encodeURIComponent(userId)}`, {
            headers: { authorization, cookie: `litellm_ui_session=${userId}` },
          });
        },
      ),
      runs,
    );
  });

  test('odd methods and paths', async () => {
    for (const [method, path] of [
      ['GET', '/sso/cli/start'],
      ['PUT', '/sso/cli/poll/cli-AAAAAAAAAAAAAAAA'],
      ['DELETE', '/models'],
      ['GET', '/sso/cli/poll/%E0%A4%A'],
      ['GET', '/sso/cli/poll/'],
      ['POST', '/sso/callback'],
    ] as const) {
      await expectNo5xx(`${method} ${path}`, `${proxy.url}${path}`, { method });
    }
    assert.equal((await fetch(`${proxy.url}/health/liveliness`)).status, 200, 'still alive');
  });
});

describe('the CLI session registry under bad input: never a 5xx, never a crash, non-admins refused', () => {
  let idp: RecordingIdp;
  let proxy: ProxyUnderTest;
  /** A CLI key of an ordinary user, one of a proxy admin, and the session ids of two logins. */
  let userKey = '';
  let adminKey = '';
  let userSessionId = '';
  let otherSessionId = '';

  /** A classic login through to the key, as this user with this role. */
  async function loginKey(user: string, role: string): Promise<string> {
    idp.userinfo = { preferred_username: user, email: `${user}@example.com`, role, teams: ['t1'] };
    const start = await loginUntilVerified(proxy.url);
    const ready = parsePollAnswer((await poll(proxy.url, start)).body);
    assert.equal(ready.status, 'ready', `the login of ${user} handed out no key`);
    return ready.status === 'ready' ? ready.key : '';
  }

  const sessionIdOfKey = (key: string) => sessionIdOf(String(decodeJwt(key)['sid']));

  before(async () => {
    idp = await startRecordingIdp({ clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, userinfo: {} });
    proxy = await startProxyForTest(proxyEnv(idp.endpoints));
    userKey = await loginKey('uma', 'internal_user');
    adminKey = await loginKey('ada', 'proxy_admin');
    userSessionId = sessionIdOfKey(userKey);
    otherSessionId = sessionIdOfKey(await loginKey('tess', 'internal_user'));
  });
  after(async () => {
    await proxy?.close();
    await idp?.close();
  });

  type Caller = 'no key' | 'junk key' | 'user key' | 'admin key' | 'master key';
  const caller = fc.constantFrom<Caller>('no key', 'junk key', 'user key', 'admin key', 'master key');
  const isAdmin = (who: Caller) => who === 'admin key' || who === 'master key';
  function authorization(who: Caller, junk: string): Record<string, string> {
    switch (who) {
      case 'no key':
        return {};
      case 'junk key':
        return { authorization: junk };
      case 'user key':
        return { authorization: `Bearer ${userKey}` };
      case 'admin key':
        return { authorization: `Bearer ${adminKey}` };
      case 'master key':
        return { authorization: `Bearer ${TEST_MASTER_KEY}` };
    }
  }

  /** Printable ASCII only: fetch itself refuses other header bytes, before any request is sent. */
  const headerValue = fc.string({
    unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
    maxLength: 80,
  });
  const junkAuthorization = fc.oneof(
    headerValue,
    headerValue.map((v) => `Bearer ${v}`),
    fc.constantFrom('Bearer ', 'Basic Zm9vOmJhcg==', `Bearer ${TEST_MASTER_KEY}x`, 'bearer sk-1234'),
  );
  /** Headers a client may send besides Authorization, with any printable values. */
  const otherHeaders = fc.dictionary(
    fc.oneof(
      fc.constantFrom('accept', 'content-type', 'cookie', 'x-forwarded-for', 'x-forwarded-proto', 'origin', 'range'),
      fc.stringMatching(/^x-[a-z0-9-]{1,20}$/),
    ),
    headerValue,
    { maxKeys: 4 },
  );
  /** Query strings as sent on the wire: well-formed pairs, odd numbers, and raw junk (bad escapes included). */
  const rawQuery = fc.oneof(
    fc
      .dictionary(
        fc.constantFrom('page', 'page_size', 'user_id', 'team_id', '__proto__', 'page[]'),
        fc.oneof(
          fc.string({ maxLength: 30 }),
          fc.integer().map(String),
          fc.constantFrom('0', '-1', '1e3', '100', '101', '999999999999', 'NaN', ''),
        ),
        { maxKeys: 4 },
      )
      .map((pairs) => new URLSearchParams(pairs).toString()),
    fc.string({
      unit: fc.constantFrom('page', '=', '&', '%', 'E0', 'A4', '1', '[', ']', '.', '+', ' '),
      maxLength: 40,
    }),
  );
  /** A session id as a path segment: printable junk, unicode, dots, very long, bad escapes, real ids. */
  const sessionIdSegment = fc.oneof(
    fc.string({ maxLength: 60 }).map(encodeURIComponent),
    fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent),
    fc.string({ minLength: 2000, maxLength: 9000 }).map(encodeURIComponent),
    fc.constantFrom('.', '..', '%2e', '%2E%2E', '...', '%00', '%', '%E0%A4%A', '%ZZ', '%2F', 'a%2Fb', '__proto__'),
    fc.constant('').map(() => encodeURIComponent(userSessionId)),
    fc.constant('').map(() => encodeURIComponent(otherSessionId)),
    fc.constant('').map(() => `${encodeURIComponent(otherSessionId)}%20`),
  );
  const body = fc.oneof(
    fc.constant(undefined),
    fc.string({ maxLength: 300 }),
    fc.json(),
    fc.constant('x'.repeat(200_000)),
  );
  const contentType = fc.constantFrom(
    'application/json',
    'application/x-www-form-urlencoded',
    'text/plain; charset=latin1',
    'multipart/form-data',
    'x/y; charset=klingon',
    '',
  );
  const runs = { numRuns: 60 };

  async function send(url: string, init: RequestInit): Promise<number> {
    const response = await fetch(url, { redirect: 'manual', ...init });
    await response.arrayBuffer();
    return response.status;
  }

  test('GET /cli/session/list with any query and headers', async () => {
    await fc.assert(
      fc.asyncProperty(caller, junkAuthorization, rawQuery, otherHeaders, async (who, junk, query, headers) => {
        const url = `${proxy.url}${CLI_SESSION_PATHS.list}${query === '' ? '' : `?${query}`}`;
        const status = await send(url, { headers: { ...headers, ...authorization(who, junk) } });
        assert.ok(status < 500, `${who}: GET ${url.slice(0, 200)} answered ${status}`);
        if (isAdmin(who)) assert.ok([200, 400].includes(status), `${who}: list answered ${status}`);
        else assert.ok([401, 403].includes(status), `${who}: list answered ${status}, not 401 or 403`);
      }),
      runs,
    );
  });

  test('POST /cli/session/{id}/revoke with any id, body and content type', async () => {
    await fc.assert(
      fc.asyncProperty(
        caller,
        junkAuthorization,
        sessionIdSegment,
        body,
        contentType,
        async (who, junk, segment, payload, type) => {
          const url = new URL(`${proxy.url}${CLI_SESSION_PATHS.revoke('SEGMENT')}`.replace('SEGMENT', segment));
          const headers: Record<string, string> = { ...authorization(who, junk) };
          if (type !== '') headers['content-type'] = type;
          const status = await send(url.href, {
            method: 'POST',
            headers,
            ...(payload === undefined ? {} : { body: payload }),
          });
          const label = `${who}: POST ${url.pathname.slice(0, 200)} (${type || 'no content type'})`;
          assert.ok(status < 500, `${label} answered ${status}`);
          // Dots and empty segments are resolved by the URL itself: such a request names another path.
          const revokeRoute = /^\/cli\/session\/[^/]+\/revoke$/.test(url.pathname);
          if (revokeRoute && !isAdmin(who)) {
            assert.ok([401, 403].includes(status), `${label} answered ${status}, not 401 or 403`);
          }
          // An admin's id that does not decode is the client's mistake: 400.
          if (revokeRoute && isAdmin(who)) assert.ok([200, 400, 404].includes(status), `${label} answered ${status}`);
        },
      ),
      runs,
    );
  });

  test('afterwards the proxy still answers, and only what an admin revoked is refused', async () => {
    assert.equal((await fetch(`${proxy.url}/health/liveliness`)).status, 200, 'still alive');
    const listed = await fetch(`${proxy.url}${CLI_SESSION_PATHS.list}`, {
      headers: { authorization: `Bearer ${adminKey}` },
    });
    assert.equal(listed.status, 200, 'the admin key no longer lists the sessions');
    const sessions = ((await listed.json()) as { sessions: Array<{ session_id: string }> }).sessions;
    assert.ok(
      sessions.some((s) => s.session_id === sessionIdOfKey(adminKey)),
      "the admin's own session is gone from the list",
    );
  });
});
