/**
 * The PKCE-native login (docs/contract.md section 10.6) over real HTTP: the
 * in-process gateway, the recording IdP, a loopback listener standing in for the CLI, and a small
 * cookie-keeping browser. Time moves with the gateway's injected clock, never with sleeps.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseHtml } from 'node-html-parser';
import { HttpBrowser, type HttpPage } from '../common/browserless-login.ts';
import { ManualClock } from '../common/clock.ts';
import { proxyEnv, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_MASTER_KEY } from './test-support/proxy-env.ts';
import {
  eventually,
  getJson,
  type JsonAnswer,
  type ProxyUnderTest,
  startProxyForTest,
} from './test-support/proxy-under-test.ts';
import { type RecordingIdp, startRecordingIdp } from './test-support/recording-idp.ts';
import { type RedisServer, redisSkipReason, startRedis } from './test-support/services.ts';

const START_MS = Date.UTC(2026, 5, 1, 12, 0, 0);
const USER = { preferred_username: 'ada', email: 'ada@example.com', role: 'internal_user' };

let idp: RecordingIdp;
/** The CLI's loopback listener: every callback it received, as its query. */
let loopback: Server;
let loopbackUrl: string;
const callbacks: URLSearchParams[] = [];

before(async () => {
  idp = await startRecordingIdp({ clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, userinfo: USER });
  loopback = createServer((req, res) => {
    callbacks.push(new URL(req.url ?? '/', 'http://127.0.0.1').searchParams);
    res.writeHead(200, { 'content-type': 'text/plain' }).end('Signed in. You can close this window.');
  });
  await new Promise<void>((resolve) => loopback.listen(0, '127.0.0.1', resolve));
  loopbackUrl = `http://127.0.0.1:${(loopback.address() as AddressInfo).port}/callback`;
});
after(async () => {
  await idp?.close();
  await new Promise((resolve) => loopback?.close(resolve));
});

async function gateway(clock = new ManualClock(START_MS), extra: Record<string, string> = {}): Promise<ProxyUnderTest> {
  idp.userinfo = { ...USER };
  return startProxyForTest(proxyEnv(idp.endpoints, extra), clock);
}

async function post(url: string, body: string, contentType: string): Promise<JsonAnswer> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
    redirect: 'manual',
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // a non-JSON answer is itself something to assert on
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

function register(base: string, redirectUris: unknown): Promise<JsonAnswer> {
  return post(`${base}/register`, JSON.stringify({ redirect_uris: redirectUris }), 'application/json');
}

