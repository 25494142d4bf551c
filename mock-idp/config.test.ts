import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../common/config.ts';
import { loadMockIdpConfig } from './index.ts';

test('defaults: 127.0.0.1:8765, LiteLLM client, built-in cast, no auto-login', async () => {
  const { options, logLevel } = await loadMockIdpConfig({}, {});
  assert.equal(options.host, '127.0.0.1');
  assert.equal(options.port, 8765);
  assert.equal(options.issuer, undefined);
  assert.equal(options.autoLogin, undefined);
  assert.equal(options.clients?.[0]?.clientId, 'litellm-cli-test');
  assert.equal(options.clients?.[0]?.clientSecret, 'litellm-cli-test-secret');
  assert.deepEqual(
    options.users?.map((u) => u.username),
    ['cli-test-user', 'alice', 'bob', 'mallory', 'carol'],
  );
  assert.equal(logLevel, 'info');
});

test("LiteLLM's MOCK_OIDC_* variables and our MOCK_IDP_* ones are read; flags win", async () => {
  const { options } = await loadMockIdpConfig(
    {
      MOCK_OIDC_PORT: '9999',
      MOCK_IDP_HOST: '0.0.0.0',
      MOCK_IDP_ISSUER: 'http://idp.test:9999',
      MOCK_OIDC_CLIENT_ID: 'other-client',
      MOCK_OIDC_CLIENT_SECRET: 'other-secret',
      MOCK_OIDC_SUB: 'ci-user',
      MOCK_OIDC_EMAIL: 'ci@example.org',
      MOCK_OIDC_EMPLOYMENT_TYPE: 'intern',
      MOCK_OIDC_DEPARTMENT: 'QA',
      MOCK_IDP_AUTO_LOGIN: 'ci-user',
    },
    { port: '0', host: '127.0.0.1' },
  );
  assert.equal(options.port, 0);
  assert.equal(options.host, '127.0.0.1');
  assert.equal(options.issuer, 'http://idp.test:9999');
  assert.equal(options.autoLogin, 'ci-user');
  assert.equal(options.clients?.[0]?.clientId, 'other-client');
  assert.equal(options.clients?.[0]?.clientSecret, 'other-secret');
  const user = options.users?.[0];
  assert.equal(user?.username, 'ci-user');
  assert.equal(user?.claims['email'], 'ci@example.org');
  assert.equal(user?.claims['employment_type'], 'intern');
  assert.deepEqual(user?.claims['org_info'], { department: 'QA' });
});

test('every problem is reported together, naming the variable or flag, the rule and the value', async () => {
  await assert.rejects(
    () =>
      loadMockIdpConfig(
        { MOCK_OIDC_PORT: 'eighty', MOCK_IDP_ISSUER: 'not a url', MOCK_IDP_ID_TOKEN_CLAIMS: 'yes' },
        { autoLogin: 'nobody', logLevel: 'loud' },
      ),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      const variables = error.problems.map((p) => p.variable).sort();
      assert.deepEqual(variables, [
        '--auto-login',
        '--log-level',
        'MOCK_IDP_ID_TOKEN_CLAIMS',
        'MOCK_IDP_ISSUER',
        'MOCK_OIDC_PORT',
      ]);
      assert.match(error.message, /MOCK_OIDC_PORT: must be a port number from 0 to 65535 \(got "eighty"\)/);
      return true;
    },
  );
});

test('an issuer with a path is refused: endpoints are served at the root', async () => {
  await assert.rejects(
    loadMockIdpConfig({}, { issuer: 'http://127.0.0.1:8765/oidc' }),
    /--issuer: must have no path, query or fragment \(got "http:\/\/127\.0\.0\.1:8765\/oidc"\)/,
  );
});

test('the client secret is never echoed in a configuration error', async () => {
  await assert.rejects(
    () => loadMockIdpConfig({ MOCK_OIDC_CLIENT_SECRET: 'super-secret-value', MOCK_OIDC_PORT: 'x' }, {}),
    (error: unknown) => error instanceof ConfigError && !error.message.includes('super-secret-value'),
  );
});

test('a control token shorter than 16 characters is a configuration error, reported with the others, never echoed', async () => {
  await assert.rejects(
    () => loadMockIdpConfig({ MOCK_IDP_CONTROL_TOKEN: 'hunter2', MOCK_OIDC_PORT: 'x' }, { logLevel: 'loud' }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.deepEqual(error.problems.map((p) => p.variable).sort(), [
        '--log-level',
        'MOCK_IDP_CONTROL_TOKEN',
        'MOCK_OIDC_PORT',
      ]);
      assert.match(error.message, /MOCK_IDP_CONTROL_TOKEN: must be at least 16 characters/);
      assert.ok(!error.message.includes('hunter2'), 'the token is not echoed');
      return true;
    },
  );
  const { options } = await loadMockIdpConfig({ MOCK_IDP_CONTROL_TOKEN: '0123456789abcdef' }, {});
  assert.equal(options.controlToken, '0123456789abcdef');
  assert.equal((await loadMockIdpConfig({}, {})).options.controlToken, undefined, 'no token by default');
});

test('main.ts exits with code 2 on a configuration error and names the problem on stderr', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./main.ts', import.meta.url)), '--port', 'nope'],
    {
      env: { ...process.env, MOCK_OIDC_PORT: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  assert.equal(code, 2);
  assert.match(stderr, /--port: must be a port number/);
});
