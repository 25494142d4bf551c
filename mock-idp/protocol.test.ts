/**
 * The protocol features, driven by openid-client 6 (a certified relying party) where it has a
 * function for them: discovery, code + PKCE, refresh with rotation, device flow, userinfo,
 * introspection, revocation, RP-initiated logout; and JWKS/rotation/id_token options by hand.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { z } from 'zod';
import { type MockClient, type MockIdp, startMockIdp } from './index.ts';
import {
  approveDevice,
  authorizationCode,
  type CallbackServer,
  HttpBrowser,
  pressButton,
  startCallbackServer,
  tokenRequest,
  tokenResponse,
} from './test-relying-party.ts';

const CLIENTS: MockClient[] = [
  {
    clientId: 'litellm-cli-test',
    clientSecret: 'litellm-cli-test-secret',
    redirectUris: ['http://127.0.0.1:4000/sso/callback'],
    postLogoutRedirectUris: ['http://127.0.0.1:4000/sso/callback'],
    authMethod: 'client_secret_basic',
    requirePkce: false,
  },
  {
    clientId: 'strict-app',
    clientSecret: 'strict-secret',
    redirectUris: ['http://127.0.0.1/sso/callback'],
    authMethod: 'client_secret_post',
    requirePkce: true,
    idTokenSigningAlg: 'ES256',
  },
];

async function discover(idp: MockIdp, clientId: string, secret: string, auth = oidc.ClientSecretBasic(secret)) {
  return oidc.discovery(new URL(idp.issuer), clientId, undefined, auth, { execute: [oidc.allowInsecureRequests] });
}

/** An authorization URL with a fresh S256 challenge (RFC 7636), and the verifier that goes with it. */
async function pkceAuthorization(
  config: oidc.Configuration,
  redirectUri: string,
  scope: string,
  extra: Record<string, string> = {},
): Promise<{ url: URL; verifier: string }> {
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  });
  return { url, verifier };
}

/** Run the browser part of an authorization request built by openid-client; returns the callback URL. */
async function signIn(authorizationUrl: URL, username: string): Promise<URL> {
  const browser = new HttpBrowser();
  const page = await browser.get(authorizationUrl.toString());
  const landed = await pressButton(browser, page, `Sign in as ${username}`);
  return new URL(landed.url);
}

