import assert from 'node:assert/strict';
import { Given, Then, When } from '@cucumber/cucumber';
import {
  browserLoginUrl,
  CLI_SOURCE,
  CLI_SSO_PATHS,
  CLI_STATE_PREFIX,
  LOGIN_ID_PATTERN,
  parseStartAnswer,
  type StartAnswer,
} from '../../protocol/cli-sso.ts';
import type { ConformanceWorld } from '../support/world.ts';
import {
  expectReady,
  pollUntilSettled,
  sessionLoginUrl,
  startedSession,
  startOneMore,
  startSession,
  startWithinAMinute,
} from '../tasks/browser-login.ts';
import { openInBrowser } from '../tasks/browser-visits.ts';
import { confirmCode } from '../tasks/code-confirmation.ts';
import { publicBaseUrl, useSecretInBodyClient } from '../tasks/gateway-setup.ts';
import { signInAtIdpPageAs } from '../tasks/idp-sign-in.ts';
import { loginIdNearMiss } from '../tasks/near-misses.ts';

When('a CLI starts a login session', async function (this: ConformanceWorld) {
  await startSession(this);
});

Given('a CLI started a login session', async function (this: ConformanceWorld) {
  await startedSession(this);
});

Then(
  'the gateway answers {int} with a login id, a poll secret, a user code and an expiry of {int} seconds',
  function (this: ConformanceWorld, status: number, seconds: number) {
    const answer = this.lastAnswer;
    assert.ok(answer);
    assert.equal(answer.status, status, answer.text.slice(0, 300));
    const start = parseStartAnswer(answer.json);
    assert.equal(start.expiresInSeconds, seconds);
    assert.ok(typeof answer.json === 'object' && answer.json !== null && 'expires_in' in answer.json, 'no expires_in');
  },
);

