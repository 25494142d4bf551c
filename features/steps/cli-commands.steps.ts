/**
 * Steps of the CLI chapter: what a developer does once logged in (whoami, models, logout).
 */
import assert from 'node:assert/strict';
import { Given, Then, When } from '@cucumber/cucumber';
import type { ConformanceWorld } from '../support/world.ts';
import { bearerOf, cliFilesHolding, underHome } from '../tasks/cli-outcomes.ts';

function loginKey(world: ConformanceWorld): string {
  const key = world.cliProvenKeys[0];
  assert.ok(key, 'no CLI login was proven in this scenario');
  return key;
}

When('the developer runs {string}', async function (this: ConformanceWorld, command: string) {
  const cli = await this.cli();
  this.cliResult = await cli.run(command.split(' '));
});

Then('the CLI succeeds', async function (this: ConformanceWorld) {
  const result = this.cliResult;
  assert.ok(result, 'the CLI has not been run');
  assert.equal(result.exitCode, 0, `exit ${result.exitCode}\n${(await this.cli()).lastWords()}`);
});

Then('the CLI succeeds and its output names {string}', async function (this: ConformanceWorld, text: string) {
  const result = this.cliResult;
  assert.ok(result, 'the CLI has not been run');
  const words = (await this.cli()).lastWords();
  assert.equal(result.exitCode, 0, `exit ${result.exitCode}\n${words}`);
  assert.ok(`${result.stdout}${result.stderr}`.includes(text), `the output does not name ${text}\n${words}`);
});

When('the clocks move {int} hours ahead', async function (this: ConformanceWorld, hours: number) {
  await this.moveGatewayClock(hours * 3600);
});

Then("the CLI's output says the key has expired", async function (this: ConformanceWorld) {
  const result = this.cliResult;
  assert.ok(result, 'the CLI has not been run');
  assert.match(
    `${result.stdout}\n${result.stderr}`,
    /expired/i,
    `whoami does not say the key expired\n${(await this.cli()).lastWords()}`,
  );
});

Given('the gateway cannot be reached', async function (this: ConformanceWorld) {
  await this.cli();
  await this.tap.close();
});

Then('the CLI did not send the key of the login', function (this: ConformanceWorld) {
  const key = loginKey(this);
  const sent = (this.cliModelsRequests ?? []).filter((r) => bearerOf(r) === key);
  assert.equal(sent.length, 0, 'after logout the CLI still sent the key');
});

Then("no file under the CLI's HOME holds the key of the login", async function (this: ConformanceWorld) {
  const files = await cliFilesHolding(this, loginKey(this));
  assert.deepEqual(
    files.map((f) => underHome(this, f.path)),
    [],
    'files under HOME still holding the key after logout',
  );
});
