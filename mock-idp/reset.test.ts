/**
 * Reset returns to the start: everything the control API can change is changed (users, claims and
 * the claim names released, faults, lifetimes, clock, auto-login, keys, journal, sessions and
 * tokens), then reset, and what the mock shows over HTTP is compared with a fresh instance.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { type MockIdp, startMockIdp } from './index.ts';
import {
  authorizationCode,
  authorizeUrl,
  type CallbackServer,
  startCallbackServer,
  tokenRequest,
  tokenResponse,
  userinfo,
} from './test-relying-party.ts';

async function control(idp: MockIdp, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${idp.endpoints.control}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  assert.ok(response.ok, `${method} /_mock${path}: ${response.status} ${await response.clone().text()}`);
  return response.status === 204 ? undefined : response.json();
}

const jwks = z.object({ keys: z.array(z.object({ kid: z.string() })) });

/**
 * Everything the mock shows about its state over HTTP, with its own address replaced, so two
 * instances can be compared. Key ids are random per instance: they are returned apart.
 */
async function observed(idp: MockIdp): Promise<{ state: unknown; kids: string[] }> {
  const get = (path: string) => control(idp, 'GET', path);
  // Control calls are not journaled; discovery and JWKS requests are, so the journal is read first.
  const journal = await get('/journal');
  const { kids, ...summary } = z.looseObject({ kids: z.array(z.string()) }).parse(await get(''));
  const state = {
    journal,
    summary,
    users: await get('/users'),
    faults: await get('/faults'),
    lifetimes: await get('/lifetimes'),
    clock: await get('/clock'),
    settings: await get('/settings'),
    discovery: await (await fetch(idp.endpoints.discovery)).json(),
  };
  const published = jwks.parse(await (await fetch(idp.endpoints.jwks)).json()).keys.map((k) => k.kid);
  assert.deepEqual(published, kids, 'the JWKS publishes the kids the summary lists');
  return { state: JSON.parse(JSON.stringify(state).replaceAll(idp.url, 'http://mock-idp')), kids };
}

describe('reset', () => {
  let idp: MockIdp;
  let fresh: MockIdp;
  let callback: CallbackServer;
  before(async () => {
    [idp, fresh, callback] = await Promise.all([
      startMockIdp({ port: 0 }),
      startMockIdp({ port: 0 }),
      startCallbackServer(),
    ]);
  });
  after(async () => {
    await Promise.all([idp.close(), fresh.close(), callback.close()]);
  });

  test('everything changed through the API goes back to what a fresh instance shows', async () => {
    const atStart = await observed(idp);

    // Sessions, codes and tokens, and journal entries.
    const { code, redirectUri, browser } = await authorizationCode(idp, callback, 'alice');
    const tokens = tokenResponse.parse(
      (await tokenRequest(idp, { grant_type: 'authorization_code', code, redirect_uri: redirectUri })).body,
    );
    assert.ok(tokens.refresh_token, 'a refresh token to try after reset');
    const again = await browser.get(authorizeUrl(idp, callback.redirectUri));
    assert.ok(again.url.startsWith(callback.redirectUri), 'the browser has a session at the IdP');

    // Users, claims (new names, hostile names), faults, lifetimes, clock, auto-login, keys.
    await control(idp, 'PUT', '/users/zed', { password: 'zed-password', claims: { shoe_size: 44 } });
    await control(idp, 'PATCH', '/users/alice/claims', { favourite_colour: 'teal', constructor: 'x', teams: null });
    await control(idp, 'DELETE', '/users/bob');
    await control(idp, 'POST', '/faults', { endpoint: 'token', kind: 'status', status: 503, times: 'always' });
    await control(idp, 'POST', '/faults', { endpoint: 'userinfo', kind: 'delay', delay_ms: 5 });
    await control(idp, 'PUT', '/lifetimes', { access_token_seconds: 5, refresh_token_seconds: 50 });
    await control(idp, 'PUT', '/clock', { offset_seconds: -3600 });
    await control(idp, 'PUT', '/settings', { auto_login: 'zed' });
    await control(idp, 'POST', '/keys/rotate');
    const changed = await observed(idp);
    assert.notDeepEqual(changed.state, atStart.state, 'the changes show');
    assert.notDeepEqual(changed.kids, atStart.kids);

    await control(idp, 'POST', '/reset');

    const afterReset = await observed(idp);
    const ofFresh = await observed(fresh);
    assert.deepEqual(afterReset.state, ofFresh.state, 'as a fresh instance');
    assert.deepEqual(afterReset.state, atStart.state, 'as at its own start');
    assert.deepEqual(afterReset.kids, atStart.kids, 'the keys it started with');
    assert.equal(afterReset.kids.length, ofFresh.kids.length);

    // What is not listed anywhere: sessions and tokens are gone, numbering starts again.
    assert.equal((await userinfo(idp, tokens.access_token)).status, 401, 'the access token is gone');
    const refreshed = await tokenRequest(idp, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
    assert.equal(refreshed.status, 400, 'the refresh token is gone');
    const signIn = await browser.get(authorizeUrl(idp, callback.redirectUri));
    assert.match(signIn.body, /Sign in to Mock IdP/, 'the browser session is gone: the login page again');
    const fault = { endpoint: 'jwks', kind: 'status', status: 500 };
    assert.deepEqual(await control(idp, 'POST', '/faults', fault), await control(fresh, 'POST', '/faults', fault));
  });
});
