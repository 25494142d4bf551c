/**
 * Component tests over real HTTP: LiteLLM's local-testing recipe (paths, client, default user),
 * the loopback redirect rule, and the login page contract the suite's page objects rely on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parse as parseHtml } from 'node-html-parser';
import { z } from 'zod';
import { type MockIdp, startBanner, startMockIdp } from './index.ts';
import {
  authorizationCode,
  authorizeUrl,
  type CallbackServer,
  callbackParams,
  HttpBrowser,
  pressButton,
  signInWithPassword,
  startCallbackServer,
  tokenRequest,
  tokenResponse,
  userinfo,
} from './test-relying-party.ts';

const discovery = z.object({
  issuer: z.string(),
  authorization_endpoint: z.string(),
  token_endpoint: z.string(),
  userinfo_endpoint: z.string(),
  jwks_uri: z.string(),
  scopes_supported: z.array(z.string()),
});

describe('mock IdP as LiteLLM local-testing IdP', () => {
  let idp: MockIdp;
  let callback: CallbackServer;
  before(async () => {
    idp = await startMockIdp({ port: 0 });
    callback = await startCallbackServer();
  });
  after(async () => {
    await callback.close();
    await idp.close();
  });

  test('issuer defaults to the bound address and discovery lists LiteLLM paths', async () => {
    assert.equal(idp.issuer, idp.url);
    assert.match(idp.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${idp.url}/.well-known/openid-configuration`);
    assert.equal(response.status, 200);
    const body = discovery.parse(await response.json());
    assert.equal(body.issuer, idp.issuer);
    assert.equal(body.authorization_endpoint, `${idp.url}/authorize`);
    assert.equal(body.token_endpoint, `${idp.url}/token`);
    assert.equal(body.userinfo_endpoint, `${idp.url}/userinfo`);
    for (const scope of ['openid', 'email', 'profile']) assert.ok(body.scopes_supported.includes(scope));
  });

  test('the start banner prints the issuer, client credentials, users and GENERIC_* lines', () => {
    const text = startBanner(idp);
    assert.match(text, new RegExp(`issuer: +${idp.issuer}`));
    assert.match(text, /client litellm-cli-test \/ litellm-cli-test-secret: auth client_secret_basic/);
    assert.match(text, /users: +cli-test-user, alice, bob, mallory, carol \(built-in cast\)/);
    for (const line of [
      'GENERIC_CLIENT_ID=litellm-cli-test',
      'GENERIC_CLIENT_SECRET=litellm-cli-test-secret',
      `GENERIC_AUTHORIZATION_ENDPOINT=${idp.url}/authorize`,
      `GENERIC_TOKEN_ENDPOINT=${idp.url}/token`,
      `GENERIC_USERINFO_ENDPOINT=${idp.url}/userinfo`,
    ]) {
      assert.ok(text.split('\n').includes(line), line);
    }
  });

  test('/health answers 200 JSON', async () => {
    const response = await fetch(`${idp.url}/health`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
    assert.deepEqual(await response.json(), { status: 'ok', issuer: idp.issuer });
  });

  test('every path reaches the same handler in any case: health, the login pages, the control API, the provider', async () => {
    for (const path of ['/health', '/HEALTH', '/health/']) {
      const response = await fetch(`${idp.url}${path}`);
      assert.deepEqual(await response.json(), { status: 'ok', issuer: idp.issuer }, path);
    }
    for (const path of ['/_mock', '/_MOCK']) {
      const response = await fetch(`${idp.url}${path}`);
      assert.equal(response.status, 200, path);
      assert.ok(z.object({ issuer: z.string() }).safeParse(await response.json()).success, path);
    }
    const page = await fetch(`${idp.url}/Interaction/no-such-uid`);
    assert.equal(page.status, 400);
    assert.match(await page.text(), /role="alert"/);
    for (const path of ['/healthz', '/nowhere', '/health.json']) {
      const response = await fetch(`${idp.url}${path}`);
      assert.equal(response.status, 404, path);
      assert.equal(await response.text(), 'Not Found', `${path}: oidc-provider's answer to a path it does not serve`);
    }
  });

  test('code flow with client_secret_basic returns every claim of the default user at userinfo', async () => {
    const { code, redirectUri } = await authorizationCode(idp, callback, 'cli-test-user');
    const token = await tokenRequest(
      idp,
      { grant_type: 'authorization_code', code, redirect_uri: redirectUri },
      'basic',
    );
    assert.equal(token.status, 200, JSON.stringify(token.body));
    const tokens = tokenResponse.parse(token.body);
    const info = await userinfo(idp, tokens.access_token);
    assert.equal(info.status, 200);
    assert.deepEqual(info.body, {
      sub: 'cli-test-user',
      preferred_username: 'cli-test-user',
      email: 'cli-test@example.com',
      email_verified: true,
      name: 'CLI Test User',
      employment_type: 'contractor',
      org_info: { department: 'Engineering' },
    });
  });

  test('code flow with client_secret_post (GENERIC_INCLUDE_CLIENT_ID) works too', async () => {
    const { code, redirectUri } = await authorizationCode(idp, callback, 'alice');
    const token = await tokenRequest(
      idp,
      { grant_type: 'authorization_code', code, redirect_uri: redirectUri },
      'post',
    );
    assert.equal(token.status, 200, JSON.stringify(token.body));
    const info = await userinfo(idp, tokenResponse.parse(token.body).access_token);
    const claims = z.record(z.string(), z.unknown()).parse(info.body);
    assert.deepEqual(claims['org_info'], { department: 'Research', cost_center: 'CC-42' });
    assert.deepEqual(claims['teams'], ['team-alpha']);
    assert.equal(claims['employee_number'], '42');
  });

  test('a wrong client secret is refused with invalid_client', async () => {
    const token = await tokenRequest(
      idp,
      { grant_type: 'authorization_code', code: 'x', redirect_uri: 'http://127.0.0.1/' },
      'basic',
      {
        id: 'litellm-cli-test',
        secret: 'wrong',
      },
    );
    assert.equal(token.status, 401);
    assert.equal(z.object({ error: z.string() }).parse(token.body).error, 'invalid_client');
  });

  test('any port is accepted on a loopback redirect URI (RFC 8252 section 7.3), other hosts and paths are not', async () => {
    const browser = new HttpBrowser();
    for (const redirectUri of ['http://127.0.0.1:1/sso/callback', 'http://localhost:65000/sso/callback']) {
      const page = await browser.get(authorizeUrl(idp, redirectUri));
      assert.equal(page.status, 200, redirectUri);
      assert.match(page.url, /\/interaction\//);
    }
    for (const redirectUri of [
      'http://127.0.0.2:4000/sso/callback',
      'http://127.0.0.1:4000/sso/other',
      'https://127.0.0.1:4000/sso/callback',
      'http://evil.example:4000/sso/callback',
    ]) {
      const page = await browser.get(authorizeUrl(idp, redirectUri));
      assert.equal(page.status, 400, redirectUri);
      assert.match(page.body, /redirect_uri/);
    }
  });

  test('the token endpoint insists on the redirect URI the code was issued for', async () => {
    const { code } = await authorizationCode(idp, callback, 'bob');
    const token = await tokenRequest(idp, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: 'http://127.0.0.1:4000/sso/callback',
    });
    assert.equal(token.status, 400);
    assert.equal(z.object({ error: z.string() }).parse(token.body).error, 'invalid_grant');
  });
});

describe('login page', () => {
  let idp: MockIdp;
  let callback: CallbackServer;
  before(async () => {
    idp = await startMockIdp({ port: 0 });
    callback = await startCallbackServer();
  });
  after(async () => {
    await callback.close();
    await idp.close();
  });

  test('has the heading, a button per user, a labelled username/password form and a Deny button', async () => {
    const page = await new HttpBrowser().get(authorizeUrl(idp, callback.redirectUri));
    assert.equal(page.status, 200);
    const root = parseHtml(page.body);
    assert.equal(root.querySelector('h1')?.text, 'Sign in to Mock IdP');
    const buttons = root.querySelectorAll('button').map((b) => b.text.trim());
    for (const user of ['cli-test-user', 'alice', 'bob', 'mallory', 'carol']) {
      assert.ok(buttons.includes(`Sign in as ${user}`), user);
    }
    assert.ok(buttons.includes('Sign in'));
    assert.ok(buttons.includes('Deny'));
    for (const label of ['Username', 'Password']) {
      const element = root.querySelectorAll('label').find((l) => l.text.trim() === label);
      assert.ok(element, `label ${label}`);
      const input = root.querySelector(`#${element.getAttribute('for')}`);
      assert.equal(input?.tagName, 'INPUT');
    }
    for (const form of root.querySelectorAll('form')) {
      assert.match(form.getAttribute('action') ?? '', /^\/interaction\/[^/]+\//);
    }
  });

  test('Deny sends access_denied to the client', async () => {
    const browser = new HttpBrowser();
    const page = await browser.get(authorizeUrl(idp, callback.redirectUri));
    const landed = await pressButton(browser, page, 'Deny');
    const params = callbackParams(landed);
    assert.equal(params.get('error'), 'access_denied');
    assert.equal(params.get('state'), 'state-123');
    assert.equal(params.get('code'), null);
  });

  test('a wrong password shows an alert; the right one signs carol in', async () => {
    const browser = new HttpBrowser();
    const page = await browser.get(authorizeUrl(idp, callback.redirectUri));
    const refused = await signInWithPassword(browser, page, 'carol', 'not-her-password');
    assert.equal(refused.status, 401);
    assert.match(parseHtml(refused.body).querySelector('[role="alert"]')?.text ?? '', /Wrong username or password/);
    assert.doesNotMatch(refused.body, /not-her-password/);
    const landed = await signInWithPassword(browser, refused, 'carol', 'carol-password');
    assert.ok(callbackParams(landed).get('code'));
  });

  test('a user without a password accepts any password; an unknown user gets an alert', async () => {
    const browser = new HttpBrowser();
    const page = await browser.get(authorizeUrl(idp, callback.redirectUri));
    const unknown = await signInWithPassword(browser, page, 'nobody', 'x');
    assert.equal(unknown.status, 401);
    assert.match(parseHtml(unknown.body).querySelector('[role="alert"]')?.text ?? '', /No user named "nobody"/);
    const landed = await signInWithPassword(browser, unknown, 'bob', 'anything at all');
    assert.ok(callbackParams(landed).get('code'));
  });

  test('login_hint signs that user in without a page', async () => {
    const browser = new HttpBrowser();
    const landed = await browser.get(authorizeUrl(idp, callback.redirectUri, { login_hint: 'mallory' }));
    const code = callbackParams(landed).get('code');
    assert.ok(code, landed.url);
    assert.deepEqual(
      browser.visited.map((page) => new URL(page.url).pathname),
      ['/authorize', '/sso/callback'],
      'signed in at the authorization request itself',
    );
    const token = await tokenRequest(idp, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: callback.redirectUri,
    });
    const info = await userinfo(idp, tokenResponse.parse(token.body).access_token);
    assert.equal(z.object({ sub: z.string() }).parse(info.body).sub, 'mallory');
  });

  test('an unknown or expired interaction is a 400 page, not a 500', async () => {
    const response = await fetch(`${idp.url}/interaction/no-such-uid`);
    assert.equal(response.status, 400);
    assert.match(await response.text(), /role="alert"/);
    const post = await fetch(`${idp.url}/interaction/no-such-uid/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=alice',
    });
    assert.equal(post.status, 400);
    const huge = await fetch(`${idp.url}/interaction/no-such-uid/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `username=${'a'.repeat(40_000)}`,
    });
    assert.equal(huge.status, 413, 'an oversized form is refused, not a crash');
  });
});

describe('auto-login', () => {
  test('approves every authorization at once as the configured user', async () => {
    const idp = await startMockIdp({ port: 0, autoLogin: 'bob' });
    const callback = await startCallbackServer();
    try {
      const browser = new HttpBrowser();
      const landed = await browser.get(authorizeUrl(idp, callback.redirectUri));
      const code = callbackParams(landed).get('code');
      assert.ok(code, landed.url);
      const token = await tokenRequest(idp, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: callback.redirectUri,
      });
      const info = await userinfo(idp, tokenResponse.parse(token.body).access_token);
      assert.deepEqual(z.object({ teams: z.array(z.string()) }).parse(info.body).teams, ['team-alpha', 'team-beta']);
    } finally {
      await callback.close();
      await idp.close();
    }
  });

  test('signs in at the authorization request itself: straight back to the client, and the session is kept', async () => {
    const idp = await startMockIdp({ port: 0, autoLogin: 'bob' });
    const callback = await startCallbackServer();
    try {
      const browser = new HttpBrowser();
      const landed = await browser.get(authorizeUrl(idp, callback.redirectUri));
      assert.ok(callbackParams(landed).get('code'), landed.url);
      assert.deepEqual(
        browser.visited.map((page) => new URL(page.url).pathname),
        ['/authorize', '/sso/callback'],
        'no interaction and no resume between the authorization and the client',
      );
      assert.ok((await browser.jar.getCookieString(idp.url)).includes('_session='), 'a session cookie was set');
      // The browser is signed in as bob now: a change of the auto-login user does not sign it out.
      idp.setAutoLogin('alice');
      const again = await browser.get(authorizeUrl(idp, callback.redirectUri));
      const token = await tokenRequest(idp, {
        grant_type: 'authorization_code',
        code: callbackParams(again).get('code') ?? '',
        redirect_uri: callback.redirectUri,
      });
      const info = await userinfo(idp, tokenResponse.parse(token.body).access_token);
      assert.equal(z.object({ sub: z.string() }).parse(info.body).sub, 'bob');
    } finally {
      await callback.close();
      await idp.close();
    }
  });

  test('a request that asks something of the sign-in (prompt=login) still signs in through the interaction', async () => {
    const idp = await startMockIdp({ port: 0, autoLogin: 'bob' });
    const callback = await startCallbackServer();
    try {
      const browser = new HttpBrowser();
      const landed = await browser.get(authorizeUrl(idp, callback.redirectUri, { prompt: 'login' }));
      assert.ok(callbackParams(landed).get('code'), landed.url);
      assert.ok(
        browser.visited.some((page) => new URL(page.url).pathname.startsWith('/interaction/')),
        'went through the interaction',
      );
    } finally {
      await callback.close();
      await idp.close();
    }
  });

  test('MOCK_OIDC_* overrides change the default user', async () => {
    const idp = await startMockIdp({
      port: 0,
      autoLogin: 'someone',
      defaultUser: { sub: 'someone', email: 'someone@corp.example', employmentType: 'full_time', department: 'Sales' },
    });
    const callback = await startCallbackServer();
    try {
      const landed = await new HttpBrowser().get(authorizeUrl(idp, callback.redirectUri));
      const code = callbackParams(landed).get('code') ?? '';
      const token = await tokenRequest(idp, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: callback.redirectUri,
      });
      const info = await userinfo(idp, tokenResponse.parse(token.body).access_token);
      assert.deepEqual(info.body, {
        sub: 'someone',
        preferred_username: 'someone',
        email: 'someone@corp.example',
        email_verified: true,
        name: 'CLI Test User',
        employment_type: 'full_time',
        org_info: { department: 'Sales' },
      });
    } finally {
      await callback.close();
      await idp.close();
    }
  });
});
