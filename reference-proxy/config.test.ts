/** Unit tests: strict configuration (docs/contract.md section 3, reference choice). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, loadProxyConfig } from './config.ts';

const IDP = {
  GENERIC_CLIENT_ID: 'client',
  GENERIC_CLIENT_SECRET: 'client-secret-value',
  GENERIC_AUTHORIZATION_ENDPOINT: 'http://idp.test/authorize',
  GENERIC_TOKEN_ENDPOINT: 'http://idp.test/token',
  GENERIC_USERINFO_ENDPOINT: 'http://idp.test/userinfo',
};
const MASTER_KEY = 'sk-master-secret-0123456789abcdefghij';
const SALT_KEY = 'salt-0123456789abcdefghijklmnopqrstuv';
const MINIMAL = { LITELLM_MASTER_KEY: MASTER_KEY, ...IDP };
const dir = mkdtempSync(join(tmpdir(), 'reference-proxy-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(env: Record<string, string>, flags = {}): string[] {
  try {
    loadProxyConfig(env, flags, dir);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.variable}: ${p.rule} (got ${p.value})`);
    throw error;
  }
  return [];
}

test('defaults of a minimal configuration', () => {
  const config = loadProxyConfig(MINIMAL, {}, dir);
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.port, 4000);
  assert.equal(config.experimentalUiLogin, false);
  assert.equal(config.cliKeyLifetimeSeconds, 24 * 3600);
  assert.equal(config.uiSessionSeconds, 24 * 3600);
  assert.equal(config.keyLeewaySeconds, 0);
  assert.equal(config.idp.scope, 'openid email profile');
  assert.equal(config.idp.usePkce, false);
  assert.equal(config.idp.includeClientIdInBody, false);
  assert.deepEqual(config.identity, {
    userId: 'preferred_username',
    email: 'email',
    displayName: 'sub',
    firstName: undefined,
    lastName: undefined,
    role: 'role',
    teams: 'teams',
    extra: [],
  });
  assert.equal(config.signingSecret, MASTER_KEY);
  assert.equal(config.sqlitePath, join(dir, 'reference-proxy-users.sqlite'));
  assert.deepEqual(config.modelsFile, { models: [], teams: [] });
  assert.equal(config.profile, 'litellm-v4');
  assert.deepEqual(config.claimRules, { blockToken: false, numericStringsAsNumbers: false });
});

test('CLI_SSO_CONTRACT_PROFILE picks the rules a profile follows where LiteLLM generations differ', () => {
  const v3 = loadProxyConfig({ ...MINIMAL, CLI_SSO_CONTRACT_PROFILE: 'litellm-v3' }, {}, dir);
  assert.equal(v3.profile, 'litellm-v3');
  assert.deepEqual(v3.claimRules, { blockToken: true, numericStringsAsNumbers: true });
  const v4 = loadProxyConfig({ ...MINIMAL, CLI_SSO_CONTRACT_PROFILE: 'litellm-v4' }, {}, dir);
  assert.equal(v4.profile, 'litellm-v4');
  // The claim map's start-up warnings follow the profile: `token` is dropped under litellm-v3 only.
  const map = { CLI_SSO_CLAIM_MAP: 'a->token', GENERIC_USER_EXTRA_ATTRIBUTES: 'a' };
  assert.deepEqual(loadProxyConfig({ ...MINIMAL, ...map }, {}, dir).claimMapWarnings, []);
  assert.deepEqual(
    loadProxyConfig({ ...MINIMAL, ...map, CLI_SSO_CONTRACT_PROFILE: 'litellm-v3' }, {}, dir).claimMapWarnings,
    ['destination "token" is dropped: contains the secret-looking word "token"'],
  );
});

test('booleans in any case, aliases, the salt key, flags over variables, 10-minute UI session', () => {
  const config = loadProxyConfig(
    {
      ...MINIMAL,
      EXPERIMENTAL_UI_LOGIN: 'TRUE',
      CLI_JWT_EXPIRATION_HOURS: '168',
      LITELLM_CLI_SSO_CLAIM_MAP: 'a->b',
      LITELLM_SALT_KEY: SALT_KEY,
      LITELLM_UI_SESSION_DURATION: '7d',
      PORT: '5000',
      PROXY_BASE_URL: 'https://gateway.example/',
      REFERENCE_PROXY_SQLITE_PATH: ':memory:',
    },
    { port: '0', host: '0.0.0.0' },
    dir,
  );
  assert.equal(config.experimentalUiLogin, true);
  assert.equal(config.cliKeyLifetimeSeconds, 168 * 3600);
  assert.deepEqual(config.claimMap, [{ source: 'a', destination: 'b' }]);
  assert.equal(config.signingSecret, SALT_KEY);
  assert.equal(config.uiSessionSeconds, 600);
  assert.equal(config.port, 0);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.publicBaseUrl, 'https://gateway.example');
  assert.equal(config.sqlitePath, ':memory:');
});

test('every problem is reported together, naming the variable, the rule and the value, secrets by length', () => {
  const problems = problemsOf({
    GENERIC_CLIENT_SECRET: 'top-secret-value',
    GENERIC_AUTHORIZATION_ENDPOINT: 'not a url',
    GENERIC_TOKEN_ENDPOINT: 'ftp://idp/token',
    EXPERIMENTAL_UI_LOGIN: '1',
    LITELLM_CLI_JWT_EXPIRATION_HOURS: 'abc',
    LITELLM_UI_SESSION_DURATION: 'forever',
    GENERIC_CLIENT_USE_PKCE: 'yes',
    PORT: '70000',
    REDIS_URL: 'http://user:redis-password@host',
    DATABASE_URL: 'mysql://user:db-password@host/db',
    ALLOWED_EMAIL_DOMAINS: 'example.com, bad domain',
    LOG_LEVEL: 'loud',
    LITELLM_CLI_JWT_LEEWAY_SECONDS: '-3',
    CLI_SSO_CONTRACT_PROFILE: 'litellm-v5',
  });
  const text = problems.join('\n');
  for (const variable of [
    'LITELLM_MASTER_KEY: is required',
    'GENERIC_CLIENT_ID: is required',
    'GENERIC_USERINFO_ENDPOINT: is required',
    'GENERIC_AUTHORIZATION_ENDPOINT: must be an absolute http(s) URL (got "not a url")',
    'GENERIC_TOKEN_ENDPOINT: must be an absolute http(s) URL (got "ftp://idp/token")',
    'EXPERIMENTAL_UI_LOGIN: must be true or false (any case) (got "1")',
    'LITELLM_CLI_JWT_EXPIRATION_HOURS: must be a whole number from 1 to 87600 (got "abc")',
    'LITELLM_UI_SESSION_DURATION: must be a duration',
    'GENERIC_CLIENT_USE_PKCE: must be true or false',
    'PORT: must be a port number',
    'REDIS_URL: must start with redis:// or rediss:// (got <secret, ',
    'DATABASE_URL: must start with postgres:// or postgresql:// (got <secret, ',
    'ALLOWED_EMAIL_DOMAINS: each entry must be a domain name such as example.com (got "bad domain")',
    'LOG_LEVEL: must be one of debug, info, warn, error (got "loud")',
    'LITELLM_CLI_JWT_LEEWAY_SECONDS: must be a whole number from 0 to 3600 (got "-3")',
    'CLI_SSO_CONTRACT_PROFILE: must be one of litellm-v3, litellm-v4 (got "litellm-v5")',
  ]) {
    assert.ok(text.includes(variable), `missing problem: ${variable}\nin:\n${text}`);
  }
  assert.equal(problems.length, 16);
  for (const secret of ['top-secret-value', 'redis-password', 'db-password']) assert.ok(!text.includes(secret), secret);
});

test('a weak master key or salt key stops the start, reported with every other problem and by length only', () => {
  const problems = problemsOf({
    ...IDP,
    LITELLM_MASTER_KEY: 'sk-1234',
    LITELLM_SALT_KEY: 'k',
    EXPERIMENTAL_UI_LOGIN: 'maybe',
  });
  const text = problems.join('\n');
  assert.equal(problems.length, 3, text);
  assert.match(
    text,
    /LITELLM_MASTER_KEY: must be a random secret of at least 32 bytes .*\(it has 7 bytes, 7 different characters\).*\(got <secret, 7 characters>\)/,
  );
  assert.match(text, /LITELLM_SALT_KEY: must be a random secret of at least 32 bytes .*\(got <secret, 1 characters>\)/);
  assert.match(text, /EXPERIMENTAL_UI_LOGIN: must be true or false/);
  assert.ok(!text.includes('sk-1234'), 'the master key was echoed');
  // A long placeholder is as weak as a short one; a strong salt key does not excuse a weak master key.
  assert.equal(problemsOf({ ...MINIMAL, LITELLM_SALT_KEY: '0'.repeat(64) }).length, 1);
  assert.equal(problemsOf({ ...IDP, LITELLM_MASTER_KEY: 'sk-admin', LITELLM_SALT_KEY: SALT_KEY }).length, 1);
  // 32 bytes of UTF-8 (11 three-byte characters) is enough; 31 ASCII characters are not.
  assert.deepEqual(problemsOf({ ...MINIMAL, LITELLM_SALT_KEY: 'ключ-соли-безопасный' }), []);
  assert.equal(problemsOf({ ...MINIMAL, LITELLM_SALT_KEY: 'abcdefghijklmnopqrstuvwxyz01234' }).length, 1);
  assert.deepEqual(problemsOf({ ...MINIMAL, LITELLM_SALT_KEY: 'abcdefghijklmnopqrstuvwxyz012345' }), []);
});

test('positive whole hours only', () => {
  for (const hours of ['0', '1.5', '-1', '12h']) {
    assert.equal(problemsOf({ ...MINIMAL, LITELLM_CLI_JWT_EXPIRATION_HOURS: hours }).length, 1, hours);
  }
  for (const hours of ['12', '48', '168', '720']) {
    assert.equal(
      loadProxyConfig({ ...MINIMAL, LITELLM_CLI_JWT_EXPIRATION_HOURS: hours }, {}, dir).cliKeyLifetimeSeconds,
      Number(hours) * 3600,
    );
  }
});

test('with both names set, CLI_JWT_EXPIRATION_HOURS and CLI_SSO_CLAIM_MAP win, as LiteLLM reads them', () => {
  const config = loadProxyConfig(
    {
      ...MINIMAL,
      CLI_JWT_EXPIRATION_HOURS: '12',
      LITELLM_CLI_JWT_EXPIRATION_HOURS: '48',
      CLI_SSO_CLAIM_MAP: 'a->kind',
      LITELLM_CLI_SSO_CLAIM_MAP: 'a->acme_kind',
    },
    {},
    dir,
  );
  assert.equal(config.cliKeyLifetimeSeconds, 12 * 3600);
  assert.deepEqual(config.claimMap, [{ source: 'a', destination: 'kind' }]);
  // An empty value counts as unset (LiteLLM's `or`): the other name is read.
  const emptyFirst = loadProxyConfig(
    { ...MINIMAL, CLI_JWT_EXPIRATION_HOURS: '', LITELLM_CLI_JWT_EXPIRATION_HOURS: '48' },
    {},
    dir,
  );
  assert.equal(emptyFirst.cliKeyLifetimeSeconds, 48 * 3600);
});

test('the config file: model_list and teams read; a missing file, bad YAML or a bad entry is a problem', () => {
  const good = join(dir, 'good.yaml');
  writeFileSync(
    good,
    'general_settings: {master_key: os.environ/LITELLM_MASTER_KEY}\nmodel_list:\n  - model_name: m1\n    litellm_params: {model: openai/gpt-4o}\n  - model_name: m2\nteams:\n  - team_id: t1\n    team_alias: T One\n',
  );
  const config = loadProxyConfig({ ...MINIMAL, CONFIG_FILE_PATH: 'ignored.yaml' }, { config: good }, dir);
  assert.deepEqual(config.modelsFile, {
    models: [
      { modelName: 'm1', ownedBy: 'openai' },
      { modelName: 'm2', ownedBy: 'litellm' },
    ],
    teams: [{ teamId: 't1', teamAlias: 'T One', models: undefined }],
  });
  writeFileSync(join(dir, 'bad.yaml'), 'model_list: [ {model_name: ');
  writeFileSync(join(dir, 'entry.yaml'), 'model_list:\n  - litellm_params: {model: x}\n');
  assert.match(
    problemsOf({ ...MINIMAL, CONFIG_FILE_PATH: 'nope.yaml' })[0] ?? '',
    /CONFIG_FILE_PATH: must name a readable file \(ENOENT\)/,
  );
  assert.match(problemsOf({ ...MINIMAL, CONFIG_FILE_PATH: 'bad.yaml' })[0] ?? '', /is not valid YAML/);
  assert.match(problemsOf({ ...MINIMAL, CONFIG_FILE_PATH: 'entry.yaml' })[0] ?? '', /field "model_list.0.model_name"/);
});

test('claim-map entries that can never work are kept out and warned about, not fatal (section 5 is lenient)', () => {
  const config = loadProxyConfig(
    { ...MINIMAL, CLI_SSO_CLAIM_MAP: 'a->api_key, b, c->ok', GENERIC_USER_EXTRA_ATTRIBUTES: 'a' },
    {},
    dir,
  );
  assert.deepEqual(config.claimMapWarnings, [
    'entry "b" has no "->" and is skipped',
    'destination "api_key" is dropped: contains the secret-looking word "api_key"',
    'source "c" is not in GENERIC_USER_EXTRA_ATTRIBUTES, so it never yields a value',
  ]);
});