function form(base: string, path: string, fields: Record<string, string>): Promise<JsonAnswer> {
  return post(`${base}${path}`, new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded');
}

async function registerClient(base: string, uris = [loopbackUrl]): Promise<string> {
  const answer = await register(base, uris);
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
  return (answer.body as { client_id: string }).client_id;
}

function newPkce(verifier = randomBytes(32).toString('base64url')): { verifier: string; challenge: string } {
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeUrl(base: string, params: Record<string, string | undefined>): string {
  const url = new URL(`${base}/authorize`);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return url.toString();
}

interface Login {
  clientId: string;
  pkce: { verifier: string; challenge: string };
  state: string;
  browser: HttpBrowser;
  consent: HttpPage;
}

/** Register, open /authorize in a fresh browser, sign in at the IdP, land on the consent page. */
async function untilConsent(base: string, pkce = newPkce()): Promise<Login> {
  const browser = new HttpBrowser();
  const clientId = await registerClient(base);
  const state = randomBytes(12).toString('base64url');
  const consent = await browser.get(
    authorizeUrl(base, {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: loopbackUrl,
      code_challenge: pkce.challenge,
      code_challenge_method: 'S256',
      state,
      resource: base,
    }),
  );
  return { clientId, pkce, state, browser, consent };
}

function consentForm(page: HttpPage): {
  action: string;
  flow: string;
  teamInput: string | undefined;
  options: string[];
} {
  const root = parseHtml(page.body);
  const formElement = root.querySelector('form');
  assert.ok(formElement, `no consent form on ${page.url} (${page.status}): ${page.body.slice(0, 300)}`);
  const teamInput = root.querySelector('input[name="team_id"]')?.getAttribute('value');
  return {
    action: new URL(formElement.getAttribute('action') ?? '', page.url).toString(),
    flow: root.querySelector('input[name="flow"]')?.getAttribute('value') ?? '',
    teamInput,
    options: root.querySelectorAll('select[name="team_id"] option').map((o) => o.getAttribute('value') ?? ''),
  };
}

/** Approve (or deny) on the consent page; returns what the CLI's loopback listener received. */
async function decide(login: Login, decision: 'approve' | 'deny', teamId?: string): Promise<URLSearchParams> {
  const { action, flow, teamInput } = consentForm(login.consent);
  const before = callbacks.length;
  const fields: Record<string, string> = { flow, decision };
  const team = teamId ?? teamInput;
  if (team !== undefined) fields['team_id'] = team;
  const landed = await login.browser.postForm(action, fields);
  assert.equal(landed.status, 200, `${landed.url}: ${landed.body}`);
  assert.equal(callbacks.length, before + 1);
  return callbacks.at(-1) as URLSearchParams;
}

function redeem(base: string, login: Login, code: string, extra: Record<string, string> = {}): Promise<JsonAnswer> {
  return form(base, '/token', {
    grant_type: 'authorization_code',
    code,
    redirect_uri: loopbackUrl,
    client_id: login.clientId,
    code_verifier: login.pkce.verifier,
    resource: base,
    ...extra,
  });
}

function refresh(base: string, clientId: string, refreshToken: string): Promise<JsonAnswer> {
  return form(base, '/token', { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId });
}

interface Tokens {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  user_id: string;
  team_id: string | null;
}

function oauthErrorOf(answer: JsonAnswer): { error: string; error_description: string } {
  const body = answer.body as { error: string; error_description: string };
  assert.equal(typeof body.error, 'string', JSON.stringify(answer.body));
  assert.equal(typeof body.error_description, 'string');
  return body;
}

/** A full sign-in through the consent page and the code exchange. */
async function signedIn(base: string): Promise<{ login: Login; tokens: Tokens }> {
  const login = await untilConsent(base);
  const code = (await decide(login, 'approve')).get('code') ?? '';
  const answer = await redeem(base, login, code);
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return { login, tokens: answer.body as Tokens };
}

describe('discovery', () => {
  test('exactly the twelve fields, under the request base URL', async () => {
    const proxy = await gateway();
    try {
      const answer = await getJson(`${proxy.url}/.well-known/litellm-cli-auth`);
      assert.equal(answer.status, 200);
      const b = proxy.url;
      assert.deepEqual(answer.body, {
        contract_version: 1,
        issuer: b,
        authorization_endpoint: `${b}/authorize`,
        token_endpoint: `${b}/token`,
        registration_endpoint: `${b}/register`,
        revocation_endpoint: `${b}/revoke`,
        resource: b,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code', 'refresh_token'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['none'],
        revocation_endpoint_auth_methods_supported: ['none'],
      });
    } finally {
      await proxy.close();
    }
  });

  test('PROXY_BASE_URL with a path prefix is the issuer, the resource and the endpoints base', async () => {
    const base = 'https://gateway.example.com/llm';
    const proxy = await gateway(undefined, { PROXY_BASE_URL: `${base}/` });
    try {
      const body = (await getJson(`${proxy.url}/.well-known/litellm-cli-auth`)).body as Record<string, unknown>;
      assert.equal(body['issuer'], base);
      assert.equal(body['resource'], base);
      assert.equal(body['token_endpoint'], `${base}/token`);
      assert.equal(body['authorization_endpoint'], `${base}/authorize`);
      // The browser without a session is sent to the sign-in under the same prefix.
      const clientId = await registerClient(proxy.url);
      const answer = await getJson(
        authorizeUrl(proxy.url, {
          response_type: 'code',
          client_id: clientId,
          redirect_uri: loopbackUrl,
          code_challenge: newPkce().challenge,
          code_challenge_method: 'S256',
          resource: base,
        }),
      );
      assert.equal(answer.status, 303);
      const location = new URL(answer.headers.get('location') ?? '');
      assert.equal(`${location.origin}${location.pathname}`, `${base}/sso/key/generate`);
      assert.match(location.searchParams.get('return_to') ?? '', /^\/authorize\?/);
      // A resource without the prefix names another API.
      const other = await getJson(
        authorizeUrl(proxy.url, {
          response_type: 'code',
          client_id: clientId,
          redirect_uri: loopbackUrl,
          code_challenge: newPkce().challenge,
          code_challenge_method: 'S256',
          resource: 'https://gateway.example.com',
        }),
      );
      assert.equal(other.status, 400);
      assert.equal(oauthErrorOf(other).error, 'invalid_target');
    } finally {
      await proxy.close();
    }
  });
});

describe('registration', () => {
  let proxy: ProxyUnderTest;
  before(async () => {
    proxy = await gateway();
  });
  after(() => proxy.close());

  test('a public client: 201 with its redirect URIs, no secret', async () => {
    const answer = await register(proxy.url, [loopbackUrl]);
    assert.equal(answer.status, 201);
    const body = answer.body as Record<string, unknown>;
    assert.match(String(body['client_id']), /^llm_dcrc_/);
    assert.equal(body['client_id_issued_at'], Math.floor(START_MS / 1000));
    assert.deepEqual(body['redirect_uris'], [loopbackUrl]);
    assert.equal(body['token_endpoint_auth_method'], 'none');
    assert.deepEqual(body['grant_types'], ['authorization_code', 'refresh_token']);
    assert.deepEqual(body['response_types'], ['code']);
    assert.equal(body['client_secret'], undefined);
  });

  test('1 to 3 redirect URIs', async () => {
    const uris = ['http://127.0.0.1:1/a', 'http://[::1]:2/b', 'http://localhost:3/c', 'https://app.example.com/d'];
    assert.equal((await register(proxy.url, uris.slice(0, 3))).status, 201);
    for (const refused of [uris, [], undefined, 'http://127.0.0.1/x']) {
      const answer = await register(proxy.url, refused);
      assert.equal(answer.status, 400, JSON.stringify(refused));
      assert.equal(oauthErrorOf(answer).error, 'invalid_redirect_uri');
    }
  });

  test('each URI at most 256 characters', async () => {
    const prefix = 'http://127.0.0.1:8000/';
    const uri = (length: number) => prefix + 'a'.repeat(length - prefix.length);
    assert.equal((await register(proxy.url, [uri(256)])).status, 201);
    const answer = await register(proxy.url, [uri(257)]);
    assert.equal(answer.status, 400);
    assert.equal(oauthErrorOf(answer).error, 'invalid_redirect_uri');
  });

  test('https anywhere, http only on a loopback host, never userinfo, fragment or backslash', async () => {
    for (const accepted of [
      'https://app.example.com/cb',
      'http://127.0.0.1:9/cb',
      'http://[::1]:9/cb',
      'http://localhost:9/cb',
    ]) {
      assert.equal((await register(proxy.url, [accepted])).status, 201, accepted);
    }
    for (const refused of [
      'http://app.example.com/cb',
      'http://127.0.0.2/cb',
      'http://localhost.example.com/cb',
      'http://user@127.0.0.1:9/cb',
      'https://user:pw@app.example.com/cb',
      'http://127.0.0.1:9/cb#frag',
      'http://127.0.0.1:9\\@evil.example/cb',
      'ftp://127.0.0.1/cb',
      'javascript:alert(1)',
      'not a uri',
      '',
    ]) {
      const answer = await register(proxy.url, [refused]);
      assert.equal(answer.status, 400, refused);
      assert.equal(oauthErrorOf(answer).error, 'invalid_redirect_uri', refused);
    }
  });

  test('a body that is not a JSON object is invalid_client_metadata, never a 500', async () => {
    for (const body of ['not json', '[1]', 'null', '']) {
      const answer = await post(`${proxy.url}/register`, body, 'application/json');
      assert.equal(answer.status, 400, body);
      assert.equal(oauthErrorOf(answer).error, 'invalid_client_metadata');
    }
  });
});

describe('authorize: every mistake is a 400 JSON answer, never a redirect', () => {
  let proxy: ProxyUnderTest;
  let clientId: string;
  let httpsClientId: string;
  before(async () => {
    proxy = await gateway();
    clientId = await registerClient(proxy.url);
    httpsClientId = await registerClient(proxy.url, ['https://app.example.com/cb']);
  });
  after(() => proxy.close());

  const good = () => ({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: loopbackUrl,
    code_challenge: newPkce().challenge,
    code_challenge_method: 'S256',
    state: 'xyz',
  });
  const tamper = (id: string) => `${id.slice(0, -6)}${id.slice(-6) === 'AAAAAA' ? 'BBBBBB' : 'AAAAAA'}`;

  for (const [name, change, error] of [
    ['unknown client', () => ({ client_id: 'llm_dcrc_nothing' }), 'invalid_client'],
    ['tampered client id', () => ({ client_id: tamper(clientId) }), 'invalid_client'],
    ['no client id', () => ({ client_id: undefined }), 'invalid_client'],
    ['unregistered redirect_uri', () => ({ redirect_uri: `${loopbackUrl}/other` }), 'invalid_request'],
    [
      'redirect_uri spelled differently',
      () => ({ redirect_uri: loopbackUrl.replace('127.0.0.1', 'localhost') }),
      'invalid_request',
    ],
    ['response_type token', () => ({ response_type: 'token' }), 'unsupported_response_type'],
    ['no PKCE', () => ({ code_challenge: undefined, code_challenge_method: undefined }), 'invalid_request'],
    ['PKCE plain', () => ({ code_challenge_method: 'plain' }), 'invalid_request'],
    ['state of 1025 characters', () => ({ state: 's'.repeat(1025) }), 'invalid_request'],
    ['another resource', () => ({ resource: 'https://elsewhere.example.com' }), 'invalid_target'],
    [
      'a gateway grant to a non-loopback redirect',
      () => ({ client_id: httpsClientId, redirect_uri: 'https://app.example.com/cb' }),
      'invalid_request',
    ],
  ] as const) {
    test(name, async () => {
      const answer = await getJson(authorizeUrl(proxy.url, { ...good(), ...change() }));
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.headers.get('location'), null);
      assert.equal(answer.headers.get('set-cookie'), null);
      assert.equal(oauthErrorOf(answer).error, error);
    });
  }

  test('a state of 1024 characters is accepted (on to the sign-in)', async () => {
    const answer = await getJson(authorizeUrl(proxy.url, { ...good(), state: 's'.repeat(1024) }));
    assert.equal(answer.status, 303);
  });

  test('the sign-in refuses a return_to that leaves the gateway', async () => {
    for (const returnTo of ['//evil.example/x', 'https://evil.example/', '/\\evil.example', 'authorize']) {
      const answer = await getJson(`${proxy.url}/sso/key/generate?return_to=${encodeURIComponent(returnTo)}`);
      assert.equal(answer.status, 400, returnTo);
      assert.equal(answer.headers.get('location'), null);
    }
  });
});

describe('the whole walk', () => {
  test('register, sign in, consent, code, token, API call, rotation, replay, revocation', async () => {
    const clock = new ManualClock(START_MS);
    const proxy = await gateway(clock);
    try {
      const login = await untilConsent(proxy.url);
      // Through the IdP and back to /authorize, which now shows the consent page.
      const paths = login.browser.visited.map((p) => new URL(p.url).pathname);
      assert.deepEqual(paths.slice(0, 2), ['/authorize', '/sso/key/generate']);
      assert.ok(paths.includes('/sso/callback'));
      assert.equal(paths.at(-1), '/authorize');
      assert.equal(login.consent.status, 200);
      assert.match(login.consent.body, /ada/);
      assert.match(login.consent.body, /http:\/\/127\.0\.0\.1:\d+/);
      const { teamInput, options } = consentForm(login.consent);
      assert.equal(teamInput, undefined, 'no team field for a user without teams');
      assert.deepEqual(options, []);

      const callback = await decide(login, 'approve');
      assert.equal(callback.get('state'), login.state);
      const code = callback.get('code') ?? '';
      assert.match(code, /^llm_gcode_/);

      const answer = await redeem(proxy.url, login, code);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.headers.get('cache-control'), 'no-store');
      const tokens = answer.body as Tokens;
      assert.equal(tokens.token_type, 'Bearer');
      assert.equal(tokens.expires_in, 24 * 3600);
      assert.equal(tokens.user_id, 'ada');
      assert.equal(tokens.team_id, null);
      assert.match(tokens.refresh_token, /^llm_srefresh_/);
      const models = await getJson(`${proxy.url}/v1/models`, { authorization: `Bearer ${tokens.access_token}` });
      assert.equal(models.status, 200, JSON.stringify(models.body));
      // The CLI session registry records classic logins only (docs/contract.md section 10.7).
      const sessions = await getJson(`${proxy.url}/cli/session/list`, { authorization: `Bearer ${TEST_MASTER_KEY}` });
      assert.deepEqual(sessions.body, { sessions: [], total_count: 0 });

      // Rotation: a new refresh token each time, the old one burned.
      clock.advanceSeconds(3600);
      const rotated = await refresh(proxy.url, login.clientId, tokens.refresh_token);
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      const second = rotated.body as Tokens;
      assert.notEqual(second.refresh_token, tokens.refresh_token);
      assert.notEqual(second.access_token, tokens.access_token);
      const secondModels = await getJson(`${proxy.url}/v1/models`, { authorization: `Bearer ${second.access_token}` });
      assert.equal(secondModels.status, 200);
      const third = (await refresh(proxy.url, login.clientId, second.refresh_token)).body as Tokens;
      assert.match(third.refresh_token, /^llm_srefresh_/);

      // The first refresh token again: refused, and the family is revoked, so the newest one stops too.
      const replay = await refresh(proxy.url, login.clientId, tokens.refresh_token);
      assert.equal(replay.status, 400);
      assert.deepEqual(oauthErrorOf(replay).error, 'invalid_grant');
      assert.match(oauthErrorOf(replay).error_description, /already used/);
      const successor = await refresh(proxy.url, login.clientId, third.refresh_token);
      assert.equal(successor.status, 400);
      assert.equal(oauthErrorOf(successor).error, 'invalid_grant');

      // Secrets stay out of the log.
      const log = proxy.logLines.join('\n');
      for (const secret of [code, tokens.refresh_token, tokens.access_token, login.pkce.verifier]) {
        assert.ok(!log.includes(secret), 'a secret reached the log');
      }
    } finally {
      await proxy.close();
    }
  });

  test('revoke: the refresh token and its family stop; unknown client 401; anything else 200 {}', async () => {
    const proxy = await gateway();
    try {
      const { login, tokens } = await signedIn(proxy.url);
      const other = await registerClient(proxy.url);
      const unknown = await form(proxy.url, '/revoke', { token: tokens.refresh_token, client_id: 'llm_dcrc_x' });
      assert.equal(unknown.status, 401);
      assert.equal(oauthErrorOf(unknown).error, 'invalid_client');
      for (const fields of [
        { token: 'garbage', client_id: login.clientId },
        { token: tokens.access_token, client_id: login.clientId },
        { token: tokens.refresh_token, client_id: other },
      ]) {
        const answer = await form(proxy.url, '/revoke', fields);
        assert.equal(answer.status, 200);
        assert.deepEqual(answer.body, {});
      }
      // Another client's revoke left it usable; its own client's revoke ends it and its family.
      const rotated = (await refresh(proxy.url, login.clientId, tokens.refresh_token)).body as Tokens;
      const mine = await form(proxy.url, '/revoke', { token: rotated.refresh_token, client_id: login.clientId });
      assert.equal(mine.status, 200);
      assert.deepEqual(mine.body, {});
      assert.equal((await refresh(proxy.url, login.clientId, rotated.refresh_token)).status, 400);
    } finally {
      await proxy.close();
    }
  });

  test('a refresh token is refused to another client', async () => {
    const proxy = await gateway();
    try {
      const { login, tokens } = await signedIn(proxy.url);
      const other = await registerClient(proxy.url);
      const answer = await refresh(proxy.url, other, tokens.refresh_token);
      assert.equal(answer.status, 400);
      assert.equal(oauthErrorOf(answer).error, 'invalid_grant');
      // The refusal did not burn it for its own client.
      assert.equal((await refresh(proxy.url, login.clientId, tokens.refresh_token)).status, 200);
    } finally {
      await proxy.close();
    }
  });
});

