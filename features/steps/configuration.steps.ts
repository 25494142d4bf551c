import assert from 'node:assert/strict';
import { Then, When } from '@cucumber/cucumber';
import type { StartOutcome } from '../support/scenario-state.ts';
import { ConfigurationNotOffered } from '../support/skip-reason.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { startGatewayAsConfigured } from '../tasks/gateway-setup.ts';

function startOutcome(world: ConformanceWorld): StartOutcome {
  const outcome = world.state.startOutcome;
  assert.ok(outcome, 'the gateway was not started in this scenario');
  return outcome;
}

When('the gateway is started', async function (this: ConformanceWorld) {
  const h = await this.harness();
  if (h.gateways.target.kind === 'url')
    throw new ConfigurationNotOffered('is a running gateway: the harness cannot start it with invalid settings');
  const { outcome, gateway } = await startGatewayAsConfigured(this);
  this.state.startOutcome = outcome;
  if (gateway) this.cleanups.push(() => h.gateways.retire(gateway));
});

Then(
  'it refuses to start, naming {string} and {string}',
  function (this: ConformanceWorld, first: string, second: string) {
    const outcome = startOutcome(this);
    assert.equal(outcome.started, false, 'the gateway started with invalid settings');
    for (const name of [first, second])
      assert.ok(outcome.output.includes(name), `the start-up error does not name ${name}`);
  },
);

Then('it refuses to start, naming {string}', function (this: ConformanceWorld, name: string) {
  const outcome = startOutcome(this);
  assert.equal(outcome.started, false, `the gateway started with an invalid ${name}`);
  assert.ok(outcome.output.includes(name), `the start-up error does not name ${name}: ${outcome.output.slice(-300)}`);
});

Then('it starts', function (this: ConformanceWorld) {
  const outcome = startOutcome(this);
  assert.equal(outcome.started, true, `the gateway did not start: ${outcome.output.slice(-300)}`);
});
