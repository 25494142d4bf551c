import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../common/config.ts';
import { loadMockIdpConfig, loadUsersFile, parseUsersFile, UsersFileError, usersFileJsonSchema } from './index.ts';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mock-idp-users-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function problemsOf(run: () => unknown): UsersFileError['problems'] {
  try {
    run();
  } catch (error) {
    if (error instanceof UsersFileError) return error.problems;
    throw error;
  }
  assert.fail('expected a UsersFileError');
}

test('the example file loads: users with passwords, teams shorthand, nested claims, and clients', async () => {
  const file = await loadUsersFile(here('./examples/users.yaml'));
  assert.deepEqual(
    file.users.map((u) => u.username),
    ['dana', 'eve'],
  );
  const dana = file.users[0];
  assert.equal(dana?.password, 'dana-password');
  assert.deepEqual(dana?.claims['teams'], ['team-ops', 'team-sre']);
  assert.deepEqual(dana?.claims['org_info'], { department: 'Operations', cost_center: 'CC-7' });
  assert.equal(dana?.claims['is_manager'], true);
  assert.equal(file.users[1]?.claims['sub'], '6a1f0c4e-eve');
  assert.deepEqual(
    file.clients?.map((c) => [c.clientId, c.authMethod, c.requirePkce, c.idTokenSigningAlg]),
    [
      ['litellm-cli-test', 'client_secret_basic', false, 'RS256'],
      ['pkce-only-app', 'client_secret_post', true, 'ES256'],
      ['public-cli', 'none', false, 'RS256'],
    ],
  );
});

test('JSON works as well as YAML', () => {
  const file = parseUsersFile('{"users":[{"username":"x","claims":{"n":1.5,"list":[1,"a",null]}}]}', 'u.json');
  assert.deepEqual(file.users[0]?.claims, { n: 1.5, list: [1, 'a', null] });
});

test('each problem names the file, the path in it and the bad value', () => {
  const problems = problemsOf(() =>
    parseUsersFile(
      [
        'users:',
        '  - username: "has space"',
        '    colour: red',
        '  - username: ok',
        '    teams: "not-a-list"',
        '  - username: ok',
        'clients:',
        '  - client_id: c',
        '    redirect_uris: [not-a-url]',
      ].join('\n'),
      'team.yaml',
    ),
  );
  const byPath = new Map(problems.map((p) => [p.path, p]));
  assert.ok(problems.every((p) => p.file === 'team.yaml'));
  assert.match(byPath.get('users[0].username')?.rule ?? '', /1-64 characters/);
  assert.equal(byPath.get('users[0].username')?.value, '"has space"');
  assert.match(byPath.get('users[0]')?.rule ?? '', /unknown key colour/);
  assert.equal(byPath.get('users[1].teams')?.value, '"not-a-list"');
  assert.match(byPath.get('clients[0].redirect_uris[0]')?.rule ?? '', /absolute http\(s\) URL/);
  assert.match(byPath.get('clients[0].client_secret')?.rule ?? '', /required with client_secret_basic/);
});

test('duplicate usernames and subjects are refused (semantic checks run with the others)', () => {
  const problems = problemsOf(() =>
    parseUsersFile('users:\n  - username: a\n  - username: a\n  - username: b\n    claims: { sub: a }\n', 'dup.yaml'),
  );
  const paths = problems.map((p) => `${p.path}: ${p.rule}`);
  assert.ok(paths.includes('users[1].username: is used by an earlier user'), paths.join('\n'));
  assert.ok(paths.includes('users[2].claims.sub: is the subject of an earlier user'), paths.join('\n'));
});

test('a password is never echoed in a problem', () => {
  const problems = problemsOf(() => parseUsersFile('users:\n  - username: a\n    password: 12345\n', 'p.yaml'));
  assert.equal(problems[0]?.path, 'users[0].password');
  assert.equal(problems[0]?.value, '<password>');
});

test('broken YAML is reported with its line', () => {
  const problems = problemsOf(() => parseUsersFile('users:\n  - username: a\n   bad: [\n', 'broken.yaml'));
  assert.ok(problems.length > 0);
  assert.match(problems[0]?.path ?? '', /^line \d+, column \d+$/);
  assert.match(problems[0]?.rule ?? '', /valid YAML or JSON/);
});

test('a missing file is one problem naming the file', async () => {
  await assert.rejects(loadUsersFile(join(dir, 'nope.yaml')), (error: unknown) => {
    assert.ok(error instanceof UsersFileError);
    assert.match(error.message, /nope\.yaml: \(top level\): must be a readable file \(got ENOENT\)/);
    return true;
  });
});

test('the published JSON Schema is the one the code checks with', async () => {
  const published: unknown = JSON.parse(await readFile(here('./users-file.schema.json'), 'utf8'));
  assert.deepEqual(
    published,
    usersFileJsonSchema(),
    'regenerate with: node --import tsx mock-idp/main.ts --print-users-schema > mock-idp/users-file.schema.json',
  );
});

test('--users problems come together with variable problems, and auto-login is checked against the file', async () => {
  const file = join(dir, 'bad.yaml');
  await writeFile(file, 'users:\n  - username: only\n    password: ""\n');
  await assert.rejects(
    loadMockIdpConfig({ MOCK_OIDC_PORT: 'x', MOCK_OIDC_SUB: 'someone' }, { users: file }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      const variables = error.problems.map((p) => p.variable);
      assert.ok(variables.includes('MOCK_OIDC_PORT'));
      assert.ok(variables.includes('MOCK_OIDC_SUB'), 'a users file makes MOCK_OIDC_SUB moot');
      assert.ok(variables.includes(`${file} users[0].password`));
      return true;
    },
  );
  const good = join(dir, 'good.yaml');
  await writeFile(good, 'users:\n  - username: only\n');
  await assert.rejects(
    loadMockIdpConfig({}, { users: good, autoLogin: 'alice' }),
    /--auto-login: must name a known user \(only\)/,
  );
  const { options } = await loadMockIdpConfig({ MOCK_IDP_USERS: good }, { autoLogin: 'only' });
  assert.deepEqual(
    options.users?.map((u) => u.username),
    ['only'],
  );
  assert.equal(options.clients?.[0]?.clientId, 'litellm-cli-test', 'no clients in the file: the default client');
});
