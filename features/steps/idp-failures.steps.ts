import assert from 'node:assert/strict';
import { Given, Then, When } from '@cucumber/cucumber';
import { freePort } from '../../common/http-server.ts';
import { CLI_SSO_PATHS } from '../../protocol/cli-sso.ts';
import { CliCompletionPage } from '../pages/cli-completion-page.ts';
import { IdpLoginPage } from '../pages/idp-login-page.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { sessionLoginUrl } from '../tasks/browser-login.ts';

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
    h.idp.faults.inject({ ...spec, endpoint, times: 'always' });
    this.cleanups.push(async () => h.idp.faults.clear());
  },
);

When('the person denies the login at the IdP', async function (this: ConformanceWorld) {
  const page = await this.browserPage();
  await page.goto(sessionLoginUrl(this, (await this.gateway()).url));
  await new IdpLoginPage(page).deny();
});

When(
  '{string} signs in at the IdP for that session with her password',
  async function (this: ConformanceWorld, username: string) {
    const h = await this.harness();
    const password = h.idp.users.get(username)?.password;
    assert.ok(password, `the IdP's user ${username} has no password`);
    const page = await this.browserPage();
    await page.goto(sessionLoginUrl(this, (await this.gateway()).url));
    await new IdpLoginPage(page).signInWithPassword(username, password);
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
  assert.equal(
    await new CliCompletionPage(await this.browserPage()).isShown(),
    false,
    `the gateway showed the completion page (${answer.status})`,
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
