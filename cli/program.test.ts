/**
 * The command line itself: help with the exit-code table, usage errors, configuration problems
 * reported together, --token-file and its variable. In-process through runCli().
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { EXIT_CODE_TABLE, EXIT_CODES } from './index.ts';
import { cleanEnv, makeTempHome } from './test-support/cli-process.ts';
import { runCliInProcess } from './test-support/in-process.ts';

test('--help lists every exit code of the table, on stdout, exit 0', async () => {
  const result = await runCliInProcess(['--help'], {});
  assert.equal(result.code, 0);
  for (const row of EXIT_CODE_TABLE)
    assert.match(result.stdout, new RegExp(`^ +${row.code}  ${escapeRegExp(row.meaning)}$`, 'm'));
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('usage errors exit 2: unknown option, unknown command, bad --timeout, bad --format, no command', async () => {
  for (const args of [
    ['whoami', '--bogus'],
    ['dance'],
    ['login', '--timeout', 'soon'],
    ['models', 'list', '--format', 'yaml'],
    [],
  ]) {
    const result = await runCliInProcess(args, { HOME: '/nonexistent' });
    assert.equal(result.code, EXIT_CODES.usage, `${args.join(' ')}: ${result.stderr}`);
    assert.notEqual(result.stderr, '');
  }
});

test('configuration problems are reported together, and the API key is never echoed', async () => {
  const result = await runCliInProcess(['models', 'list'], {
    LITELLM_PROXY_URL: 'gateway.example',
    LITELLM_PROXY_API_KEY: 'sk-very-secret-0123456789',
    CLI_SSO_POLL_INTERVAL_MS: 'fast',
  });
  assert.equal(result.code, EXIT_CODES.usage);
  assert.match(result.stderr, /invalid configuration \(3 problems\)/);
  assert.match(result.stderr, /LITELLM_PROXY_URL: must be an absolute http\(s\) URL \(got "gateway\.example"\)/);
  assert.match(result.stderr, /CLI_SSO_POLL_INTERVAL_MS: must be a whole number/);
  assert.match(result.stderr, /HOME: is required/);
  assert.doesNotMatch(result.stderr, /sk-very-secret/);
});

test('--token-file and LITELLM_PROXY_TOKEN_FILE put the login elsewhere (flag wins)', async () => {
  const home = await makeTempHome();
  try {
    const fromFlag = join(home.home, 'flag.json');
    const fromEnv = join(home.home, 'env.json');
    await mkdir(home.home, { recursive: true });
    const login = (user: string) =>
      JSON.stringify({ base_url: 'http://gw.example', key: 'sk-k-0123456789', user_id: user, timestamp: 1 });
    await writeFile(fromFlag, login('flag-user'));
    await writeFile(fromEnv, login('env-user'));
    const env = cleanEnv(home.home, { LITELLM_PROXY_TOKEN_FILE: fromEnv });
    const byEnv = await runCliInProcess(['whoami'], env);
    assert.match(byEnv.stdout, /^User: +env-user$/m);
    const byFlag = await runCliInProcess(['whoami', '--token-file', fromFlag], env);
    assert.match(byFlag.stdout, /^User: +flag-user$/m);
    assert.match(byFlag.stdout, new RegExp(`^Token file: +${escapeRegExp(fromFlag)}$`, 'm'));
  } finally {
    await home.remove();
  }
});
