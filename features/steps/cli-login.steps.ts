import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type DataTable, Then, When } from '@cucumber/cucumber';
import type { ConformanceWorld } from '../support/world.ts';
import { loginThroughBrowser } from '../tasks/cli-login.ts';
import { loginAnswer } from '../tasks/login-answer.ts';

When('{string} logs in with the CLI through the browser', async function (this: ConformanceWorld, username: string) {
  await loginThroughBrowser(this, username);
});

Then('the CLI reports a successful login', function (this: ConformanceWorld) {
  const exitCode = this.memory.get('cliExitCode');
  assert.equal(exitCode, 0, `the CLI exited with ${String(exitCode)}; its output:\n${this.cliSession?.transcript()}`);
});

Then('the token file is readable only by its owner', async function (this: ConformanceWorld) {
  const file = join(this.home, '.litellm', 'token.json');
  const info = await stat(file);
  assert.equal((info.mode & 0o777).toString(8), '600', `${file} has mode ${(info.mode & 0o777).toString(8)}`);
  const content: unknown = JSON.parse(await readFile(file, 'utf8'));
  assert.ok(typeof content === 'object' && content !== null, 'the token file holds a JSON object');
  for (const field of ['base_url', 'key', 'user_id', 'timestamp']) {
    assert.ok(field in content, `the token file has no "${field}" field`);
  }
});

Then('the login answer carried the attribution metadata:', function (this: ConformanceWorld, table: DataTable) {
  const expected = Object.fromEntries(table.raw().map(([key, value]) => [key, value]));
  assert.deepEqual(loginAnswer(this).attributionMetadata, expected);
});

Then('the CLI lists the models {string}', async function (this: ConformanceWorld, names: string) {
  const cli = await this.cli();
  const result = await cli.run(['models', 'list']);
  assert.equal(result.exitCode, 0, `models list exited with ${result.exitCode}:\n${result.stderr}`);
  for (const name of names.split(',').map((n) => n.trim())) {
    assert.ok(result.stdout.includes(name), `"${name}" is not in the output of models list:\n${result.stdout}`);
  }
});