Then("the login id, poll secret and user code have the contract's shape", function (this: ConformanceWorld) {
  const flow = this.flow;
  assert.ok(flow, 'no session');
  assert.match(flow.loginId, LOGIN_ID_PATTERN);
  assert.ok(flow.pollSecret.length >= 43, `the poll secret has ${flow.pollSecret.length} characters, fewer than 43`);
  assert.match(flow.pollSecret, /^[A-Za-z0-9_-]+$/, 'the poll secret is not url-safe base64');
  assert.match(flow.userCode, /^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{4}-[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{4}$/);
});

When('a CLI starts {int} login sessions', async function (this: ConformanceWorld, count: number) {
  const sessions: StartAnswer[] = [];
  for (let i = 0; i < count; i++) {
    const answer = await startSession(this);
    assert.equal(answer.status, 200, `start #${i + 1} answered ${answer.status}`);
    sessions.push(parseStartAnswer(answer.json));
  }
  this.state.sessions = sessions;
});

When('a CLI starts {int} login sessions within a minute', async function (this: ConformanceWorld, count: number) {
  await startWithinAMinute(this, count);
});

When('it starts one more', async function (this: ConformanceWorld) {
  await startOneMore(this);
});

Then('that answer holds no login session', function (this: ConformanceWorld) {
  const json = this.lastAnswer?.json;
  assert.ok(!(typeof json === 'object' && json !== null && 'login_id' in json), 'the refused answer holds a login_id');
});

Then('no two sessions share a login id, a poll secret or a user code', function (this: ConformanceWorld) {
  const sessions: StartAnswer[] | undefined = this.state.sessions;
  assert.ok(sessions, 'no sessions were started one after another');
  for (const field of ['loginId', 'pollSecret', 'userCode'] as const) {
    const values: string[] = sessions.map((s) => s[field]);
    assert.equal(new Set(values).size, values.length, `two sessions share a ${field}`);
  }
});

/** The first answer of the browser's navigation: the gateway's redirect to the IdP. */
/** The browser opens the gateway's entry `url`; the redirect to the IdP is kept for the steps below. */
async function followEntry(world: ConformanceWorld, url: string): Promise<void> {
  const answer = await openInBrowser(world, url);
  const location = answer.headers.location;
  assert.ok(
    answer.status >= 300 && answer.status < 400 && location,
    `the gateway answered ${answer.status} instead of redirecting`,
  );
  world.state.entryRedirect = new URL(location, url);
}

When("the browser opens the session's login URL", async function (this: ConformanceWorld) {
  const gateway = await this.gateway();
  await followEntry(this, sessionLoginUrl(this, gateway.url));
});

// Section 7: the admin UI login is the same entry without `source`, and the same sign-in at the IdP.
When('the browser opens the admin UI sign-in', async function (this: ConformanceWorld) {
  const gateway = await this.gateway();
  await followEntry(this, `${gateway.url}${CLI_SSO_PATHS.browserEntry}`);
});

function entryRedirect(world: ConformanceWorld): URL {
  const redirect = world.state.entryRedirect;
  assert.ok(redirect, 'the browser was not redirected');
  return redirect;
}

Then("it is redirected to the IdP's authorization endpoint", async function (this: ConformanceWorld) {
  const gateway = await this.gateway();
  const expected = new URL(gateway.env.GENERIC_AUTHORIZATION_ENDPOINT ?? '');
  const redirect = entryRedirect(this);
  assert.equal(`${redirect.origin}${redirect.pathname}`, `${expected.origin}${expected.pathname}`);
});

Then(
  'the redirect asks for a code for client {string} with scope {string}',
  function (this: ConformanceWorld, clientId: string, scope: string) {
    const params = entryRedirect(this).searchParams;
    assert.equal(params.get('response_type'), 'code');
    assert.equal(params.get('client_id'), clientId);
    assert.deepEqual((params.get('scope') ?? '').split(' ').sort(), scope.split(' ').sort());
  },
);

Then("the redirect's state is {string} followed by the login id", function (this: ConformanceWorld, prefix: string) {
  assert.equal(prefix, CLI_STATE_PREFIX);
  assert.equal(entryRedirect(this).searchParams.get('state'), `${prefix}${this.flow?.loginId}`);
});

Then("the redirect's callback is the gateway's \\/sso\\/callback", async function (this: ConformanceWorld) {
  const gateway = await this.gateway();
  // docs/contract.md section 2.2: {PROXY_BASE_URL}/sso/callback, the base the gateway was told it is served at.
  const base = publicBaseUrl(gateway);
  assert.equal(
    entryRedirect(this).searchParams.get('redirect_uri'),
    `${base.replace(/\/+$/, '')}${CLI_SSO_PATHS.callback}`,
  );
});

Given(
  "the gateway is the IdP's client that sends its id and secret in the token request's body, with GENERIC_INCLUDE_CLIENT_ID true",
  async function (this: ConformanceWorld) {
    await useSecretInBodyClient(this);
  },
);

Given("the gateway's public base URL is {string}", function (this: ConformanceWorld, url: string) {
  this.gatewayOverrides.PROXY_BASE_URL = url;
});

Then('the redirect carries a code challenge with method {string}', function (this: ConformanceWorld, method: string) {
  const params = entryRedirect(this).searchParams;
  assert.equal(params.get('code_challenge_method'), method);
  assert.match(
    params.get('code_challenge') ?? '',
    /^[A-Za-z0-9_-]{43}$/,
    'the code challenge is not a base64url SHA-256',
  );
});

Then('{string} can finish that login in the browser', async function (this: ConformanceWorld, username: string) {
  await signInAtIdpPageAs(this, username);
  await confirmCode(this);
  expectReady(this, await pollUntilSettled(this));
});

When('a browser opens the CLI login entry with key {string}', async function (this: ConformanceWorld, key: string) {
  const gateway = await this.gateway();
  const url = new URL(CLI_SSO_PATHS.browserEntry, `${gateway.url}/`);
  url.searchParams.set('source', CLI_SOURCE);
  if (key !== '') url.searchParams.set('key', key);
  this.lastAnswer = await openInBrowser(this, url.toString());
});

When(
  /^a browser opens the CLI login entry with the session's login id (.+)$/,
  async function (this: ConformanceWorld, how: string) {
    assert.ok(this.flow, 'no login session was started');
    const gateway = await this.gateway();
    const url = browserLoginUrl(gateway.url, loginIdNearMiss(this.flow.loginId, how));
    this.lastAnswer = await openInBrowser(this, url);
  },
);

Then('the browser is not sent to the IdP', async function (this: ConformanceWorld) {
  const h = await this.harness();
  const page = await this.browserPage();
  assert.ok(!page.url().startsWith(h.idp.url), `the browser ended at the IdP: ${new URL(page.url()).pathname}`);
  assert.ok(!this.browserResponses.some((r) => r.url.startsWith(h.idp.url)), 'the browser visited the IdP');
});
