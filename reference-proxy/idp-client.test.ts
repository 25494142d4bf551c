/**
 * The proxy's calls to the IdP against a real in-process HTTP server: the code exchange as sent on
 * the wire, and the answers that must end as IdpError (never an exception of another kind, never a
 * secret in the message).
 */
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { freePort } from '../common/http-server.ts';
import { type BodyServer, startBodyServer } from '../common/test-support/body-server.ts';
import type { IdpSettings } from './config.ts';
import { fetchUserinfoForCode, IdpError } from './idp-client.ts';

let server: BodyServer;
let base = '';

before(async () => {
  server = await startBodyServer();
  base = server.url;
});

after(() => server.close());

function settings(overrides: Partial<IdpSettings> = {}): IdpSettings {
  return {
    clientId: 'harness client',
    clientSecret: 's3cret/value',
    authorizationEndpoint: `${base}/authorize`,
    tokenEndpoint: `${base}/token`,
    userinfoEndpoint: `${base}/userinfo`,
    scope: 'openid email',
    usePkce: false,
    includeClientIdInBody: false,
    ...overrides,
  };
}

const CODE = { code: 'the-code', redirectUri: 'http://127.0.0.1:4000/sso/callback', codeVerifier: 'verifier' };

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

test('the code exchange posts the form with client_secret_basic, then userinfo gets the access token', async () => {
  const seen: { token?: { auth?: string; type?: string; form: URLSearchParams }; userinfoAuth?: string } = {};
  server.handle = (request, body, response) => {
    if (request.url === '/token' && request.method === 'POST') {
      seen.token = {
        auth: request.headers.authorization,
        type: request.headers['content-type'],
        form: new URLSearchParams(body),
      };
      json(response, 200, { access_token: 'at-1', token_type: 'Bearer' });
    } else if (request.url === '/userinfo' && request.method === 'GET') {
      seen.userinfoAuth = request.headers.authorization;
      json(response, 200, { sub: 'alice', email: 'alice@example.com' });
    } else json(response, 404, { error: 'not_found' });
  };
  const userinfo = await fetchUserinfoForCode(settings(), CODE);
  assert.deepEqual(userinfo, { sub: 'alice', email: 'alice@example.com' });
  assert.equal(seen.token?.type, 'application/x-www-form-urlencoded');
  // RFC 6749 section 2.3.1: each part encoded before base64 (%20 for a space, which form decoders
  // and decodeURIComponent both read back).
  assert.equal(seen.token?.auth, `Basic ${Buffer.from('harness%20client:s3cret%2Fvalue').toString('base64')}`);
  assert.deepEqual(Object.fromEntries(seen.token?.form ?? []), {
    grant_type: 'authorization_code',
    code: 'the-code',
    redirect_uri: CODE.redirectUri,
    code_verifier: 'verifier',
  });
  assert.equal(seen.userinfoAuth, 'Bearer at-1');
});

test('a refused exchange is "rejected" with the OAuth error code and nothing secret', async () => {
  server.handle = (_request, _body, response) => json(response, 400, { error: 'invalid_grant' });
  const error = await fetchUserinfoForCode(settings(), CODE).catch((e: unknown) => e);
  assert.ok(error instanceof IdpError);
  assert.equal(error.kind, 'rejected');
  assert.match(error.message, /HTTP 400: invalid_grant/);
  assert.doesNotMatch(error.message, /s3cret|the-code|verifier/);
});

test('an answer over 1 MiB is not read: the IdP "could not be reached"', async () => {
  server.handle = (_request, _body, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(`{"access_token":"${'a'.repeat(2 * 1024 * 1024)}"}`);
  };
  const error = await fetchUserinfoForCode(settings(), CODE).catch((e: unknown) => e);
  assert.ok(error instanceof IdpError);
  assert.equal(error.kind, 'unreachable');
  assert.match(error.message, /could not be reached/);
});

test('a 200 answer that is not JSON, and an IdP that is not listening, are "unreachable"', async () => {
  server.handle = (_request, _body, response) => response.writeHead(200, { 'content-type': 'text/html' }).end('<html>');
  const notJson = await fetchUserinfoForCode(settings(), CODE).catch((e: unknown) => e);
  assert.ok(notJson instanceof IdpError);
  assert.equal(notJson.kind, 'unreachable');
  assert.match(notJson.message, /token answer is not JSON/);

  const closedPort = await freePort();
  const down = await fetchUserinfoForCode(
    settings({ tokenEndpoint: `http://127.0.0.1:${closedPort}/token` }),
    CODE,
  ).catch((e: unknown) => e);
  assert.ok(down instanceof IdpError);
  assert.equal(down.kind, 'unreachable');
  assert.equal(down.message, `the IdP at http://127.0.0.1:${closedPort} could not be reached`);
});
