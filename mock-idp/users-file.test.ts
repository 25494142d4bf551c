import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../common/config.ts';
import { MAX_JSON_DEPTH } from './claims.ts';
import { loadMockIdpConfig, loadUsersFile, parseUsersFile, UsersFileError, usersFileJsonSchema } from './index.ts';
import { MAX_USERS_FILE_BYTES, parseClaims } from './users-file.ts';

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
  assert.equal(problems[0]?.value, 'a number (not shown: it may be a secret)');
});

test('no problem shows a password or a client secret held in the value it is about, nor in a line of broken YAML', () => {
  const messageOf = (text: string): string => {
    try {
      parseUsersFile(text, 's.yaml');
    } catch (error) {
      if (error instanceof UsersFileError) return error.message;
      throw error;
    }
    return assert.fail('expected a UsersFileError');
  };
  const cases = [
    // An unknown key: the problem is about the whole entry, which holds the password.
    'users:\n  - username: alice\n    password: pw-hunter2-0001\n    x-claims: x\n',
    'users:\n  - username: a\nclients:\n  - client_id: c\n    client_secret: cs-hunter2-0001\n    redirect_uris: [http://x/cb]\n    extra: 1\n',
    'users:\n  - username: a\n    password: pw-hunter2-0001\nunknown: 1\n',
    'users:\n  - username: a\n    password: [pw-hunter2-0001]\n',
    'users:\n  - username: a\n    password: "pw-hunter2-0001\n',
    'users:\n  - username: a\n    password: pw-hunter2-0001: x\n',
    // A whole entry written as one string, where a list was expected.
    'users: n{"username":"alice","password":"pw-hunter2-0001"}\n',
    // A whole file read as one key (a comment YAML does not know makes the JSON a plain scalar).
    '/* comment */{"users":[{"username":"a","password":"pw-hunter2-0001"}]}: x\n',
    // One line of JSON the parser gives up on: its messages quote the token they stopped at.
    '{"users":[{"username":"a","password":"pw-hunter2-0001","claims":{"e":"!!js/function "f""}}],"clients":[{"client_id":"c","client_secret":"cs-hunter2-0001"}]}',
  ];
  for (const text of cases) {
    const message = messageOf(text);
    assert.doesNotMatch(message, /hunter2/, `${JSON.stringify(text)} gave:\n${message}`);
    assert.match(message, /s\.yaml: \S/, message);
  }
  // The problem still says where and what: the entry and the unknown key, and the keys it has.
  assert.match(
    messageOf(cases[0]!),
    /s\.yaml: users\[0\]: has unknown key x-claims \(got an object with keys "username", "password", "x-claims"\)/,
  );
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

/** Run the mock's command with `args` until it exits (it must: every case here is a start-up error). */
async function runMockIdp(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', here('./main.ts'), '--port', '0', ...args], {
    env: { ...process.env, MOCK_OIDC_PORT: '', MOCK_IDP_USERS: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
    // A mock that started after all would run forever: the test fails instead of hanging.
    timeout: 30_000,
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stderr };
}

/** "Billion laughs": nine levels of nine aliases, 9^9 strings once expanded. */
const ALIAS_BOMB = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  ...'bcdefghi'.split('').map((name, i) => `${name}: &${name} [${Array(9).fill(`*${'abcdefgh'[i]}`).join(',')}]`),
  'users:',
  '  - username: bomb',
  '    claims: { laughs: *i }',
].join('\n');

test('an alias bomb or an oversized users file stops the command with exit code 2 and one clear line, no stack trace', async () => {
  const bomb = join(dir, 'bomb.yaml');
  await writeFile(bomb, ALIAS_BOMB);
  const huge = join(dir, 'huge.yaml');
  await writeFile(huge, `users:\n  - username: a\n${'# padding\n'.repeat(MAX_USERS_FILE_BYTES / 10 + 1)}`);
  const [bombRun, hugeRun] = await Promise.all([runMockIdp(['--users', bomb]), runMockIdp(['--users', huge])]);

  assert.equal(bombRun.code, 2, bombRun.stderr);
  assert.match(bombRun.stderr, /bomb\.yaml: must not expand YAML aliases more than 100 times over \(an alias bomb\)/);
  assert.doesNotMatch(bombRun.stderr, /^\s+at /m, 'no stack trace');
  assert.equal(hugeRun.code, 2, hugeRun.stderr);
  assert.match(hugeRun.stderr, new RegExp(`huge\\.yaml: must be at most ${MAX_USERS_FILE_BYTES} bytes`));
  assert.doesNotMatch(hugeRun.stderr, /^\s+at /m, 'no stack trace');
});

test('a few aliases are fine: anchors that share a value are normal YAML', () => {
  const file = parseUsersFile(
    'users:\n  - username: a\n    teams: &teams [team-a, team-b]\n  - username: b\n    teams: *teams\n',
    'ok.yaml',
  );
  assert.deepEqual(file.users[1]?.claims['teams'], ['team-a', 'team-b']);
});

test('claims nested deeper than the limit are a problem, not a stack overflow', () => {
  const nested = (levels: number): unknown => JSON.parse(`${'['.repeat(levels)}1${']'.repeat(levels)}`);
  // The claims object is one level, its value the rest.
  const atLimit = parseClaims({ deep: nested(MAX_JSON_DEPTH - 1) }, 'body');
  assert.ok(Array.isArray(atLimit['deep']));
  const problems = problemsOf(() => parseClaims({ deep: nested(MAX_JSON_DEPTH) }, 'body'));
  assert.match(problems[0]?.rule ?? '', new RegExp(`must not nest claims more than ${MAX_JSON_DEPTH}`));
  const file = `users:\n  - username: a\n    claims:\n      deep: ${JSON.stringify(nested(MAX_JSON_DEPTH))}\n`;
  assert.match(problemsOf(() => parseUsersFile(file, 'deep.yaml'))[0]?.rule ?? '', /must not nest claims/);
  const fine = `users:\n  - username: a\n    claims:\n      deep: ${JSON.stringify(nested(MAX_JSON_DEPTH - 1))}\n`;
  assert.equal(parseUsersFile(fine, 'fine.yaml').users.length, 1);
});

test('two claims nested 1,000 deep are a problem naming the file, not a fatal error of the process', async () => {
  const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
  const file = join(dir, 'two-deep.json');
  await writeFile(
    file,
    `{"users":[{"username":"a","claims":{"x":${deep(1000)}}},{"username":"b","claims":{"y":${deep(1000)}}}]}`,
  );
  // In a child process: before the depth was checked ahead of parsing, V8 aborted the whole process.
  const run = await runMockIdp(['--users', file]);
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /two-deep\.json:? line 1, column \d+: must not nest claims more than 256/);
  // Brackets inside strings and comments are not nesting.
  const text = `users:\n  - username: a\n    claims:\n      s: "${'['.repeat(2000)}"\n# ${'{'.repeat(2000)}\n`;
  assert.equal(parseUsersFile(text, 'strings.yaml').users[0]?.claims['s'], '['.repeat(2000));
});