describe('the code at the token endpoint', () => {
  let clock: ManualClock;
  let proxy: ProxyUnderTest;
  before(async () => {
    clock = new ManualClock(START_MS);
    proxy = await gateway(clock);
  });
  after(() => proxy.close());

  async function freshCode(pkce = newPkce()): Promise<{ login: Login; code: string }> {
    const login = await untilConsent(proxy.url, pkce);
    return { login, code: (await decide(login, 'approve')).get('code') ?? '' };
  }

  test('a wrong verifier, a short one, another client, another redirect_uri: refused', async () => {
    const { login, code } = await freshCode();
    const other = await registerClient(proxy.url);
    for (const [extra, error] of [
      [{ code_verifier: newPkce().verifier }, 'invalid_grant'],
      [{ code_verifier: 'a'.repeat(42) }, 'invalid_request'],
      [{ code_verifier: 'a'.repeat(129) }, 'invalid_request'],
      [{ client_id: other }, 'invalid_grant'],
      [{ redirect_uri: `${loopbackUrl}x` }, 'invalid_grant'],
      [{ client_id: 'llm_dcrc_forged' }, 'invalid_client'],
      [{ code: `${code.slice(0, -4)}AAAA` }, 'invalid_grant'],
      [{ grant_type: 'password' }, 'unsupported_grant_type'],
    ] as const) {
      const answer = await redeem(proxy.url, login, code, extra);
      assert.ok(answer.status === 400 || answer.status === 401, JSON.stringify(extra));
      assert.equal(oauthErrorOf(answer).error, error, JSON.stringify(extra));
    }
    // None of the refusals burned the code.
    assert.equal((await redeem(proxy.url, login, code)).status, 200);
  });

  test('a verifier of 43 and of 128 characters is accepted', async () => {
    for (const length of [43, 128]) {
      const { login, code } = await freshCode(newPkce('v~.-_'.repeat(26).slice(0, length)));
      const answer = await redeem(proxy.url, login, code);
      assert.equal(answer.status, 200, `${length}: ${JSON.stringify(answer.body)}`);
    }
  });

  test('a resource that is not this gateway: invalid_target, and the code still works', async () => {
    const { login, code } = await freshCode();
    for (const resource of [
      'https://elsewhere.example.com',
      `${proxy.url}/mcp`,
      proxy.url.replace('http:', 'https:'),
    ]) {
      const answer = await redeem(proxy.url, login, code, { resource });
      assert.equal(answer.status, 400, resource);
      assert.equal(oauthErrorOf(answer).error, 'invalid_target');
    }
    assert.equal((await redeem(proxy.url, login, code, { resource: `${proxy.url}/` })).status, 200);
  });

  test('a Host header that makes no URL (no PROXY_BASE_URL): the resource is not this gateway, a 400, never a 500', async () => {
    const { login, code } = await freshCode();
    const { hostname, port } = new URL(proxy.url);
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: loopbackUrl,
      client_id: login.clientId,
      code_verifier: login.pkce.verifier,
      resource: proxy.url,
    }).toString();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: hostname,
          port,
          method: 'POST',
          path: '/token',
          headers: { host: '%uD800', 'content-type': 'application/x-www-form-urlencoded' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.once('error', reject);
      req.end(body);
    });
    assert.equal(status, 400);
    assert.equal((await redeem(proxy.url, login, code)).status, 200, 'the code was not used up');
  });

  test('a code is used once; a replay revokes what the first redemption got', async () => {
    const { login, code } = await freshCode();
    const first = await redeem(proxy.url, login, code);
    assert.equal(first.status, 200);
    const replay = await redeem(proxy.url, login, code);
    assert.equal(replay.status, 400);
    assert.equal(oauthErrorOf(replay).error, 'invalid_grant');
    assert.match(oauthErrorOf(replay).error_description, /already used/);
    const tokens = first.body as Tokens;
    assert.equal((await refresh(proxy.url, login.clientId, tokens.refresh_token)).status, 400);
  });

  test('two redemptions of one code at once: exactly one gets tokens', async () => {
    const { login, code } = await freshCode();
    const answers = await Promise.all([redeem(proxy.url, login, code), redeem(proxy.url, login, code)]);
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 400]);
  });

  test('a code lives 120 seconds', async () => {
    const { login, code } = await freshCode();
    const { login: login2, code: code2 } = await freshCode();
    clock.advanceSeconds(119);
    assert.equal((await redeem(proxy.url, login, code)).status, 200);
    clock.advanceSeconds(1);
    const expired = await redeem(proxy.url, login2, code2);
    assert.equal(expired.status, 400);
    assert.equal(oauthErrorOf(expired).error, 'invalid_grant');
    assert.match(oauthErrorOf(expired).error_description, /expired/);
  });
});

