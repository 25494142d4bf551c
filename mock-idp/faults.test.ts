/**
 * One test per fault kind, plus once / N times / always, and the clock offset
 * and lifetime overrides that change issued tokens. Faults are set through the programmatic API
 * here; control-api.test.ts shows the same through `/_mock`.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
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

/** A full code exchange for alice; the token answer as received. */
async function exchange(): Promise<{ status: number; body: unknown }> {
  const { code, redirectUri } = await authorizationCode(idp, callback, 'alice');
  return tokenRequest(idp, { grant_type: 'authorization_code', code, redirect_uri: redirectUri });
}

async function idTokenOfExchange(): Promise<string> {
  const answer = await exchange();
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  const idToken = tokenResponse.parse(answer.body).id_token;
  assert.ok(idToken);
  return idToken;
}

function verify(idToken: string) {
  return jwtVerify(idToken, createRemoteJWKSet(new URL(idp.endpoints.jwks)), {
    issuer: idp.issuer,
    audience: 'litellm-cli-test',
  });
}

describe('fault kinds', () => {
  test('status: the endpoint answers the given status and body', async () => {
    idp.faults.inject({ endpoint: 'userinfo', kind: 'status', status: 503, body: { message: 'down for maintenance' } });
    const response = await fetch(idp.endpoints.userinfo, { headers: { authorization: 'Bearer whatever' } });
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), { message: 'down for maintenance' });
  });

  test('oauth_error at the token endpoint: RFC 6749 section 5.2 body', async () => {
    idp.faults.inject({
      endpoint: 'token',
      kind: 'oauth_error',
      error: 'invalid_grant',
      error_description: 'injected',
    });
    const answer = await exchange();
    assert.equal(answer.status, 400);
    assert.deepEqual(answer.body, { error: 'invalid_grant', error_description: 'injected' });
  });

  test('oauth_error at the authorization endpoint goes back to the client redirect URI with state', async () => {
    idp.faults.inject({ endpoint: 'authorization', kind: 'oauth_error', error: 'temporarily_unavailable' });
    const landed = await new HttpBrowser().get(authorizeUrl(idp, callback.redirectUri));
    const params = callbackParams(landed);
    assert.equal(params.get('error'), 'temporarily_unavailable');
    assert.equal(params.get('state'), 'state-123');
    assert.equal(params.get('iss'), idp.issuer);
  });

  test('delay: the answer comes late but right', async () => {
    idp.faults.inject({ endpoint: 'discovery', kind: 'delay', delay_ms: 300 });
    const started = performance.now();
    const response = await fetch(idp.endpoints.discovery);
    assert.ok(performance.now() - started >= 290, 'answered after the delay');
    assert.equal(response.status, 200);
  });

  test('drop_connection: the client sees the socket close with no answer', async () => {
    idp.faults.inject({ endpoint: 'token', kind: 'drop_connection' });
    await assert.rejects(fetch(idp.endpoints.token, { method: 'POST', body: 'grant_type=x' }), TypeError);
    const entry = idp.journal.query({ endpoint: 'token' }).at(-1);
    assert.equal(entry?.type === 'request' ? entry.status : undefined, 0, 'journal shows no status');
  });

  test('malformed_body: same status, body that is not JSON', async () => {
    idp.faults.inject({ endpoint: 'token', kind: 'malformed_body' });
    const answer = await exchange();
    assert.equal(answer.status, 200);
    assert.equal(typeof answer.body, 'string', 'not parseable as JSON');
  });

  test('wrong_issuer: the id_token names another issuer (signature still valid)', async () => {
    idp.faults.inject({ endpoint: 'token', kind: 'wrong_issuer' });
    const idToken = await idTokenOfExchange();
    assert.equal(decodeJwt(idToken).iss, 'https://wrong-issuer.example');
    await assert.rejects(
      verify(idToken),
      (error: unknown) => error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'iss',
    );
  });

  test('wrong_issuer on discovery: the document names another issuer', async () => {
    idp.faults.inject({ endpoint: 'discovery', kind: 'wrong_issuer', issuer: 'https://elsewhere.example' });
    const body = z.object({ issuer: z.string() }).parse(await (await fetch(idp.endpoints.discovery)).json());
    assert.equal(body.issuer, 'https://elsewhere.example');
  });

  test('wrong_audience: the id_token is for someone else', async () => {
    idp.faults.inject({ endpoint: 'token', kind: 'wrong_audience', audience: 'not-you' });
    const idToken = await idTokenOfExchange();
    await assert.rejects(
      verify(idToken),
      (error: unknown) => error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'aud',
    );
  });

  test('wrong_signing_key: the kid is known but the signature does not verify', async () => {
    idp.faults.inject({ endpoint: 'token', kind: 'wrong_signing_key' });
    const idToken = await idTokenOfExchange();
    await assert.rejects(verify(idToken), joseErrors.JWSSignatureVerificationFailed);
  });

  test('expired_id_token: exp is in the past', async () => {
    idp.faults.inject({ endpoint: 'token', kind: 'expired_id_token', expired_seconds_ago: 120 });
    const idToken = await idTokenOfExchange();
    const exp = decodeJwt(idToken).exp ?? 0;
    assert.ok(exp <= Math.floor(Date.now() / 1000) - 119);
    await assert.rejects(verify(idToken), joseErrors.JWTExpired);
  });

  test('an id_token fault on an endpoint without id_tokens is refused, naming the rule', () => {
    assert.throws(
      () => idp.faults.inject({ endpoint: 'userinfo', kind: 'expired_id_token' }),
      /expired_id_token applies to token/,
    );
    // @ts-expect-error an endpoint the mock does not have: refused at run time too, for untyped callers
    assert.throws(() => idp.faults.inject({ endpoint: 'nowhere', kind: 'status', status: 500 }), /endpoint/);
  });
});

