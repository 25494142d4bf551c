/**
 * MockIdp.signIn (the user's part of an authorization, for a relying party's tests),
 * MockIdp.gatewayEnv and the library defaults, over real HTTP.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { type MockIdp, SignInError, startMockIdp } from './index.ts';
import { authorizeUrl, tokenRequest, tokenResponse, userinfo } from './test-relying-party.ts';

/** Nothing listens here: signIn must stop at the redirect, not follow it. */
const REDIRECT_URI = 'http://127.0.0.1:9/sso/callback';

let idp: MockIdp;
before(async () => {
  idp = await startMockIdp();
});
after(() => idp.close());
beforeEach(() => idp.reset());

describe('signIn', () => {
  test('signs in as the named user and returns the redirect back with code and state, unvisited', async () => {
    const back = await idp.signIn(authorizeUrl(idp, REDIRECT_URI, { state: 'xyz' }), { username: 'bob' });
    assert.equal(`${back.origin}${back.pathname}`, REDIRECT_URI);
    assert.equal(back.searchParams.get('state'), 'xyz');
    const code = back.searchParams.get('code');
    assert.ok(code);
    const answer = await tokenRequest(idp, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    const claims = await userinfo(idp, tokenResponse.parse(answer.body).access_token);
    assert.equal((claims.body as { sub?: string }).sub, 'bob');
  });

  test('with a password, the password form is used and a wrong password is refused with the page words', async () => {
    const url = authorizeUrl(idp, REDIRECT_URI);
    const back = await idp.signIn(url, { username: 'carol', password: 'carol-password' });
    assert.ok(back.searchParams.get('code'));
    const refused = await idp.signIn(url, { username: 'carol', password: 'wrong' }).catch((e: unknown) => e);
    assert.ok(refused instanceof SignInError);
    assert.equal(refused.status, 401);
    assert.match(refused.message, /Wrong username or password/);
    assert.doesNotMatch(refused.url, /\?/);
  });

  test('an unknown user is refused, naming the user', async () => {
    await assert.rejects(idp.signIn(authorizeUrl(idp, REDIRECT_URI), { username: 'nobody' }), (error: unknown) => {
      assert.ok(error instanceof SignInError);
      assert.equal(error.status, 401);
      assert.match(error.message, /No user named "nobody"/);
      return true;
    });
  });

  test('without a username the login page is an error that says what to pass', async () => {
    await assert.rejects(idp.signIn(authorizeUrl(idp, REDIRECT_URI)), /pass options.username/);
  });

  test('auto-login and login_hint need no username', async () => {
    idp.setAutoLogin('alice');
    assert.ok((await idp.signIn(authorizeUrl(idp, REDIRECT_URI))).searchParams.get('code'));
    idp.setAutoLogin(undefined);
    const hinted = await idp.signIn(authorizeUrl(idp, REDIRECT_URI, { login_hint: 'bob' }));
    assert.ok(hinted.searchParams.get('code'));
  });

  test('an authorization error goes back to the relying party as a URL with error', async () => {
    idp.faults.inject({ endpoint: 'authorization', kind: 'oauth_error', error: 'temporarily_unavailable' });
    const back = await idp.signIn(authorizeUrl(idp, REDIRECT_URI, { state: 's1' }), { username: 'alice' });
    assert.equal(back.searchParams.get('error'), 'temporarily_unavailable');
    assert.equal(back.searchParams.get('state'), 's1');
  });

  test('a redirect URI the client does not have is an error page: SignInError with the IdP words', async () => {
    const url = authorizeUrl(idp, 'https://elsewhere.example/cb');
    await assert.rejects(idp.signIn(url, { username: 'alice' }), (error: unknown) => {
      assert.ok(error instanceof SignInError);
      assert.equal(error.status, 400);
      assert.match(error.message, /redirect_uri/);
      return true;
    });
  });
});

describe('gatewayEnv', () => {
  test('the GENERIC_* variables of the first client, as the banner prints them', () => {
    assert.deepEqual(idp.gatewayEnv(), {
      GENERIC_CLIENT_ID: 'litellm-cli-test',
      GENERIC_CLIENT_SECRET: 'litellm-cli-test-secret',
      GENERIC_AUTHORIZATION_ENDPOINT: `${idp.url}/authorize`,
      GENERIC_TOKEN_ENDPOINT: `${idp.url}/token`,
      GENERIC_USERINFO_ENDPOINT: `${idp.url}/userinfo`,
    });
  });

  test('an unknown client id is an error naming the known ones', () => {
    assert.throws(() => idp.gatewayEnv('nope'), /no client nope \(known: litellm-cli-test\)/);
  });

  test('a public client has no GENERIC_CLIENT_SECRET', async () => {
    const publicIdp = await startMockIdp({
      clients: [{ clientId: 'cli', redirectUris: [REDIRECT_URI], authMethod: 'none', requirePkce: true }],
    });
    try {
      assert.equal(publicIdp.gatewayEnv().GENERIC_CLIENT_SECRET, undefined);
      assert.equal(publicIdp.gatewayEnv('cli').GENERIC_CLIENT_ID, 'cli');
    } finally {
      await publicIdp.close();
    }
  });
});

test('with no options the mock listens on a free loopback port, not 8765', () => {
  assert.notEqual(idp.port, 8765);
  assert.equal(idp.url, `http://127.0.0.1:${idp.port}`);
});

test('journal.requests and journal.events split the journal by type', async () => {
  await idp.signIn(authorizeUrl(idp, REDIRECT_URI), { username: 'alice' });
  const requests = idp.journal.requests({ endpoint: 'authorization' });
  assert.ok(requests.length > 0);
  assert.ok(requests.every((e) => e.type === 'request' && e.endpoint === 'authorization'));
  const events = idp.journal.events({ event: 'authorization.success' });
  assert.equal(events.length, 1);
  assert.deepEqual(
    idp.journal.query({ type: 'event' }).map((e) => e.seq),
    idp.journal.events().map((e) => e.seq),
  );
});
