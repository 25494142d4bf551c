/** The process edge (main.ts): --help lists every variable, configuration errors exit 2, signals stop it. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { flagName } from '../common/settings.ts';
import { PROXY_SETTINGS } from './index.ts';
import { TEST_MASTER_KEY } from './test-support/proxy-env.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const IDP_ENV = {
  GENERIC_CLIENT_ID: 'c',
  GENERIC_AUTHORIZATION_ENDPOINT: 'http://127.0.0.1:9/authorize',
  GENERIC_TOKEN_ENDPOINT: 'http://127.0.0.1:9/token',
  GENERIC_USERINFO_ENDPOINT: 'http://127.0.0.1:9/userinfo',
};

function run(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

test('--help lists every variable with its default', () => {
  const result = run(['--help'], {});
  assert.equal(result.status, 0);
  for (const setting of Object.values(PROXY_SETTINGS)) {
    assert.ok(result.stdout.includes(setting.variable), setting.variable);
    const shown = setting.shownDefault.replaceAll('`', '').replaceAll('**', '');
    assert.ok(result.stdout.includes(`default: ${shown}`), `${setting.variable} default`);
    if (setting.flag) assert.ok(result.stdout.includes(flagName(setting.flag)), setting.flag);
  }
});

test('configuration errors: exit code 2, all problems on stderr, no secret values', () => {
  const result = run([], {
    ...IDP_ENV,
    GENERIC_CLIENT_SECRET: 'very-secret-client-value',
    EXPERIMENTAL_UI_LOGIN: 'yes',
    LITELLM_CLI_JWT_EXPIRATION_HOURS: 'abc',
  });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /invalid configuration \(3 problems\)/);
  assert.match(result.stderr, /LITELLM_MASTER_KEY: is required/);
  assert.match(result.stderr, /EXPERIMENTAL_UI_LOGIN: must be true or false/);
  assert.match(result.stderr, /LITELLM_CLI_JWT_EXPIRATION_HOURS: must be a whole number/);
  assert.ok(!result.stderr.includes('very-secret-client-value'));
});

test('a weak signing secret stops the start with exit code 2, with the other problems, by length only', () => {
  const result = run([], { ...IDP_ENV, LITELLM_MASTER_KEY: TEST_MASTER_KEY, LITELLM_SALT_KEY: 'k', LOG_LEVEL: 'loud' });
  assert.equal(result.status, 2);
  assert.match(result.stderr, /invalid configuration \(2 problems\)/);
  assert.match(result.stderr, /LITELLM_SALT_KEY: must be a random secret of at least 32 bytes/);
  assert.match(result.stderr, /LOG_LEVEL: must be one of/);
});

test('prints the listening line, answers liveliness, logs the request, stops on SIGTERM with exit 0', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--port', '0'], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      ...IDP_ENV,
      LITELLM_MASTER_KEY: TEST_MASTER_KEY,
      REFERENCE_PROXY_SQLITE_PATH: ':memory:',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (chunk: string) => {
        stdout += chunk;
        const match = /"event":"listening","url":"([^"]+)"/.exec(stdout);
        if (match?.[1]) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code} before listening`)));
    });
    const live = await fetch(`${url}/health/liveliness`);
    assert.equal(live.status, 200);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    // Log lines are written once per turn of the event loop (log-sink.ts): none is lost at the stop,
    // and they come in order, the request's before the stop's.
    const lines = stderr.trimEnd().split('\n');
    const request = lines.findIndex((l) =>
      /"event":"request","method":"GET","path":"\/health\/liveliness","status":200/.test(l),
    );
    const stopping = lines.findIndex((l) => l.includes('"event":"stopping"'));
    assert.ok(request >= 0 && stopping > request, stderr);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});
