/**
 * Claims named like JavaScript's own properties (`constructor`, `__proto__`, `toString`, ...) are
 * data like any other: the user who has them logs in and gets them, every other user keeps all of
 * theirs, and reset takes them away again. Real HTTP: login page, token endpoint, userinfo.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decodeJwt } from 'jose';
import { z } from 'zod';
import { type MockIdp, parseUsersFile, startMockIdp } from './index.ts';
import {
  authorizationCode,
  type CallbackServer,
  startCallbackServer,
  tokenRequest,
  tokenResponse,
  userinfo,
} from './test-relying-party.ts';

/** Names that are properties of every plain object (or special to it). */
const HOSTILE_NAMES = [
  'constructor',
  '__proto__',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__lookupGetter__',
  'prototype',
];

/** The value each hostile claim gets: a nested object, so a prototype swap would be visible. */
function hostileClaims(): Record<string, unknown> {
  return JSON.parse(`{${HOSTILE_NAMES.map((name) => `"${name}": {"claim": "${name}"}`).join(', ')}}`);
}

/** Own properties only: `body.constructor` would find Object's own constructor. */
function own(body: unknown, name: string): unknown {
  assert.ok(typeof body === 'object' && body !== null, 'an object');
  return Object.getOwnPropertyDescriptor(body, name)?.value;
}

function assertHasHostileClaims(body: unknown, where: string): void {
  for (const name of HOSTILE_NAMES) {
    assert.deepEqual(own(body, name), { claim: name }, `${where} carries the claim ${name}`);
  }
  assert.equal(Object.getPrototypeOf(body), Object.prototype, `${where}: the prototype is untouched`);
}

const BOB_USERINFO = {
  sub: 'bob',
  preferred_username: 'bob',
  email: 'bob@example.com',
  email_verified: true,
  name: 'Bob Brown',
  employment_type: 'full_time',
  org_info: { department: 'Platform' },
  teams: ['team-alpha', 'team-beta'],
};

const ALICE_USERINFO = {
  sub: 'alice',
  preferred_username: 'alice',
  email: 'alice@example.com',
  email_verified: true,
  name: 'Alice Anders',
  given_name: 'Alice',
  family_name: 'Anders',
  employment_type: 'full_time',
  org_info: { department: 'Research', cost_center: 'CC-42' },
  groups: ['engineering', 'ml-platform'],
  employee_number: '42',
  teams: ['team-alpha'],
};

/** One whole code flow: login page, code, token request, userinfo. Fails on any non-200. */
async function logIn(
  idp: MockIdp,
  callback: CallbackServer,
  username: string,
): Promise<{ userinfo: unknown; idToken: Record<string, unknown> }> {
  const { code, redirectUri } = await authorizationCode(idp, callback, username);
  const token = await tokenRequest(idp, { grant_type: 'authorization_code', code, redirect_uri: redirectUri });
  assert.equal(token.status, 200, `token request for ${username}: ${JSON.stringify(token.body)}`);
  const tokens = tokenResponse.parse(token.body);
  const answer = await userinfo(idp, tokens.access_token);
  assert.equal(answer.status, 200, `userinfo for ${username}: ${JSON.stringify(answer.body)}`);
  return { userinfo: answer.body, idToken: decodeJwt(tokens.id_token ?? '') };
}

async function control(idp: MockIdp, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${idp.endpoints.control}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  assert.ok(response.ok, `${method} /_mock${path}: ${response.status}`);
  return response.json();
}

const claimsSupported = z.object({ claims_supported: z.array(z.string()) });

async function supportedClaims(idp: MockIdp): Promise<string[]> {
  const response = await fetch(idp.endpoints.discovery);
  return claimsSupported.parse(await response.json()).claims_supported;
}

describe('hostile claim names given through the control API', () => {
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

  test('the user logs in and gets them, another user keeps every claim, reset removes them', async () => {
    const before = await supportedClaims(idp);
    await control(idp, 'PATCH', '/users/alice/claims', { ...hostileClaims(), favourite_colour: 'teal' });
    assertHasHostileClaims(await control(idp, 'GET', '/users/alice/claims'), 'GET /_mock/users/alice/claims');

    const alice = await logIn(idp, callback, 'alice');
    assertHasHostileClaims(alice.userinfo, "alice's userinfo");
    assert.equal(own(alice.userinfo, 'email'), 'alice@example.com');
    assert.equal(own(alice.userinfo, 'favourite_colour'), 'teal');
    assert.deepEqual((await logIn(idp, callback, 'bob')).userinfo, BOB_USERINFO, "bob's claims are intact");

    await control(idp, 'POST', '/reset');
    assert.deepEqual((await logIn(idp, callback, 'bob')).userinfo, BOB_USERINFO, 'bob after reset');
    assert.deepEqual((await logIn(idp, callback, 'alice')).userinfo, ALICE_USERINFO, 'alice after reset');
    assert.deepEqual(await supportedClaims(idp), before, 'the claim names added are gone after reset');
  });

  test('a claim named __proto__ is stored as a claim, not as a prototype', async () => {
    await control(idp, 'PUT', '/users/zed', { claims: JSON.parse('{"__proto__": {"email": "x@evil.example"}}') });
    const zed = await logIn(idp, callback, 'zed');
    assert.equal(own(zed.userinfo, 'email'), undefined, 'no email claim came through the prototype');
    assert.deepEqual(own(zed.userinfo, '__proto__'), { email: 'x@evil.example' });
    idp.reset();
  });
});

describe('hostile claim names given in the users file', () => {
  let idp: MockIdp;
  let callback: CallbackServer;
  before(async () => {
    const file = parseUsersFile(
      [
        'users:',
        '  - username: hostile',
        '    claims:',
        '      email: hostile@example.com',
        ...HOSTILE_NAMES.map((name) => `      ${name}: { claim: ${name} }`),
        '  - username: plain',
        '    claims: { email: plain@example.com, department: Sales }',
      ].join('\n'),
      'users.yaml',
    );
    idp = await startMockIdp({ port: 0, users: file.users, idTokenUserClaims: true });
    callback = await startCallbackServer();
  });
  after(async () => {
    await callback.close();
    await idp.close();
  });

  test('userinfo and the id_token carry them; the other user keeps every claim, before and after reset', async () => {
    const hostile = await logIn(idp, callback, 'hostile');
    assertHasHostileClaims(hostile.userinfo, 'userinfo');
    assertHasHostileClaims(hostile.idToken, 'id_token');
    assert.equal(own(hostile.userinfo, 'email'), 'hostile@example.com');
    const plain = { sub: 'plain', email: 'plain@example.com', department: 'Sales' };
    assert.deepEqual((await logIn(idp, callback, 'plain')).userinfo, plain);

    idp.reset();
    assert.deepEqual((await logIn(idp, callback, 'plain')).userinfo, plain, 'after reset');
    assertHasHostileClaims((await logIn(idp, callback, 'hostile')).userinfo, 'userinfo after reset');
  });
});