describe('openid-client (certified RP) against the mock', () => {
  let idp: MockIdp;
  let callback: CallbackServer;
  before(async () => {
    idp = await startMockIdp({ port: 0, clients: CLIENTS });
    callback = await startCallbackServer();
  });
  after(async () => {
    await callback.close();
    await idp.close();
  });

  test('discovery, code + PKCE S256, id_token validation and userinfo', async () => {
    const config = await discover(idp, 'litellm-cli-test', 'litellm-cli-test-secret');
    assert.equal(config.serverMetadata().issuer, idp.issuer);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: callback.redirectUri,
      scope: 'openid email profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const tokens = await oidc.authorizationCodeGrant(config, await signIn(url, 'alice'), {
      pkceCodeVerifier: verifier,
      expectedState: state,
      expectedNonce: nonce,
    });
    const claims = tokens.claims();
    assert.equal(claims?.sub, 'alice');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, 'alice');
    assert.deepEqual(info['org_info'], { department: 'Research', cost_center: 'CC-42' });
    assert.deepEqual(info['groups'], ['engineering', 'ml-platform']);
    assert.equal(info['employee_number'], '42');
  });

  test('a wrong code_verifier is refused with invalid_grant', async () => {
    const config = await discover(idp, 'litellm-cli-test', 'litellm-cli-test-secret');
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: callback.redirectUri,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const landed = await signIn(url, 'bob');
    await assert.rejects(
      oidc.authorizationCodeGrant(config, landed, {
        pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
        idTokenExpected: true,
      }),
      (error: unknown) => error instanceof oidc.ResponseBodyError && error.error === 'invalid_grant',
    );
  });

  test('a client registered with require_pkce refuses an authorization request without it', async () => {
    const browser = new HttpBrowser();
    const url = new URL(idp.endpoints.authorization);
    url.search = new URLSearchParams({
      client_id: 'strict-app',
      response_type: 'code',
      redirect_uri: callback.redirectUri,
      scope: 'openid',
      state: 's',
    }).toString();
    const landed = await browser.get(url.toString());
    const params = new URL(landed.url).searchParams;
    assert.equal(params.get('error'), 'invalid_request');
    assert.match(params.get('error_description') ?? '', /PKCE/);
  });

  test('the require_pkce client with PKCE gets an ES256 id_token (client_secret_post)', async () => {
    const config = await discover(idp, 'strict-app', 'strict-secret', oidc.ClientSecretPost('strict-secret'));
    const { url, verifier } = await pkceAuthorization(config, callback.redirectUri, 'openid email');
    const tokens = await oidc.authorizationCodeGrant(config, await signIn(url, 'carol'), {
      pkceCodeVerifier: verifier,
    });
    assert.equal(decodeProtectedHeader(tokens.id_token ?? '').alg, 'ES256');
    assert.equal(tokens.claims()?.sub, 'carol');
  });

  test('a client_secret_post client that sends its secret with HTTP Basic is refused as invalid_client', async () => {
    // oidc-provider would take either method from any client with a secret; a gateway that ignores
    // GENERIC_INCLUDE_CLIENT_ID must be caught by the client registered for the body (CLISSO-CALLBACK-09).
    const basic = await discover(idp, 'strict-app', 'strict-secret', oidc.ClientSecretBasic('strict-secret'));
    const { url, verifier } = await pkceAuthorization(basic, callback.redirectUri, 'openid email');
    await assert.rejects(
      oidc.authorizationCodeGrant(basic, await signIn(url, 'carol'), { pkceCodeVerifier: verifier }),
      (error: unknown) => error instanceof oidc.ResponseBodyError && error.error === 'invalid_client',
    );
  });

  test('refresh tokens rotate: the new one works, the spent one is refused', async () => {
    const config = await discover(idp, 'litellm-cli-test', 'litellm-cli-test-secret');
    const { url, verifier } = await pkceAuthorization(config, callback.redirectUri, 'openid email profile');
    const first = await oidc.authorizationCodeGrant(config, await signIn(url, 'bob'), { pkceCodeVerifier: verifier });
    assert.ok(first.refresh_token, 'a client allowed the refresh_token grant gets a refresh token');
    const second = await oidc.refreshTokenGrant(config, first.refresh_token);
    assert.ok(second.refresh_token);
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.notEqual(second.access_token, first.access_token);
    const info = await oidc.fetchUserInfo(config, second.access_token, 'bob');
    assert.deepEqual(info['teams'], ['team-alpha', 'team-beta']);
    await assert.rejects(
      oidc.refreshTokenGrant(config, first.refresh_token),
      (error: unknown) => error instanceof oidc.ResponseBodyError && error.error === 'invalid_grant',
    );
  });

  test('prompt=consent with offline_access: one sign-in, then the code, and the tokens are issued', async () => {
    const config = await discover(idp, 'litellm-cli-test', 'litellm-cli-test-secret');
    const { url, verifier } = await pkceAuthorization(config, callback.redirectUri, 'openid offline_access email', {
      prompt: 'consent',
    });
    const landed = await signIn(url, 'alice');
    assert.equal(landed.origin + landed.pathname, callback.redirectUri);
    const tokens = await oidc.authorizationCodeGrant(config, landed, { pkceCodeVerifier: verifier });
    assert.equal(tokens.claims()?.sub, 'alice');
    assert.ok(tokens.refresh_token);
  });

  test('device authorization grant (RFC 8628)', async () => {
    const config = await discover(idp, 'litellm-cli-test', 'litellm-cli-test-secret');
    const started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid email profile' });
    assert.ok(started.verification_uri_complete);
    const done = await approveDevice(started.verification_uri_complete, 'alice');
    assert.match(done.body, /Device signed in/);
    // The browser part is done before the first poll, so one short interval is enough.
    const tokens = await oidc.pollDeviceAuthorizationGrant(config, { ...started, interval: 0.05 });
    assert.equal(tokens.claims()?.sub, 'alice');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, 'alice');
    assert.equal(info.email, 'alice@example.com');
  });

  test('introspection (RFC 7662) and revocation (RFC 7009)', async () => {
    const config = await discover(idp, 'litellm-cli-test', 'litellm-cli-test-secret');
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: callback.redirectUri, scope: 'openid' });
    const tokens = await oidc.authorizationCodeGrant(config, await signIn(url, 'alice'));
    const active = await oidc.tokenIntrospection(config, tokens.access_token);
    assert.equal(active.active, true);
    assert.equal(active.sub, 'alice');
    assert.equal(active.client_id, 'litellm-cli-test');
    await oidc.tokenRevocation(config, tokens.access_token);
    assert.equal((await oidc.tokenIntrospection(config, tokens.access_token)).active, false);
    await assert.rejects(oidc.fetchUserInfo(config, tokens.access_token, 'alice'));
  });

  test('RP-initiated logout ends the session: the next authorization shows the login page again', async () => {
    const config = await discover(idp, 'litellm-cli-test', 'litellm-cli-test-secret');
    const browser = new HttpBrowser();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: callback.redirectUri, scope: 'openid' });
    const landed = await pressButton(browser, await browser.get(url.toString()), 'Sign in as alice');
    const tokens = await oidc.authorizationCodeGrant(config, new URL(landed.url));
    // Signed in: a second authorization goes straight through.
    assert.match((await browser.get(url.toString())).url, /code=/);
    const logoutUrl = oidc.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token ?? '',
      post_logout_redirect_uri: 'http://127.0.0.1:4000/sso/callback',
    });
    const confirm = await browser.get(logoutUrl.toString());
    assert.match(confirm.body, /Sign out of Mock IdP/);
    const form =
      /<form id="op\.logoutForm" method="post" action="([^"]+)"><input type="hidden" name="xsrf" value="([^"]+)"/.exec(
        confirm.body,
      );
    assert.ok(form);
    const logout = await fetch(new URL(form[1] ?? '', confirm.url), {
      method: 'POST',
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: await browser.jar.getCookieString(confirm.url),
      },
      body: new URLSearchParams({ xsrf: form[2] ?? '', logout: 'yes' }),
    });
    assert.equal(logout.status, 303);
    assert.match(logout.headers.get('location') ?? '', /^http:\/\/127\.0\.0\.1:4000\/sso\/callback/);
    for (const cookie of logout.headers.getSetCookie()) await browser.jar.setCookie(cookie, confirm.url);
    const again = await browser.get(url.toString());
    assert.match(again.body, /Sign in to Mock IdP/);
  });
});

