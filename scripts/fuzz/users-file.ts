/**
 * The mock IdP's users file loader (mock-idp/users-file.ts: parseUsersFile, loadUsersFile), fuzzed
 * in this process with generated YAML and JSON: a valid file with its structure changed (odd keys,
 * prototype names, wrong types) or its text changed (alias bombs, deep nesting, tags, merge keys,
 * several documents, control characters, huge values).
 *
 * The loader runs in a child process (users-file-child.ts): an input that kills the process that
 * parses it is a finding the fuzzer lives to report; the child is started again for the next one.
 *
 * Oracle: the loader returns users or throws UsersFileError, whose message names the file and at
 * least one problem, within 10 s; nothing else is thrown, no password or client secret is shown in the
 * message, and
 * Object.prototype is untouched.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { type Endpoint, endpoint } from './endpoint.ts';
import { applyMutations, bodyText, junkJson, junkString, type Mutation, mutation, prototypeName } from './model.ts';
import type { ParseReply, ParseRequest } from './users-file-child.ts';

const PASSWORD = 'users-file-secret-pw-0001';
const CLIENT_SECRET = 'users-file-client-secret-0001';
const FILE_NAME = 'fuzz-users.yaml';

const VALID_FILE = {
  users: [
    {
      username: 'alice',
      password: PASSWORD,
      teams: ['team-alpha'],
      claims: { email: 'alice@example.com', org_info: { department: 'Research' }, groups: ['a', 'b'] },
    },
    { username: 'bob', claims: { sub: 'bob-sub', email: 'bob@example.com', employee_number: 42 } },
  ],
  clients: [
    {
      client_id: 'litellm-cli-test',
      client_secret: CLIENT_SECRET,
      redirect_uris: ['http://127.0.0.1:4000/sso/callback'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
};

const TEXT_CHANGES = [
  'alias-bomb',
  'alias-bomb-in-claims',
  'alias-undefined',
  'alias-self',
  'merge-key',
  'deep-flow',
  'deep-block',
  'tag-js',
  'tag-binary',
  'tag-set',
  'tag-omap',
  'tag-custom',
  'tag-timestamp',
  'duplicate-key',
  'proto-key',
  'complex-key',
  'null-key',
  'numeric-username',
  'tabs',
  'bom',
  'crlf',
  'nul',
  'control-chars',
  'multi-document',
  'empty',
  'only-comment',
  'huge-string',
  'many-users',
  'unterminated',
  'flow-json',
  'anchor-on-key',
  'yaml-1.1-bools',
  'directive',
  'two-deep-claims',
] as const;
type TextChange = (typeof TEXT_CHANGES)[number];

function aliasBomb(levels: number, into: 'top' | 'claims'): string {
  const names = 'abcdefghij'.split('');
  const lines = [`${names[0]}: &${names[0]} [lol, lol, lol, lol, lol, lol, lol, lol, lol]`];
  for (let i = 1; i < levels; i++) {
    const prev = names[i - 1];
    lines.push(`${names[i]}: &${names[i]} [${Array(9).fill(`*${prev}`).join(', ')}]`);
  }
  const last = names[levels - 1];
  if (into === 'top') return `${lines.join('\n')}\nusers:\n  - username: alice\n`;
  return `x-anchors:\n${lines.map((l) => `  ${l}`).join('\n')}\nusers:\n  - username: alice\n    claims:\n      bomb: *${last}\n`;
}

function applyText(text: string, change: TextChange, levels: number): string {
  switch (change) {
    case 'alias-bomb':
      return aliasBomb(levels, 'top');
    case 'alias-bomb-in-claims':
      return aliasBomb(levels, 'claims');
    case 'alias-undefined':
      return text.replace('alice@example.com', '*nowhere');
    case 'alias-self':
      return 'users: &u\n  - username: alice\n    claims: { self: *u }\n';
    case 'merge-key':
      return `base: &base { email: x@example.com }\nusers:\n  - username: alice\n    claims:\n      <<: *base\n      <<: [*base, *base]\n`;
    case 'deep-flow':
      return `users: [{username: alice, claims: {deep: ${'['.repeat(levels * 500)}1${']'.repeat(levels * 500)}}}]`;
    case 'deep-block': {
      let out = 'users:\n  - username: alice\n    claims:\n';
      for (let i = 0; i < levels * 100; i++) out += `${'  '.repeat(3 + i)}k${i}:\n`;
      return `${out}${'  '.repeat(3 + levels * 100)}1\n`;
    }
    case 'tag-js':
      return text.replace('alice@example.com', '!!js/function "function () { return 1 }"');
    case 'tag-binary':
      return text.replace('alice@example.com', '!!binary aGVsbG8=');
    case 'tag-set':
      return text.replace(/groups:[^\n]*(\n\s+- [^\n]*)*/, 'groups: !!set { a, b }');
    case 'tag-omap':
      return text.replace('claims:', 'claims: !!omap\n      - email: x@example.com\n    x-was-claims:');
    case 'tag-custom':
      return text.replace('alice@example.com', '!custom alice@example.com');
    case 'tag-timestamp':
      return text.replace('alice@example.com', '!!timestamp 2001-12-14t21:59:43.10-05:00');
    case 'duplicate-key':
      return text.replace('username: alice', 'username: alice\n    username: mallory');
    case 'proto-key':
      return text.replace(
        'claims:',
        'claims:\n      __proto__: { polluted: true }\n      constructor: { prototype: { polluted: true } }\n    x-claims:',
      );
    case 'complex-key':
      return `${text}? [a, b]\n: complex\n`;
    case 'null-key':
      return `${text}~: nothing\n`;
    case 'numeric-username':
      return text.replace('username: alice', 'username: 0x1F');
    case 'tabs':
      return text.replace(/\n {2}/g, '\n\t');
    case 'bom':
      return `\uFEFF${text}`;
    case 'crlf':
      return text.replace(/\n/g, '\r\n');
    case 'nul':
      return text.replace('alice', 'al\u0000ice');
    case 'control-chars':
      return text.replace('alice@example.com', '"\\e[2Jalice\\x07@example.com"');
    case 'multi-document':
      return `${text}---\n${text}`;
    case 'empty':
      return '';
    case 'only-comment':
      return '# nothing here\n';
    case 'huge-string':
      return text.replace('alice@example.com', 'a'.repeat(levels * 100_000));
    case 'many-users':
      return `users:\n${Array.from({ length: levels * 100 }, (_, i) => `  - username: u${i}\n`).join('')}`;
    case 'unterminated':
      return text.replace('alice@example.com', '"alice@example.com');
    case 'flow-json':
      return JSON.stringify(VALID_FILE).slice(0, -1);
    case 'anchor-on-key':
      return text.replace('username: alice', '&k username: alice\n    *k : again');
    case 'yaml-1.1-bools':
      return text.replace('username: alice', 'username: yes').replace('alice@example.com', 'on');
    case 'directive':
      return `%YAML 1.1\n%TAG ! tag:evil.example,2000:\n---\n${text}`;
    case 'two-deep-claims': {
      const deep = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
      return `{"users":[{"username":"a","claims":{"x":${deep(levels * 200)}}},{"username":"b","claims":{"y":${deep(levels * 200)}}}]}`;
    }
  }
}

