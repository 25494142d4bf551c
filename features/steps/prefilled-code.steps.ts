import assert from 'node:assert/strict';
import { Given, Then, When } from '@cucumber/cucumber';
import { ConfigurationNotOffered } from '../support/skip-reason.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { signInThrough } from '../tasks/browser-login.ts';
import {
  completionPage,
  expectDefaultSetting,
  expectedCompleteUri,
  loginUrlWithCode,
  offeredCompleteUri,
  PREFILL_FIELD,
  PREFILL_SETTING,
  startAnswerJson,
} from '../tasks/prefilled-code.ts';

Given('the gateway is configured to offer verification_uri_complete', function (this: ConformanceWorld) {
  this.gatewaySettings.overrides[PREFILL_SETTING] = 'true';
});

Then('the start answer has no verification_uri_complete', async function (this: ConformanceWorld) {
  await expectDefaultSetting(this);
  const body = startAnswerJson(this);
  assert.ok(!(PREFILL_FIELD in body), `the start answer has ${PREFILL_FIELD}: ${JSON.stringify(body).slice(0, 300)}`);
});

Then(
  "the start answer's verification_uri_complete is the session's browser URL with its user_code",
  async function (this: ConformanceWorld) {
    const body = startAnswerJson(this);
    assert.equal(body[PREFILL_FIELD], await expectedCompleteUri(this), `the start answer's ${PREFILL_FIELD}`);
  },
);

// Where the field is offered at all (offering it is the SHOULD above): a gateway that offers none is
// skipped here, since this scenario judges only the link's base.
Then(
  "the offered verification_uri_complete is the session's browser URL under the public base URL",
  async function (this: ConformanceWorld) {
    assert.equal(offeredCompleteUri(this), await expectedCompleteUri(this), `the start answer's ${PREFILL_FIELD}`);
  },
);

When(
  "{string} signs in at the IdP through the session's verification_uri_complete",
  async function (this: ConformanceWorld, username: string) {
    await signInThrough(this, username, offeredCompleteUri(this));
  },
);

When(
  "{string} signs in at the IdP through the session's browser URL with user_code {string}",
  async function (this: ConformanceWorld, username: string, code: string) {
    await signInThrough(this, username, await loginUrlWithCode(this, code));
  },
);

Then("the code field holds the session's code", async function (this: ConformanceWorld) {
  assert.ok(this.flow, 'no login session was started');
  const value = await (await completionPage(this)).codeFieldValue();
  assert.equal(value, this.flow.userCode, 'the code field is not filled in with the code of the link');
});

Then('the code field is empty', async function (this: ConformanceWorld) {
  const value = await (await completionPage(this)).codeFieldValue();
  assert.equal(
    value,
    '',
    `the code field holds "${value.slice(0, 40)}": a code not of the XXXX-XXXX form was filled in`,
  );
});

When('the person submits the code page as it is', async function (this: ConformanceWorld) {
  const page = await completionPage(this);
  // Filling the code in at all is CLISSO-PREFILL-02, a SHOULD judged on its own: a gateway that
  // leaves the field empty has nothing here to judge.
  if ((await page.codeFieldValue()) === '') {
    throw new ConfigurationNotOffered(`leaves the code field empty on the page its ${PREFILL_FIELD} leads to`);
  }
  const status = await page.submitAsShown();
  assert.ok(status < 400, `the gateway answered the submitted code page with ${status}`);
});

Then('the browser shows the code page', async function (this: ConformanceWorld) {
  await completionPage(this);
});