describe('keys and id_tokens', () => {
  let idp: MockIdp;
  let callback: CallbackServer;
  before(async () => {
    idp = await startMockIdp({ port: 0, idTokenUserClaims: true });
    callback = await startCallbackServer();
  });
  after(async () => {
    await callback.close();
    await idp.close();
  });

  const jwks = z.object({ keys: z.array(z.looseObject({ kid: z.string(), alg: z.string(), kty: z.string() })) });

  test('the JWKS publishes an RS256 and an ES256 key, public parts only', async () => {
    const body = jwks.parse(await (await fetch(idp.endpoints.jwks)).json());
    assert.deepEqual(body.keys.map((k) => k.alg).sort(), ['ES256', 'RS256']);
    for (const key of body.keys) assert.equal('d' in key, false, 'no private key material');
  });

  test('with idTokenUserClaims the id_token carries the user claims', async () => {
    const { code, redirectUri } = await authorizationCode(idp, callback, 'alice');
    const tokens = tokenResponse.parse(
      (await tokenRequest(idp, { grant_type: 'authorization_code', code, redirect_uri: redirectUri })).body,
    );
    const { payload } = await jwtVerify(tokens.id_token ?? '', createRemoteJWKSet(new URL(idp.endpoints.jwks)), {
      issuer: idp.issuer,
      audience: 'litellm-cli-test',
    });
    assert.deepEqual(payload['org_info'], { department: 'Research', cost_center: 'CC-42' });
    assert.equal(payload['email'], 'alice@example.com');
  });

  test('rotation on request: new tokens use a new kid, old ones still verify', async () => {
    const { code, redirectUri } = await authorizationCode(idp, callback, 'bob');
    const before = tokenResponse.parse(
      (await tokenRequest(idp, { grant_type: 'authorization_code', code, redirect_uri: redirectUri })).body,
    );
    const oldKid = decodeProtectedHeader(before.id_token ?? '').kid;
    const kids = await idp.rotateKeys();
    assert.equal(kids.length, 4);
    assert.ok(kids.slice(2).includes(oldKid ?? ''), 'the previous generation stays published');
    const next = await authorizationCode(idp, callback, 'bob');
    const after_ = tokenResponse.parse(
      (await tokenRequest(idp, { grant_type: 'authorization_code', code: next.code, redirect_uri: next.redirectUri }))
        .body,
    );
    const newKid = decodeProtectedHeader(after_.id_token ?? '').kid;
    assert.notEqual(newKid, oldKid);
    assert.equal(newKid, kids[0]);
    const keySet = createRemoteJWKSet(new URL(idp.endpoints.jwks));
    await jwtVerify(before.id_token ?? '', keySet, { issuer: idp.issuer });
    await jwtVerify(after_.id_token ?? '', keySet, { issuer: idp.issuer });
  });
});