interface UsersFileRecipe {
  format: 'yaml' | 'json';
  structure: Mutation[];
  text: TextChange[];
  levels: number;
  via: 'parse' | 'file' | 'missing' | 'directory';
}

const structureChange = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record({ path: fc.array(fc.nat({ max: 5 }), { maxLength: 4 }), value: junkJson })
      .map((m) => ({ op: 'json.at' as const, ...m })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({
        path: fc.array(fc.nat({ max: 5 }), { maxLength: 4 }),
        name: fc.oneof(
          prototypeName,
          junkString,
          fc.constantFrom('username', 'password', 'teams', 'claims', 'clients', 'users', '$schema'),
        ),
        value: junkJson,
      })
      .map((m) => ({ op: 'json.addKey' as const, ...m })),
  },
  { weight: 1, arbitrary: mutation({ query: [], headers: [], fields: ['users', 'clients', '$schema'], segments: [] }) },
);

const parseFile = endpoint({
  name: 'idp:users-file',
  group: 'users-file',
  what: 'parseUsersFile / loadUsersFile (mock-idp/users-file.ts), in process',
  // A fresh child after a failure: whether a deep input kills it depends on what it parsed before
  // (V8 compiles yaml's regular expressions lazily), and a reproducer must not.
  servers: ['users-file-child'],
  // yaml takes seconds on 100,000-deep nesting on a busy machine: slow, not hung.
  slowMs: 10_000,
  recipe: () =>
    fc.record<UsersFileRecipe>({
      format: fc.constantFrom('yaml', 'yaml', 'json'),
      structure: fc.array(structureChange, { maxLength: 3 }),
      text: fc.oneof(
        { weight: 2, arbitrary: fc.constant<TextChange[]>([]) },
        { weight: 3, arbitrary: fc.array(fc.constantFrom(...TEXT_CHANGES), { minLength: 1, maxLength: 2 }) },
      ),
      levels: fc.integer({ min: 1, max: 9 }),
      via: fc.constantFrom('parse', 'parse', 'parse', 'parse', 'parse', 'parse', 'file', 'missing', 'directory'),
    }),
  run: async (r, ctx) => {
    const mutated = applyMutations(
      { method: 'PUT', path: '/', query: [], headers: [], body: { kind: 'json', value: structuredClone(VALID_FILE) } },
      r.structure,
    );
    const value = mutated.body.kind === 'json' ? mutated.body.value : bodyText(mutated.body);
    let text =
      value === undefined
        ? ''
        : typeof value === 'string'
          ? value
          : r.format === 'json'
            ? JSON.stringify(value)
            : stringify(value);
    for (const change of r.text) text = applyText(text, change, r.levels);
    const problems: string[] = [];
    const child = await ctx.systems.shared('users-file-child', () => LoaderChild.start());
    // The loader is timed, not the start of a new child process (seconds on a loaded machine).
    await child.ready();
    const started = performance.now();
    const reply = await child.run({ text, fileName: FILE_NAME, via: r.via }, 30_000);
    let outcome: string;
    if ('crashed' in reply) {
      outcome = 'crashed';
      problems.push(`the process parsing it died: ${reply.crashed}`);
    } else if (reply.kind === 'UsersFileError') {
      outcome = 'UsersFileError';
      if (reply.problems === 0) problems.push('UsersFileError without any problem listed');
      if (!reply.message.includes(FILE_NAME) && r.via === 'parse') {
        problems.push(`the error does not name the file: ${reply.message.slice(0, 200)}`);
      }
      for (const [what, secret] of [
        ['a password', PASSWORD],
        ['a client secret', CLIENT_SECRET],
      ] as const) {
        // A shortened value can show the start of a secret: any 12 characters of it count.
        if (piecesOf(secret, 12).some((piece) => reply.message.includes(piece)))
          problems.push(`the error message shows ${what}: ${reply.message.slice(0, 300)}`);
      }
    } else if (reply.kind === 'threw') {
      outcome = `threw ${reply.name}`;
      problems.push(`threw ${reply.name} instead of UsersFileError: ${reply.message.slice(0, 200)}`);
    } else outcome = 'loaded';
    if ('polluted' in reply && reply.polluted.length > 0) {
      problems.push(`Object.prototype was changed: ${reply.polluted.join(', ')}`);
    }
    const ms = Math.round(performance.now() - started);
    return {
      outcome,
      status: 0,
      request: {
        via: r.via,
        text_chars: text.length,
        text: text.length > 400 ? `${text.slice(0, 400)}... (${text.length} chars)` : text,
      },
      problems,
      ms,
    };
  },
});