describe('how often a fault fires', () => {
  const discoveryStatus = async () => (await fetch(idp.endpoints.discovery)).status;

  test('once (the default): the next request only', async () => {
    idp.faults.inject({ endpoint: 'discovery', kind: 'status', status: 500 });
    assert.equal(await discoveryStatus(), 500);
    assert.equal(await discoveryStatus(), 200);
    assert.deepEqual(idp.faults.list(), []);
  });

  test('N times', async () => {
    idp.faults.inject({ endpoint: 'discovery', kind: 'status', status: 502, times: 2 });
    assert.deepEqual([await discoveryStatus(), await discoveryStatus(), await discoveryStatus()], [502, 502, 200]);
  });

  test('always, until removed; other endpoints are untouched', async () => {
    const fault = idp.faults.inject({ endpoint: 'discovery', kind: 'status', status: 500, times: 'always' });
    assert.deepEqual([await discoveryStatus(), await discoveryStatus()], [500, 500]);
    assert.equal((await fetch(idp.endpoints.jwks)).status, 200);
    assert.equal(idp.faults.list()[0]?.hits, 2);
    assert.ok(idp.faults.remove(fault.id));
    assert.equal(await discoveryStatus(), 200);
  });

  test('reset clears faults', async () => {
    idp.faults.inject({ endpoint: 'discovery', kind: 'status', status: 500, times: 'always' });
    idp.reset();
    assert.equal(await discoveryStatus(), 200);
  });
});

describe('clock offset and token lifetimes', () => {
  test('a clock offset moves iat and exp of issued id_tokens', async () => {
    idp.setClockOffsetSeconds(7200);
    const idToken = await idTokenOfExchange();
    const { iat = 0, exp = 0 } = decodeJwt(idToken);
    assert.ok(iat >= Math.floor(Date.now() / 1000) + 7200 - 5, `iat ${iat} is two hours ahead`);
    assert.equal(exp - iat, 3600, 'the lifetime is unchanged');
    // An RP that bounds token age sees an id_token from the future.
    await assert.rejects(
      jwtVerify(idToken, createRemoteJWKSet(new URL(idp.endpoints.jwks)), { issuer: idp.issuer, maxTokenAge: '1h' }),
      (error: unknown) => error instanceof joseErrors.JWTClaimValidationFailed && error.claim === 'iat',
    );
  });

  test('lifetime overrides change expires_in and the id_token lifetime', async () => {
    idp.setLifetimes({ accessTokenSeconds: 42, idTokenSeconds: 30 });
    const answer = tokenResponse.parse((await exchange()).body);
    assert.equal(answer.expires_in, 42);
    const { iat = 0, exp = 0 } = decodeJwt(answer.id_token ?? '');
    assert.equal(exp - iat, 30);
    idp.reset();
    assert.equal(tokenResponse.parse((await exchange()).body).expires_in, 3600);
  });

  test('an access token past its lifetime is refused at userinfo', async () => {
    idp.setLifetimes({ accessTokenSeconds: 1 });
    const answer = tokenResponse.parse((await exchange()).body);
    // Poll with a deadline (no fixed sleep): the token expires within about a second.
    const deadline = Date.now() + 5000;
    let status = 200;
    while (status === 200 && Date.now() < deadline) status = (await userinfo(idp, answer.access_token)).status;
    assert.equal(status, 401);
  });
});
