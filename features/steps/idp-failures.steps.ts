import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Given, Then, When } from '@cucumber/cucumber';
import { freePort } from '../../common/http-server.ts';
import type { FaultInput } from '../../mock-idp/index.ts';
import { browserLoginUrl, CLI_SSO_PATHS, CLI_STATE_PREFIX } from '../../protocol/cli-sso.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { startedSession, walkToCallback } from '../tasks/browser-login.ts';
import { codePageShown } from '../tasks/code-confirmation.ts';
import { userRowAnswer } from '../tasks/gateway-users.ts';
import { denyAtIdp, signInWithPassword } from '../tasks/idp-sign-in.ts';
import { loginIdNearMiss } from '../tasks/near-misses.ts';

const CALLBACK_TIMEOUT_MS = 15_000;

/** Faults are set on the harness's mock IdP (mock-idp/faults.ts) and cleared when the scenario ends. */
const IDP_FAULTS: Record<string, Record<string, unknown>> = {
  'answers with an invalid_grant error': { kind: 'oauth_error', error: 'invalid_grant' },
  'answers with an invalid_token error': { kind: 'oauth_error', error: 'invalid_token', status: 401 },
  'answers 500': { kind: 'status', status: 500 },
  'answers 200 with a body that is not JSON': { kind: 'malformed_body' },
  'drops the connection': { kind: 'drop_connection' },
};

Given("the IdP's token endpoint cannot be reached", async function (this: ConformanceWorld) {
  // Nothing listens on a port the harness just freed: connections are refused, as with an IdP down.
  this.gatewayOverrides.GENERIC_TOKEN_ENDPOINT = `http://127.0.0.1:${await freePort()}/token`;
});

Given(
  /^the IdP's (token|userinfo) endpoint (answers .+|drops the connection)$/,
  async function (this: ConformanceWorld, endpoint: string, failure: string) {
    const spec = IDP_FAULTS[failure];
    assert.ok(spec, `no such IdP failure: ${failure}`);
    const h = await this.harness();
    // inject() checks the spec at run time; the table above is untyped.
    h.idp.faults.inject({ ...spec, endpoint, times: 'always' } as FaultInput);
    this.cleanups.push(async () => h.idp.faults.clear());
  },
);

When('the person denies the login at the IdP', async function (this: ConformanceWorld) {
  await denyAtIdp(this);
});

When(
  '{string} signs in at the IdP for that session with her password',
  async function (this: ConformanceWorld, username: string) {
    await signInWithPassword(this, username);
  },
);

When(
  "the browser comes back to the gateway's callback with the session's state but no code",
  async function (this: ConformanceWorld) {
    assert.ok(this.flow, 'no login session was started');
    const callback = new URL(`${(await this.gateway()).url}${CLI_SSO_PATHS.callback}`);
    callback.searchParams.set('state', `${CLI_STATE_PREFIX}${this.flow.loginId}`);
    await (await this.browserPage()).goto(callback.href);
  },
);

When(
  /^"([^"]+)" comes back from the IdP with the state of (a login id the gateway never made|the session's login id .+)$/,
  async function (this: ConformanceWorld, username: string, which: string) {
    // A genuine authorization request, as the gateway's browser entry makes it for a real session,
    // with its state then pointed at a login id that does not exist: a random one, or the session's
    // own one step off (docs/mutation.md, "Boundaries").
    const flow = await startedSession(this);
    const stateLoginId = which.startsWith("the session's login id ")
      ? loginIdNearMiss(flow.loginId, which.slice("the session's login id ".length))
      : `cli-${randomBytes(18).toString('base64url')}`;
    const gateway = await this.gateway();
    const entry = new URL(browserLoginUrl(gateway.url, flow.loginId));
    const redirect = await (await this.http()).send('GET', `${entry.pathname}${entry.search}`);
    const location = redirect.headers.location;
    assert.ok(location, `the browser entry answered ${redirect.status} without a redirect to the IdP`);
    const authorize = new URL(location, gateway.url);
    authorize.searchParams.set('state', `${CLI_STATE_PREFIX}${stateLoginId}`);
    const h = await this.harness();
    h.idp.setAutoLogin(username);
    try {
      await (await this.browserPage()).goto(authorize.href);
    } finally {
      h.idp.setAutoLogin(undefined);
    }
  },
);