describe('consent', () => {
  test('one team: a hidden field, the code carries it', async () => {
    const proxy = await gateway();
    try {
      idp.userinfo = { ...USER, teams: ['team-a'] };
      const login = await untilConsent(proxy.url);
      assert.equal(consentForm(login.consent).teamInput, 'team-a');
      const code = (await decide(login, 'approve')).get('code') ?? '';
      const tokens = (await redeem(proxy.url, login, code)).body as Tokens;
      assert.equal(tokens.team_id, 'team-a');
    } finally {
      await proxy.close();
    }
  });

  test('several teams: a select; a team not offered is refused without using the flow', async () => {
    const proxy = await gateway();
    try {
      idp.userinfo = { ...USER, teams: ['team-a', 'team-b'] };
      const login = await untilConsent(proxy.url);
      const { options, action, flow } = consentForm(login.consent);
      assert.deepEqual(options, ['team-a', 'team-b']);
      const wrong = await login.browser.postForm(action, { flow, decision: 'approve', team_id: 'team-z' });
      assert.equal(wrong.status, 400);
      const code = (await decide(login, 'approve', 'team-b')).get('code') ?? '';
      assert.equal(((await redeem(proxy.url, login, code)).body as Tokens).team_id, 'team-b');
    } finally {
      await proxy.close();
    }
  });

  test('deny: access_denied and the state, no code; the flow is then used', async () => {
    const proxy = await gateway();
    try {
      const login = await untilConsent(proxy.url);
      const callback = await decide(login, 'deny');
      assert.equal(callback.get('error'), 'access_denied');
      assert.equal(callback.get('state'), login.state);
      assert.equal(callback.get('code'), null);
      const { action, flow } = consentForm(login.consent);
      const again = await login.browser.postForm(action, { flow, decision: 'approve' });
      assert.equal(again.status, 400);
    } finally {
      await proxy.close();
    }
  });

  test('what the IdP said is escaped on the consent page', async () => {
    const proxy = await gateway();
    try {
      idp.userinfo = { ...USER, teams: ['<b>t1</b>', 'a"onmouseover="x'] };
      const login = await untilConsent(proxy.url);
      assert.equal(login.consent.status, 200, login.consent.body);
      assert.ok(!login.consent.body.includes('<b>t1</b>'));
      assert.ok(!login.consent.body.includes('a"onmouseover'));
      assert.deepEqual(consentForm(login.consent).options, ['<b>t1</b>', 'a"onmouseover="x']);
    } finally {
      await proxy.close();
    }
  });

  test('another method on a PKCE-native path is 405 with Allow', async () => {
    const proxy = await gateway();
    try {
      const get = await getJson(`${proxy.url}/token`);
      assert.equal(get.status, 405);
      assert.equal(get.headers.get('allow'), 'POST');
      const postDiscovery = await form(proxy.url, '/.well-known/litellm-cli-auth', {});
      assert.equal(postDiscovery.status, 405);
      assert.equal(postDiscovery.headers.get('allow'), 'GET, HEAD');
    } finally {
      await proxy.close();
    }
  });

  test('the consent page: no-store, no framing, no referrer', async () => {
    const proxy = await gateway();
    try {
      const login = await untilConsent(proxy.url);
      const last = login.browser.visited.at(-1)?.url ?? '';
      const cookie = await login.browser.jar.getCookieString(last);
      const response = await fetch(last, { headers: { cookie } });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.equal(response.headers.get('x-frame-options'), 'DENY');
      assert.match(response.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
      assert.match(await response.text(), /<meta name="referrer" content="no-referrer">/);
    } finally {
      await proxy.close();
    }
  });

  test('complete: replay 400, no session 401, another user 403', async () => {
    const proxy = await gateway();
    try {
      const login = await untilConsent(proxy.url);
      const { action, flow } = consentForm(login.consent);
      const noSession = await form(proxy.url, '/authorize/complete', { flow, decision: 'approve' });
      assert.equal(noSession.status, 401);
      assert.equal(oauthErrorOf(noSession).error, 'login_required');

      idp.userinfo = { ...USER, preferred_username: 'bob', email: 'bob@example.com' };
      const bob = await untilConsent(proxy.url);
      const mismatch = await bob.browser.postForm(action, { flow, decision: 'approve' });
      assert.equal(mismatch.status, 403);
      assert.equal(oauthErrorOf({ ...noSession, body: JSON.parse(mismatch.body) }).error, 'access_denied');

      await decide(login, 'approve');
      const replay = await login.browser.postForm(action, { flow, decision: 'approve' });
      assert.equal(replay.status, 400);
      assert.match(replay.body, /already answered/);
    } finally {
      await proxy.close();
    }
  });

  test('a flow handle lives 600 seconds', async () => {
    const clock = new ManualClock(START_MS);
    // A UI session of 24 hours, so it is the flow that ends, not the session.
    const proxy = await gateway(clock, { EXPERIMENTAL_UI_LOGIN: 'false' });
    try {
      const login = await untilConsent(proxy.url);
      clock.advanceSeconds(600);
      const { action, flow } = consentForm(login.consent);
      const late = await login.browser.postForm(action, { flow, decision: 'approve' });
      assert.equal(late.status, 400);
      assert.match(late.body, /expired/);
    } finally {
      await proxy.close();
    }
  });
});

const host = { path: process.env['PATH'] ?? '', uid: process.getuid?.() };
const redisSkip = redisSkipReason(host);

describe('replicas sharing Redis', { skip: redisSkip }, () => {
  let redis: RedisServer;
  let dir: string;
  let a: ProxyUnderTest;
  let b: ProxyUnderTest;
  before(async () => {
    redis = await startRedis();
    dir = await mkdtemp(join(tmpdir(), 'native-login-users-'));
    // One user database for both, as replicas share PostgreSQL: the token endpoint reads the user.
    const shared = { REDIS_URL: redis.url, REFERENCE_PROXY_SQLITE_PATH: join(dir, 'users.sqlite') };
    const clock = new ManualClock(START_MS);
    a = await gateway(clock, shared);
    b = await startProxyForTest(proxyEnv(idp.endpoints, shared), clock);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await redis?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  test('a code or refresh token used on one replica is used on the other; a replay revokes the family there too', async () => {
    const login = await untilConsent(a.url);
    const code = (await decide(login, 'approve')).get('code') ?? '';
    const first = await redeem(a.url, login, code);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const replayedCode = await redeem(b.url, login, code);
    assert.equal(replayedCode.status, 400);
    assert.match(oauthErrorOf(replayedCode).error_description, /already used/);

    const login2 = await untilConsent(a.url);
    const tokens = (await redeem(a.url, login2, (await decide(login2, 'approve')).get('code') ?? '')).body as Tokens;
    const rotated = await refresh(b.url, login2.clientId, tokens.refresh_token);
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    const replay = await refresh(a.url, login2.clientId, tokens.refresh_token);
    assert.match(oauthErrorOf(replay).error_description, /already used/);
    assert.equal((await refresh(b.url, login2.clientId, (rotated.body as Tokens).refresh_token)).status, 400);
  });

  test('Redis down: 503 temporarily_unavailable with Retry-After, and the code still works once it is back', async () => {
    const login = await untilConsent(a.url);
    const code = (await decide(login, 'approve')).get('code') ?? '';
    await redis.stop();
    try {
      const answer = await redeem(a.url, login, code);
      assert.equal(answer.status, 503, JSON.stringify(answer.body));
      assert.equal(oauthErrorOf(answer).error, 'temporarily_unavailable');
      assert.equal(answer.headers.get('retry-after'), '5');
    } finally {
      await redis.start();
    }
    await eventually(
      'the code redeemed once Redis is back',
      () => redeem(a.url, login, code),
      (answer) => answer.status === 200,
    );
  });
});
