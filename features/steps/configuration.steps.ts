import assert from 'node:assert/strict';
import { Then, When } from '@cucumber/cucumber';
import { ConfigurationNotOffered, GatewayUnavailable } from '../drivers/gateway.ts';
import type { ConformanceWorld } from '../support/world.ts';

When('the gateway is started', async function (this: ConformanceWorld) {
  const h = await this.harness();
  if (h.gateways.target.kind === 'url')
    throw new ConfigurationNotOffered('is a running gateway: the harness cannot start it with invalid settings');
  try {
    const gateway = await this.gateway();
    this.memory.set('startOutcome', { started: true, output: gateway.log() });
    this.cleanups.push(() => h.gateways.retire(gateway));
  } catch (error) {
    if (!(error instanceof GatewayUnavailable)) throw error;
    this.memory.set('startOutcome', { started: false, output: error.reason });
  }
});

Then(
  'it refuses to start, naming {string} and {string}',
  function (this: ConformanceWorld, first: string, second: string) {
    const outcome = this.memory.get('startOutcome') as { started: boolean; output: string };
    assert.equal(outcome.started, false, 'the gateway started with invalid settings');
    for (const name of [first, second])
      assert.ok(outcome.output.includes(name), `the start-up error does not name ${name}`);
  },
);

Then('it refuses to start, naming {string}', function (this: ConformanceWorld, name: string) {
  const outcome = this.memory.get('startOutcome') as { started: boolean; output: string };
  assert.equal(outcome.started, false, `the gateway started with an invalid ${name}`);
  assert.ok(outcome.output.includes(name), `the start-up error does not name ${name}: ${outcome.output.slice(-300)}`);
});

Then('it starts', function (this: ConformanceWorld) {
  const outcome = this.memory.get('startOutcome') as { started: boolean; output: string };
  assert.equal(outcome.started, true, `the gateway did not start: ${outcome.output.slice(-300)}`);
});
