/**
 * The `/_mock` control API over real HTTP: users and claims at run time, faults, lifetimes, clock,
 * keys, settings, the journal (secrets redacted) and reset; loopback-only access and the token.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { networkInterfaces } from 'node:os';
import { after, before, beforeEach, describe, test } from 'node:test';
import { z } from 'zod';
import { type MockIdp, startMockIdp } from './index.ts';
import {
  authorizationCode,
  authorizeUrl,
  type CallbackServer,
  callbackParams,
  HttpBrowser,
  startCallbackServer,
  tokenRequest,
  tokenResponse,
  userinfo,
} from './test-relying-party.ts';

async function control(
  idp: MockIdp,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${idp.endpoints.control}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

const errorBody = z.object({
  error: z.string(),
  error_description: z.string(),
  problems: z.array(z.object({ path: z.string(), rule: z.string(), value: z.string().optional() })).optional(),
});
const claimsBody = z.record(z.string(), z.unknown());

describe('control API', () => {
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
  beforeEach(() => {
    idp.reset();
  });

  async function userinfoOf(username: string): Promise<Record<string, unknown>> {
    const { code, redirectUri } = await authorizationCode(idp, callback, username);
    const tokens = tokenResponse.parse(
      (await tokenRequest(idp, { grant_type: 'authorization_code', code, redirect_uri: redirectUri })).body,
    );
    return claimsBody.parse((await userinfo(idp, tokens.access_token)).body);
  }

  test('GET /_mock summarises the state', async () => {
    const answer = await control(idp, 'GET', '');
    assert.equal(answer.status, 200);
    const summary = z
      .object({
        issuer: z.string(),
        users: z.array(z.string()),
        clients: z.array(z.string()),
        kids: z.array(z.string()),
      })
      .parse(answer.body);
    assert.equal(summary.issuer, idp.issuer);
    assert.deepEqual(summary.users, ['cli-test-user', 'alice', 'bob', 'mallory', 'carol']);
    assert.deepEqual(summary.clients, ['litellm-cli-test']);
    assert.equal(summary.kids.length, 2);
  });

  test('claims replaced at run time are served at the next userinfo, including new claim names', async () => {
    const put = await control(idp, 'PUT', '/users/alice/claims', {
      sub: 'alice',
      email: 'alice@new.example',
      favourite_colour: 'teal',
      org_info: { department: 'Moved' },
    });
    assert.equal(put.status, 200);
    const claims = await userinfoOf('alice');
    assert.equal(claims['email'], 'alice@new.example');
    assert.equal(claims['favourite_colour'], 'teal', 'a claim name unknown at start is released too');
    assert.equal(claims['teams'], undefined, 'replaced, not merged');
  });

  test('PATCH merges claims (RFC 7396: null removes one)', async () => {
    const patched = await control(idp, 'PATCH', '/users/bob/claims', { teams: ['team-gamma'], employment_type: null });
    assert.equal(patched.status, 200);
    const claims = claimsBody.parse(patched.body);
    assert.deepEqual(claims['teams'], ['team-gamma']);
    assert.equal('employment_type' in claims, false);
    assert.equal(claims['email'], 'bob@example.com');
  });

  test('users can be added, listed, replaced and removed; passwords are never echoed', async () => {
    const added = await control(idp, 'PUT', '/users/zed', {
      password: 'zed-pass',
      teams: ['t1'],
      claims: { email: 'z@example.com' },
    });
    assert.equal(added.status, 200);
    assert.doesNotMatch(JSON.stringify(added.body), /zed-pass/);
    const list = z
      .object({ users: z.array(z.looseObject({ username: z.string(), has_password: z.boolean() })) })
      .parse((await control(idp, 'GET', '/users')).body);
    assert.deepEqual(list.users.at(-1), {
      username: 'zed',
      has_password: true,
      claims: { email: 'z@example.com', teams: ['t1'] },
    });
    const page = await new HttpBrowser().get(authorizeUrl(idp, callback.redirectUri));
    assert.match(page.body, /Sign in as zed/);
    assert.equal((await control(idp, 'DELETE', '/users/zed')).status, 204);
    assert.equal((await control(idp, 'DELETE', '/users/zed')).status, 404);
    const replaced = await control(idp, 'PUT', '/users', { users: [{ username: 'solo' }] });
    assert.equal(replaced.status, 200);
    assert.deepEqual(
      (await control(idp, 'GET', '')).body &&
        z.object({ users: z.array(z.string()) }).parse((await control(idp, 'GET', '')).body).users,
      ['solo'],
    );
  });

  test('bad input is a 400 naming the input, the rule and the value', async () => {
    const bad = await control(idp, 'PUT', '/users', {
      users: [{ username: 'ok' }, { username: 'bad name', colour: 1 }],
    });
    assert.equal(bad.status, 400);
    const body = errorBody.parse(bad.body);
    assert.equal(body.error, 'invalid_request');
    const paths = body.problems?.map((p) => p.path) ?? [];
    assert.ok(
      paths.includes('body.users.[1].username') || paths.some((p) => p.endsWith('[1].username')),
      paths.join(', '),
    );
    assert.ok(body.problems?.some((p) => p.value === '"bad name"'));
    const fault = await control(idp, 'POST', '/faults', { endpoint: 'token', kind: 'status', status: 99 });
    assert.equal(fault.status, 400);
    assert.match(errorBody.parse(fault.body).error_description, /body\.status/);
    const notJson = await control(idp, 'POST', '/faults', '{"endpoint":');
    assert.equal(notJson.status, 400);
    assert.match(errorBody.parse(notJson.body).error_description, /must be JSON/);
    const unknown = await control(idp, 'GET', '/nothing-here');
    assert.equal(unknown.status, 404);
    assert.equal((await control(idp, 'GET', '/users/nobody')).status, 404);
  });

  test('a body nested too deep for the checks is a 400, not a 500', async () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    for (const [method, path, body] of [
      ['PUT', '/users/alice/claims', `{"deep":${deep}}`],
      ['PATCH', '/users/alice/claims', `{"deep":${deep}}`],
      ['PUT', '/users', `{"users":[{"username":"x","claims":{"deep":${deep}}}]}`],
      ['POST', '/faults', `{"endpoint":"token","kind":"status","status":500,"body":${deep}}`],
    ] as const) {
      const answer = await control(idp, method, path, body);
      assert.equal(answer.status, 400, `${method} ${path}`);
      assert.match(errorBody.parse(answer.body).error_description, /must not nest lists and objects more than/);
    }
  });

  test('a fault set through /_mock changes the next request, and reset clears it', async () => {
    const created = await control(idp, 'POST', '/faults', {
      endpoint: 'token',
      kind: 'oauth_error',
      error: 'invalid_client',
      status: 401,
      times: 'always',
    });
    assert.equal(created.status, 201);
    const { code, redirectUri } = await authorizationCode(idp, callback, 'alice');
    const refused = await tokenRequest(idp, { grant_type: 'authorization_code', code, redirect_uri: redirectUri });
    assert.equal(refused.status, 401);
    assert.equal(
      z.object({ faults: z.array(z.object({ hits: z.number() })) }).parse((await control(idp, 'GET', '/faults')).body)
        .faults[0]?.hits,
      1,
    );
    assert.equal((await control(idp, 'POST', '/reset')).status, 200);
    const again = await authorizationCode(idp, callback, 'alice');
    const ok = await tokenRequest(idp, {
      grant_type: 'authorization_code',
      code: again.code,
      redirect_uri: again.redirectUri,
    });
    assert.equal(ok.status, 200);
  });

  test('lifetimes, clock and settings round-trip', async () => {
    const lifetimes = await control(idp, 'PUT', '/lifetimes', { access_token_seconds: 77 });
    assert.equal(z.object({ access_token_seconds: z.number() }).parse(lifetimes.body).access_token_seconds, 77);
    const { code, redirectUri } = await authorizationCode(idp, callback, 'bob');
    const tokens = tokenResponse.parse(
      (await tokenRequest(idp, { grant_type: 'authorization_code', code, redirect_uri: redirectUri })).body,
    );
    assert.equal(tokens.expires_in, 77);
    assert.deepEqual((await control(idp, 'PUT', '/clock', { offset_seconds: -30 })).body, { offset_seconds: -30 });
    assert.equal((await control(idp, 'PUT', '/clock', { offset_seconds: 'soon' })).status, 400);
    assert.deepEqual((await control(idp, 'PUT', '/settings', { auto_login: 'carol' })).body, { auto_login: 'carol' });
    const landed = await new HttpBrowser().get(authorizeUrl(idp, callback.redirectUri));
    assert.ok(callbackParams(landed).get('code'), 'auto-login signs carol in without a page');
    assert.equal((await control(idp, 'PUT', '/settings', { auto_login: 'nobody' })).status, 400);
    assert.deepEqual((await control(idp, 'PUT', '/settings', { auto_login: null })).body, { auto_login: null });
  });

  test('POST /_mock/keys/rotate publishes new keys first', async () => {
    const before_ = z.object({ kids: z.array(z.string()) }).parse((await control(idp, 'GET', '/keys')).body).kids;
    const rotated = z
      .object({ kids: z.array(z.string()) })
      .parse((await control(idp, 'POST', '/keys/rotate')).body).kids;
    assert.deepEqual(rotated.slice(2), before_);
    const jwks = z
      .object({ keys: z.array(z.object({ kid: z.string() })) })
      .parse(await (await fetch(idp.endpoints.jwks)).json());
    assert.deepEqual(
      jwks.keys.map((k) => k.kid),
      rotated,
    );
  });

  test('the journal shows requests with OAuth parameters and provider events, secrets redacted, filterable', async () => {
    const since = idp.journal.lastSeq();
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const { code, redirectUri } = await authorizationCode(idp, callback, 'alice', {
      code_challenge_method: 'S256',
      code_challenge: challenge,
    });
    const token = await tokenRequest(idp, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    });
    assert.equal(token.status, 200, JSON.stringify(token.body));
    const answer = await control(idp, 'GET', `/journal?since=${since}&endpoint=token`);
    assert.equal(answer.status, 200);
    const text = JSON.stringify(answer.body);
    const entries = z
      .object({
        entries: z.array(
          z.object({
            type: z.literal('request'),
            method: z.string(),
            status: z.number(),
            clientId: z.string().optional(),
            params: z.record(z.string(), z.unknown()).optional(),
          }),
        ),
      })
      .parse(answer.body).entries;
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.status, 200);
    assert.equal(entries[0]?.clientId, 'litellm-cli-test');
    assert.equal(entries[0]?.params?.['grant_type'], 'authorization_code');
    assert.equal(entries[0]?.params?.['code'], '[redacted]');
    assert.equal(entries[0]?.params?.['code_verifier'], '[redacted]');
    assert.ok(!text.includes(code), 'the authorization code is not in the journal');
    const authorization = z
      .object({ entries: z.array(z.object({ params: z.record(z.string(), z.unknown()).optional() })) })
      .parse((await control(idp, 'GET', `/journal?since=${since}&endpoint=authorization`)).body).entries;
    assert.equal(authorization[0]?.params?.['code_challenge_method'], 'S256');
    assert.equal(authorization[0]?.params?.['scope'], 'openid email profile');
    const events = z
      .object({ entries: z.array(z.object({ event: z.string() })) })
      .parse((await control(idp, 'GET', `/journal?since=${since}&type=event`)).body)
      .entries.map((e) => e.event);
    assert.ok(events.includes('grant.success'), events.join(', '));
    assert.ok(events.includes('authorization.success'), events.join(', '));
    const all = JSON.stringify(idp.journal.query());
    assert.ok(!all.includes('litellm-cli-test-secret'), 'the client secret is not in the journal');
    assert.equal((await control(idp, 'GET', '/journal?limit=zero')).status, 400);
    assert.equal((await control(idp, 'GET', '/journal?colour=red')).status, 400);
  });
});

describe('control API access', () => {
  test('with a control token, calls without it get 401 and calls with it work', async () => {
    const token = 'let-me-in-0123456789';
    const idp = await startMockIdp({ port: 0, controlToken: token });
    try {
      assert.equal((await control(idp, 'GET', '')).status, 401);
      assert.equal((await control(idp, 'GET', '', undefined, { authorization: 'Bearer wrong' })).status, 401);
      assert.equal((await control(idp, 'GET', '', undefined, { authorization: `Bearer ${token}` })).status, 200);
    } finally {
      await idp.close();
    }
  });

  const external = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
  test('without a token, callers that are not on loopback are refused', {
    skip: external ? false : 'no non-loopback IPv4 address on this machine',
  }, async () => {
    const idp = await startMockIdp({ port: 0, host: '0.0.0.0' });
    try {
      const response = await fetch(`http://${external}:${idp.port}/_mock`);
      assert.equal(response.status, 403);
      assert.equal(errorBody.parse(await response.json()).error, 'access_denied');
      assert.equal((await fetch(`http://127.0.0.1:${idp.port}/_mock`)).status, 200);
      assert.equal((await fetch(`http://${external}:${idp.port}/health`)).status, 200, 'only /_mock is guarded');
    } finally {
      await idp.close();
    }
  });
});

/** A request to `path` (from the root) with headers fetch would not let a caller set (Host), over node:http. */
function rawRequest(
  idp: MockIdp,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // The listener's own address, whatever the issuer says (the Host header is the test's to choose).
    const req = httpRequest(`${idp.url}${path}`, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('control API refuses what a web page could send', () => {
  let idp: MockIdp;
  before(async () => {
    idp = await startMockIdp({ port: 0 });
  });
  after(async () => {
    await idp.close();
  });
  beforeEach(() => {
    idp.reset();
  });
  const fault = JSON.stringify({ endpoint: 'token', kind: 'status', status: 500, times: 'always' });

  test('a body that is not declared JSON gets 415 and changes nothing (cross-site forms and simple fetches)', async () => {
    for (const type of [
      'text/plain',
      'text/plain;charset=UTF-8',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const answer = await control(idp, 'POST', '/faults', fault, { 'content-type': type });
      assert.equal(answer.status, 415, type);
      assert.equal(errorBody.parse(answer.body).error, 'invalid_request');
      assert.match(errorBody.parse(answer.body).error_description, /Content-Type must be application\/json/);
    }
    assert.equal((await rawRequest(idp, 'POST', '/_mock/faults', {}, fault)).status, 415, 'a body without a type');
    assert.equal((await control(idp, 'POST', '/reset', 'x', { 'content-type': 'text/plain' })).status, 415);
    assert.deepEqual(idp.faults.list(), [], 'no fault was added');
    assert.equal((await control(idp, 'POST', '/faults', fault)).status, 201, 'application/json is fine');
    assert.equal(
      (await control(idp, 'POST', '/faults', fault, { 'content-type': 'application/merge-patch+json' })).status,
      201,
      'a +json type is fine',
    );
    assert.equal(
      (await rawRequest(idp, 'POST', '/_mock/reset', {})).status,
      200,
      'a call without a body needs no type',
    );
  });

  test("a foreign Origin gets 403; the IdP's own origin and loopback origins pass", async () => {
    for (const origin of ['https://evil.example', 'null', 'http://127.0.0.1.evil.example', 'file://']) {
      const answer = await control(idp, 'POST', '/faults', fault, { origin });
      assert.equal(answer.status, 403, origin);
      assert.equal(errorBody.parse(answer.body).error, 'access_denied');
    }
    assert.equal((await control(idp, 'GET', '/users', undefined, { origin: 'https://evil.example' })).status, 403);
    assert.deepEqual(idp.faults.list(), [], 'no fault was added');
    for (const origin of [idp.url, 'http://localhost:3000', 'http://127.0.0.1:9', 'http://[::1]:8080']) {
      assert.equal((await control(idp, 'GET', '', undefined, { origin })).status, 200, origin);
    }
  });

  test("a Host that is not the IdP's own or a loopback name gets 403 (DNS rebinding)", async () => {
    for (const host of [`evil.example:${idp.port}`, 'evil.example', `127.0.0.1.nip.io:${idp.port}`, 'evil@127.0.0.1']) {
      const answer = await rawRequest(idp, 'GET', '/_mock/users', { host });
      assert.equal(answer.status, 403, host);
      assert.equal(errorBody.parse(JSON.parse(answer.body)).error, 'access_denied');
    }
    const post = await rawRequest(idp, 'POST', '/_mock/reset', { host: `evil.example:${idp.port}` });
    assert.equal(post.status, 403);
    for (const host of [`127.0.0.1:${idp.port}`, `localhost:${idp.port}`, `[::1]:${idp.port}`]) {
      assert.equal((await rawRequest(idp, 'GET', '/_mock', { host })).status, 200, host);
    }
    assert.equal((await rawRequest(idp, 'GET', '/health', { host: 'evil.example' })).status, 200, 'only /_mock');
  });

  test("an issuer host name is the IdP's own host", async () => {
    const named = await startMockIdp({ port: 0, issuer: 'http://idp.internal.test:8765' });
    try {
      assert.equal((await rawRequest(named, 'GET', '/_mock', { host: 'idp.internal.test:8765' })).status, 200);
      assert.equal((await rawRequest(named, 'GET', '/_mock', { host: 'other.internal.test:8765' })).status, 403);
    } finally {
      await named.close();
    }
  });

  test('a control token shorter than 16 characters is refused at start', async () => {
    // Closed if it starts after all, so a failure does not leave a server holding the test process.
    const started = startMockIdp({ port: 0, controlToken: 'let-me-in' }).then((weak) => weak.close());
    await assert.rejects(started, /controlToken must be at least 16 characters/);
  });
});
