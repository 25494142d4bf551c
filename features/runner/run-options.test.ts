/** The command line is checked whole: every problem at once, named by its flag, before anything starts. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exitCodeSentence } from './exit-codes.ts';
import { readRunOptions, UsageError } from './run-options.ts';

const PROFILES = ['litellm-v3', 'litellm-v4'];

async function problemsOf(raw: Parameters<typeof readRunOptions>[0], shell: Record<string, string> = {}) {
  try {
    await readRunOptions(raw, shell, PROFILES);
  } catch (error) {
    if (error instanceof UsageError) return [...error.problems];
    throw error;
  }
  return [];
}

test('no flags: the embedded default, the reference CLI, the documented defaults', async () => {
  const options = await readRunOptions({}, {}, PROFILES);
  assert.equal(options.gateway.kind, 'embedded');
  assert.equal(options.profile, 'litellm-v4', 'the newest profile of the catalogue');
  assert.equal(options.cliCommand, undefined);
  assert.equal(options.stepTimeoutMs, 60_000);
  assert.equal(options.reports, 'reports');
  assert.equal(options.shard, undefined);
});

test('--profile names one of the catalogue profiles; the oldest is as good as the newest', async () => {
  assert.equal((await readRunOptions({ profile: 'litellm-v3' }, {}, PROFILES)).profile, 'litellm-v3');
  assert.deepEqual(await problemsOf({ profile: 'v4' }), [
    '--profile must be one of litellm-v3, litellm-v4 (the contract profiles of features/requirements.yaml), got "v4"',
  ]);
});

test('every mistake of a command line is reported together, each naming its flag', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'run-options-'));
  const config = join(dir, 'gateway.yaml');
  await writeFile(config, 'env:\n  GENERIC_AUTHORIZATION_ENDPOINT: http://idp.example.com/authorize\n');
  const problems = await problemsOf({
    gatewayCmd: 'node gw.js',
    gatewayUrl: 'http://127.0.0.1:4000',
    gatewayConfig: config,
    parallel: '0',
    maxGateways: 'many',
    stepTimeout: '-1',
    gatewayStartTimeout: 'soon',
    shard: '4/3',
    shardDurations: join(dir, 'missing'),
    expectedFailures: join(dir, 'missing.txt'),
    cliEnv: ['HOME=/tmp', '1BAD', 'UNSET_IN_SHELL'],
    gatewayEnv: ['REDIS_URL=redis://x'],
    profile: 'litellm-v5',
  });
  const expected = [
    /--gateway-cmd and --gateway-url cannot be used together/,
    /LITELLM_MASTER_KEY/,
    /GENERIC_AUTHORIZATION_ENDPOINT must be on this machine/,
    /--cli-env HOME: the harness sets HOME itself/,
    /--cli-env takes NAME=VALUE or NAME, got "1BAD"/,
    /--cli-env UNSET_IN_SHELL: UNSET_IN_SHELL is not set in this shell/,
    /--gateway-env REDIS_URL: the harness sets REDIS_URL itself/,
    /--expected-failures .*missing\.txt: ENOENT/,
    /--shard /,
    /--shard-durations /,
    /--gateway-start-timeout must be a positive number of seconds, got "soon"/,
    /--step-timeout must be a positive number of seconds, got "-1"/,
    /--parallel must be a whole number from 1, got "0"/,
    /--max-gateways must be a whole number from 1, got "many"/,
    /--profile must be one of litellm-v3, litellm-v4 \(the contract profiles of features\/requirements\.yaml\), got "litellm-v5"/,
  ];
  for (const pattern of expected)
    assert.ok(
      problems.some((p) => pattern.test(p)),
      `${pattern} in ${problems.join('\n')}`,
    );
  assert.equal(problems.length, expected.length, problems.join('\n'));
});

test('a running gateway: its declared environment says where the IdP listens', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'run-options-'));
  const config = join(dir, 'gateway.yaml');
  await writeFile(
    config,
    'env:\n  GENERIC_AUTHORIZATION_ENDPOINT: http://localhost:8765/authorize\n  LITELLM_MASTER_KEY: sk-x\n  PORT: 4000\n',
  );
  const options = await readRunOptions({ gatewayUrl: 'http://127.0.0.1:4000', gatewayConfig: config }, {}, PROFILES);
  assert.deepEqual(options.gateway, {
    kind: 'url',
    url: 'http://127.0.0.1:4000',
    declaredEnv: {
      GENERIC_AUTHORIZATION_ENDPOINT: 'http://localhost:8765/authorize',
      LITELLM_MASTER_KEY: 'sk-x',
      PORT: '4000',
    },
    idp: { host: '127.0.0.1', port: 8765 },
  });
  assert.deepEqual(await problemsOf({ gatewayUrl: 'http://127.0.0.1:4000' }), [
    '--gateway-url needs --gateway-config FILE declaring the environment that gateway runs with',
  ]);
});

test('NAME alone passes on the shell value; a value may hold "="', async () => {
  const options = await readRunOptions({ cliEnv: ['TOKEN_HINT', 'OPTS=a=b'] }, { TOKEN_HINT: 'x' }, PROFILES);
  assert.deepEqual(options.cliEnv, { TOKEN_HINT: 'x', OPTS: 'a=b' });
});

test('the README states the exit codes the code uses', async () => {
  const readme = await readFile(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
  assert.ok(readme.includes(exitCodeSentence()), `README.md should say:\n${exitCodeSentence()}`);
});
