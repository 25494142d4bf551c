/**
 * Steps shared by every feature: the gateway's configuration, and what the gateway answered.
 * Steps are one-liners over tasks and drivers (architecture.md, convention 8).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type DataTable, defineParameterType, Given, Then } from '@cucumber/cucumber';
import { errorMessageOf } from '../../protocol/errors.ts';
import type { HttpAnswer } from '../drivers/gateway-http.ts';
import { ConfigurationNotOffered } from '../support/skip-reason.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { expectApiError, expectRefusal } from '../tasks/gateway-answers.ts';

/** A JSON scalar written in Gherkin: "text", true, false or a number. */
defineParameterType({
  name: 'scalar',
  regexp: /"[^"]*"|true|false|-?\d+(?:\.\d+)?/,
  transformer: (text: string): string | number | boolean => JSON.parse(text) as string | number | boolean,
});

Given('the gateway is configured with:', function (this: ConformanceWorld, table: DataTable) {
  for (const [name, value] of table.raw()) {
    if (name) this.gatewayOverrides[name] = value ?? '';
  }
});

// A setting's default is judged with the setting left out of the gateway's environment altogether.
Given('the gateway is configured without {word}', function (this: ConformanceWorld, name: string) {
  this.gatewayUnset.add(name);
});

Given('the gateway maps claims with {string}', function (this: ConformanceWorld, claimMap: string) {
  this.gatewayOverrides.CLI_SSO_CLAIM_MAP = claimMap;
});

Given('the gateway captures the IdP claims {string}', function (this: ConformanceWorld, claims: string) {
  this.gatewayOverrides.GENERIC_USER_EXTRA_ATTRIBUTES = claims;
});

Given(
  'the gateway reads its claim map from LITELLM_CLI_SSO_CLAIM_MAP {string}',
  function (this: ConformanceWorld, claimMap: string) {
    this.gatewayUnset.add('CLI_SSO_CLAIM_MAP');
    this.gatewayOverrides.LITELLM_CLI_SSO_CLAIM_MAP = claimMap;
  },
);

Given('a gateway of its own for this scenario', async function (this: ConformanceWorld) {
  const h = await this.harness();
  if (h.gateways.target.kind === 'url') {
    throw new ConfigurationNotOffered('is a running gateway shared by every scenario: it cannot have one of its own');
  }
  // A harness-only variable makes a separate gateway (e.g. a fresh start rate limit).
  this.gatewayOverrides.SSO_CONFORMANCE_ISOLATED = randomBytes(6).toString('hex');
});

/**
 * The status must be exactly `status`. The message must not start with "expected": Cucumber's error
 * formatter cuts such a message down to its first colon and shows only a diff of the numbers.
 */
function expectStatus(answer: HttpAnswer, status: number): void {
  assert.equal(
    answer.status,
    status,
    `the gateway answered ${answer.status} where ${status} was expected: ${answer.text.slice(0, 300)}`,
  );
}

/**
 * A 4xx from a CLI SSO endpoint must be `{"detail": "<message>"}` (docs/contract.md section 2,
 * "Error bodies"); other statuses (a 503 from a store that is down) only need some message.
 */
Then('the gateway answers {int} with a message', function (this: ConformanceWorld, status: number) {
  const answer = this.lastAnswer;
  assert.ok(answer, 'no answer was recorded');
  if (status >= 400 && status < 500) {
    expectRefusal(answer, status, 'the gateway');
    return;
  }
  expectStatus(answer, status);
  const message = errorMessageOf(answer.json) ?? answer.text.trim();
  assert.ok(message.length > 0, `the ${status} answer has no message`);
});

/** An API route (/models, /v1/models) refused the call with LiteLLM's `{"error": {...}}` body. */
Then('the gateway answers {int} with an error body', function (this: ConformanceWorld, status: number) {
  const answer = this.lastAnswer;
  assert.ok(answer, 'no answer was recorded');
  expectStatus(answer, status);
  expectApiError(answer, 'the API route');
});
