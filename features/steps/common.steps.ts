/**
 * Steps shared by every feature: the gateway's configuration, and what the gateway answered.
 * Steps are one-liners over tasks and drivers (architecture.md, convention 8).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type DataTable, defineParameterType, Given, Then } from '@cucumber/cucumber';
import { errorMessageOf } from '../../protocol/errors.ts';
import { ConfigurationNotOffered } from '../drivers/gateway.ts';
import type { ConformanceWorld } from '../support/world.ts';

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

Then('the gateway answers {int} with a message', function (this: ConformanceWorld, status: number) {
  const answer = this.lastAnswer;
  assert.ok(answer, 'no answer was recorded');
  assert.equal(answer.status, status, `expected ${status}, got ${answer.status}: ${answer.text.slice(0, 300)}`);
  const message = errorMessageOf(answer.json) ?? answer.text.trim();
  assert.ok(message.length > 0, `the ${status} answer has no message`);
});

Then('the gateway answers {int} with an error body', function (this: ConformanceWorld, status: number) {
  const answer = this.lastAnswer;
  assert.ok(answer, 'no answer was recorded');
  assert.equal(answer.status, status, `expected ${status}, got ${answer.status}: ${answer.text.slice(0, 300)}`);
  assert.ok(
    errorMessageOf(answer.json) !== undefined,
    `the ${status} answer has no error body: ${answer.text.slice(0, 300)}`,
  );
});
