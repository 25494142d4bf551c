/**
 * The process entry (cli/main.ts) as a shell runs it: a reader that stops early closes the pipe.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cleanEnv, makeTempHome, startCli } from './test-support/cli-process.ts';

test('output into a pipe its reader already closed (`cli-sso --help | head -0`): exit 0, no EPIPE crash', async () => {
  const home = await makeTempHome();
  try {
    const run = startCli(['--help'], cleanEnv(home.home));
    // The reading end goes away before the CLI writes its help.
    run.child.stdout?.destroy();
    run.child.stdin?.end();
    const exit = await run.exited;
    assert.equal(run.stderr(), '');
    assert.deepEqual(exit, { code: 0, signal: null });
  } finally {
    await home.remove();
  }
});
