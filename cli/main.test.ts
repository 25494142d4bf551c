/**
 * The process entry (cli/main.ts) as a shell runs it: a reader that stops early closes the pipe.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { CLI_MAIN, cleanEnv, makeTempHome, REPO_ROOT } from './test-support/cli-process.ts';

test('output into a pipe its reader already closed (`cli-sso --help | head -0`): exit 0, no EPIPE crash', async () => {
  const home = await makeTempHome();
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, '--help'], {
      cwd: REPO_ROOT,
      env: cleanEnv(home.home),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reading end goes away before the CLI writes its help.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      child.once('close', (c, s) => resolve([c, s]));
    });
    assert.equal(stderr, '');
    assert.deepEqual([code, signal], [0, null]);
  } finally {
    await home.remove();
  }
});
