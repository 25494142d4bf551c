import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Given, Then, When } from '@cucumber/cucumber';
import { CLI_SSO_PATHS } from '../../protocol/cli-sso.ts';
import type { CliResult } from '../drivers/cli.ts';
import type { ConformanceWorld } from '../support/world.ts';
import { loginThroughBrowser } from '../tasks/cli-login.ts';

function tokenFile(world: ConformanceWorld): string {
  return join(world.home, '.litellm', 'token.json');
}

function lastRun(world: ConformanceWorld): CliResult {
  const result = world.memory.get('cliResult') as CliResult | undefined;
  assert.ok(result, 'the CLI has not been run');
  return result;
}

Given(
  '{string} has logged in with the CLI through the browser',
  async function (this: ConformanceWorld, username: string) {
    const exitCode = await loginThroughBrowser(this, username);
    assert.equal(exitCode, 0, `the CLI login exited with ${exitCode}:\n${this.cliSession?.transcript()}`);
  },
);

When('the developer runs {string}', async function (this: ConformanceWorld, command: string) {
  const cli = await this.cli();
  this.memory.set('cliResult', await cli.run(command.split(' ')));
});

Then('the CLI succeeds', function (this: ConformanceWorld) {
  const result = lastRun(this);
  assert.equal(result.exitCode, 0, `exit ${result.exitCode}:\n${result.stdout}\n${result.stderr}`);
});

Then('the CLI succeeds and its output names {string}', function (this: ConformanceWorld, text: string) {
  const result = lastRun(this);
  assert.equal(result.exitCode, 0, `exit ${result.exitCode}:\n${result.stdout}\n${result.stderr}`);
  assert.ok(`${result.stdout}${result.stderr}`.includes(text), `the output does not name ${text}`);
});

When('the clocks move {int} hours ahead', async function (this: ConformanceWorld, hours: number) {
  const clock = await this.gatewayClock();
  await clock.setOffsetSeconds(hours * 3600);
});

Then("the CLI's output says the key has expired", function (this: ConformanceWorld) {
  const result = lastRun(this);
  assert.match(
    `${result.stdout}\n${result.stderr}`,
    /expired/i,
    `whoami does not say the key expired:\n${result.stdout}${result.stderr}`,
  );
});

Then('the token file is gone', async function (this: ConformanceWorld) {
  await assert.rejects(access(tokenFile(this)), `${tokenFile(this)} still exists`);
});

Then('no request the CLI made had the poll secret or the key in its URL', async function (this: ConformanceWorld) {
  const stored: unknown = JSON.parse(await readFile(tokenFile(this), 'utf8'));
  const key = typeof stored === 'object' && stored !== null && 'key' in stored ? String(stored.key) : '';
  const starts = this.tap.jsonAnswers('POST', CLI_SSO_PATHS.start);
  const secrets = starts.flatMap((s) =>
    typeof s.body === 'object' && s.body !== null && 'poll_secret' in s.body ? [String(s.body.poll_secret)] : [],
  );
  assert.ok(key && secrets.length > 0, 'the wire tap saw no login');
  for (const exchange of this.tap.exchanges) {
    for (const secret of [key, ...secrets]) {
      const inUrl = exchange.path.includes(secret) || decodeURIComponent(exchange.path).includes(secret);
      assert.ok(!inUrl, `${exchange.method} ${exchange.path.split('?')[0]} carried a secret in its URL`);
    }
  }
});