When(
  "{string} signs in at the IdP for a new CLI session and the IdP's answer also says {string}",
  async function (this: ConformanceWorld, username: string, error: string) {
    // The browser's cookies walk the IdP's redirects one by one (a browser would follow them, and a
    // redirect cannot be held back inside a navigation); the last one, to the gateway's callback with a
    // good code, is then delivered with an `error` beside the code. RFC 6749 section 4.1.2.1 makes that
    // answer a refusal.
    const flow = await startedSession(this);
    const gateway = await this.gateway();
    const page = await this.browserPage();
    const answer = await walkToCallback(this, browserLoginUrl(gateway.url, flow.loginId), username);
    answer.searchParams.set('error', error);
    await page.goto(answer.href);
  },
);

/** Wait until the browser has had the gateway's answer to the IdP's callback. */
async function callbackAnswer(world: ConformanceWorld): Promise<{ status: number }> {
  const gateway = await world.gateway();
  const callback = `${gateway.url}${CLI_SSO_PATHS.callback}`;
  const deadline = Date.now() + CALLBACK_TIMEOUT_MS;
  const page = await world.browserPage();
  for (;;) {
    const answer = world.browserResponses.find((r) => r.url.startsWith(callback));
    if (answer) {
      await page.waitForLoadState();
      return answer;
    }
    assert.ok(Date.now() < deadline, 'the IdP never sent the browser back to the gateway');
    await page.waitForEvent('response', { timeout: Math.max(1, deadline - Date.now()) }).catch(() => undefined);
  }
}

Then('the browser is not shown the {string} page', async function (this: ConformanceWorld, _title: string) {
  const answer = await callbackAnswer(this);
  // docs/contract.md section 2.3: an IdP failure gives an error page or a 4xx, never the
  // completion form.
  assert.equal(await codePageShown(this), false, `the gateway showed the completion page (${answer.status})`);
});

Then('the gateway answers 4xx to that callback', async function (this: ConformanceWorld) {
  const answer = await callbackAnswer(this);
  // A request the gateway cannot act on is the client's mistake: a 4xx, never a 5xx or the form.
  assert.ok(
    answer.status >= 400 && answer.status < 500,
    `the gateway answered the callback with ${answer.status}, expected a 4xx`,
  );
});

Then("the gateway answered the IdP's callback with {int}", async function (this: ConformanceWorld, status: number) {
  const answer = await callbackAnswer(this);
  assert.equal(
    answer.status,
    status,
    `the gateway answered the IdP's callback with ${answer.status}, expected ${status}`,
  );
});

Then(
  "the gateway answered the IdP's callback with {int} or {int}",
  async function (this: ConformanceWorld, status: number, other: number) {
    const answer = await callbackAnswer(this);
    assert.ok(
      answer.status === status || answer.status === other,
      `the gateway answered the IdP's callback with ${answer.status}, expected ${status} or ${other}`,
    );
  },
);

Then('the gateway keeps no user {string}', async function (this: ConformanceWorld, userId: string) {
  const answer = await userRowAnswer(this, userId);
  const body = answer.json;
  const row = typeof body === 'object' && body !== null && 'user_info' in body ? body.user_info : undefined;
  // LiteLLM answers an unknown user_id with 404, or with 200 and no row: either says "no such user".
  assert.ok(
    answer.status === 404 || (answer.status === 200 && (row === null || row === undefined)),
    `GET /user/info?user_id=${userId} answered ${answer.status}: ${answer.text.slice(0, 300)}`,
  );
});