export const USERS_FILE_ENDPOINTS: Endpoint[] = [parseFile];

function piecesOf(secret: string, length: number): string[] {
  return Array.from({ length: secret.length - length + 1 }, (_, i) => secret.slice(i, i + length));
}

type ChildReply = ParseReply | { crashed: string };

/** The flags that load TypeScript (`--import tsx`), and nothing else of this process's. */
function loaderFlags(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i]!;
    if (/^--(import|require|loader|experimental-loader)=/.test(flag)) out.push(flag);
    else if (/^--(import|require|loader|experimental-loader)$/.test(flag) && execArgv[i + 1] !== undefined) {
      out.push(flag, execArgv[++i]!);
    }
  }
  return out;
}

/** The child process that runs the loader; a new one after it dies. */
class LoaderChild {
  private child: ChildProcess | undefined;
  /** A child still starting: stop() must end it too (on a loaded machine a start takes a while). */
  private starting: ChildProcess | undefined;
  private stderr = '';
  private nextId = 1;

  static async start(): Promise<{ value: LoaderChild; close(): Promise<void> }> {
    const loader = new LoaderChild();
    return { value: loader, close: async () => loader.stop() };
  }

  private async spawn(): Promise<ChildProcess> {
    const child = fork(fileURLToPath(new URL('./users-file-child.ts', import.meta.url)), [], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      execArgv: [...loaderFlags(process.execArgv), '--no-warnings'],
    });
    this.starting = child;
    this.stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4000);
    });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) =>
        reject(new Error(`the users file child stopped at start (exit ${code}): ${this.stderr}`)),
      );
    }).finally(() => {
      this.starting = undefined;
    });
    return child;
  }

  /** Start the child now if none is running. */
  async ready(): Promise<void> {
    this.child ??= await this.spawn();
  }

  async run(request: Omit<ParseRequest, 'id'>, timeoutMs: number): Promise<ChildReply> {
    this.child ??= await this.spawn();
    const child = this.child;
    const id = this.nextId++;
    return new Promise<ChildReply>((resolve) => {
      const done = (reply: ChildReply) => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(reply);
      };
      const onMessage = (reply: ParseReply) => {
        if (reply.id === id) done(reply);
      };
      const onExit = (code: number | null, signal: string | null) => {
        this.child = undefined;
        const fatal = /FATAL ERROR[^\n]*/.exec(this.stderr)?.[0] ?? this.stderr.trim().split('\n').at(-1) ?? '';
        done({ crashed: `exit code ${code}${signal ? `, signal ${signal}` : ''}: ${fatal.slice(0, 300)}` });
      };
      const timer = setTimeout(() => {
        child.off('exit', onExit);
        child.kill('SIGKILL');
        this.child = undefined;
        done({ crashed: `no answer within ${timeoutMs} ms (killed)` });
      }, timeoutMs);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ ...request, id });
    });
  }

  stop(): void {
    this.child?.kill();
    this.starting?.kill();
    this.child = undefined;
    this.starting = undefined;
  }
}
