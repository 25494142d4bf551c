/**
 * The users file (`--users FILE` / `MOCK_IDP_USERS`, YAML or JSON): users with optional passwords,
 * arbitrary claims and teams, and optionally the clients. One zod schema checks it; the same schema
 * is published as JSON Schema (mock-idp/users-file.schema.json) so editors can check the file, and
 * checks users sent to the control API. Every problem names the file, the path in it and the rule,
 * and shows the value only when it cannot hold a password or a secret (problemsOf).
 */
import { open } from 'node:fs/promises';
import { type Document, Lexer, parseDocument } from 'yaml';
import { z } from 'zod';
import { MAX_JSON_DEPTH, nestedDeeperThan } from './claims.ts';
import { CLIENT_AUTH_METHODS, type MockClient } from './clients.ts';
import type { Claims, MockUser } from './users.ts';

const claimValue = z.json();

const claims = z
  .record(z.string().min(1, 'claim names must not be empty'), claimValue)
  .describe('Any JSON claims: strings, numbers, booleans, null, lists and nested objects.');

export const userSchema = z
  .object({
    username: z
      .string()
      .regex(/^[A-Za-z0-9._@+-]{1,64}$/, 'must be 1-64 characters from A-Z a-z 0-9 . _ @ + -')
      .describe('Name on the login page ("Sign in as <username>"), for login_hint and for --auto-login.'),
    password: z
      .string()
      .min(1, 'must not be empty (leave it out to accept any password)')
      .optional()
      .describe('When absent, the username/password form accepts any password.'),
    teams: z
      .array(z.string().min(1))
      .optional()
      .describe('Shorthand for the `teams` claim (the gateway reads team memberships from it).'),
    claims: claims
      .optional()
      .describe('Released at userinfo under `openid email profile`. `sub` defaults to the username.'),
  })
  .strict();

export const clientSchema = z
  .object({
    client_id: z.string().min(1),
    client_secret: z.string().min(1).optional(),
    redirect_uris: z.array(z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' })).min(1),
    post_logout_redirect_uris: z
      .array(z.url({ protocol: /^https?$/, error: 'must be an absolute http(s) URL' }))
      .optional(),
    token_endpoint_auth_method: z.enum(CLIENT_AUTH_METHODS).default('client_secret_basic'),
    require_pkce: z.boolean().default(false).describe('Refuse authorization requests without PKCE S256.'),
    id_token_signed_response_alg: z.enum(['RS256', 'ES256']).default('RS256'),
  })
  .strict()
  .superRefine((client, ctx) => {
    if (client.token_endpoint_auth_method !== 'none' && client.client_secret === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['client_secret'],
        message: `is required with ${client.token_endpoint_auth_method}`,
      });
    }
  });

export const usersFileSchema = z
  .object({
    $schema: z.string().optional().describe('Path or URL of users-file.schema.json, for editors.'),
    users: z.array(userSchema).min(1, 'must list at least one user'),
    clients: z
      .array(clientSchema)
      .min(1)
      .optional()
      .describe('Replaces the default client (litellm-cli-test) when given.'),
  })
  .strict()
  .superRefine((file, ctx) => {
    duplicates(file.users.map((u) => u.username)).forEach((index) => {
      ctx.addIssue({ code: 'custom', path: ['users', index, 'username'], message: 'is used by an earlier user' });
    });
    duplicates(file.users.map((u) => subjectOfEntry(u))).forEach((index) => {
      ctx.addIssue({
        code: 'custom',
        path: ['users', index, 'claims', 'sub'],
        message: 'is the subject of an earlier user',
      });
    });
    duplicates((file.clients ?? []).map((c) => c.client_id)).forEach((index) => {
      ctx.addIssue({ code: 'custom', path: ['clients', index, 'client_id'], message: 'is used by an earlier client' });
    });
  });

export type UserEntry = z.input<typeof userSchema>;

/** The JSON Schema editors use (published as mock-idp/users-file.schema.json). */
export function usersFileJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(usersFileSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'mock-idp users file',
  };
}

/** One thing wrong with a users file. */
export interface UsersFileProblem {
  /** The file's path. */
  file: string;
  /** Dotted path in the file, e.g. `users[2].claims.org_info`. */
  path: string;
  /** The rule it breaks. */
  rule: string;
  /** The offending value: a scalar as JSON (shortened), a list or object by kind and keys; never a secret. */
  value: string;
}

/** A users file that cannot be used; `problems` lists every problem, not only the first. */
export class UsersFileError extends Error {
  readonly code = 'users_file_invalid';
  constructor(readonly problems: readonly UsersFileProblem[]) {
    super(
      `invalid users file (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.file}: ${p.path || '(top level)'}: ${p.rule} (got ${p.value})`).join('\n'),
    );
    this.name = 'UsersFileError';
  }
}

/** A users file, checked: give `users` (and `clients`) to {@link startMockIdp}. */
export interface UsersFile {
  /** The users. */
  users: MockUser[];
  /** The clients, when the file has any (else the default client applies). */
  clients?: MockClient[];
}

/** A users file larger than this is refused before it is parsed (a cast of thousands fits easily). */
export const MAX_USERS_FILE_BYTES = 4 * 1024 * 1024;
/**
 * The `yaml` package's own guard against alias bombs ("billion laughs"): how many nodes aliases may
 * expand to, relative to the anchors they point at (its `maxAliasCount`, whose default this is).
 */
export const MAX_YAML_ALIAS_COUNT = 100;

/**
 * Read and check a users file (YAML or JSON; the format of mock-idp/examples/users.yaml and
 * {@link usersFileJsonSchema}).
 * @param file - its path
 * @throws {@link UsersFileError} listing every problem, each with its path in the file
 * @example
 * ```ts
 * const { users, clients } = await loadUsersFile('test/users.yaml');
 * const idp = await startMockIdp({ users, ...(clients ? { clients } : {}) });
 * ```
 */
export async function loadUsersFile(file: string): Promise<UsersFile> {
  let text: string;
  try {
    text = await readAtMost(file, MAX_USERS_FILE_BYTES);
  } catch (error) {
    if (error instanceof UsersFileError) throw error;
    const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    throw new UsersFileError([{ file, path: '', rule: 'must be a readable file', value: reason }]);
  }
  return parseUsersFile(text, file);
}

/** The file's text, read no further than `limit` bytes (a FIFO or a device has no size to check first). */
async function readAtMost(file: string, limit: number): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(limit + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > limit) {
      throw new UsersFileError([
        { file, path: '', rule: `must be at most ${limit} bytes`, value: `more than ${limit} bytes` },
      ]);
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Parse the text of a users file (YAML; JSON is YAML too) and check it.
 * @param text - the file's content
 * @param file - its name, for the problems
 * @throws {@link UsersFileError} listing every problem
 */
export function parseUsersFile(text: string, file: string): UsersFile {
  if (Buffer.byteLength(text) > MAX_USERS_FILE_BYTES) {
    throw new UsersFileError([
      {
        file,
        path: '',
        rule: `must be at most ${MAX_USERS_FILE_BYTES} bytes`,
        value: `${Buffer.byteLength(text)} bytes`,
      },
    ]);
  }
  // The parser recurses per level of flow nesting ([ and {): two claims 1,000 deep exhaust the
  // stack so badly that V8 aborts the process (no catch sees it). Refused before parsing.
  const tooDeepAt = flowNestingDeeperThan(text, MAX_JSON_DEPTH + 3);
  if (tooDeepAt !== undefined) throw tooDeep(file, tooDeepAt);
  // The parser reports nesting deeper than its stack allows as a document error, like any other.
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new UsersFileError(
      document.errors.map((e) => ({
        file,
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '',
        rule: `must be valid YAML or JSON (${yamlMessage(e.message, mayHoldSecret(lineAt(text, e.pos[0])))})`,
        value: textNear(text, e.pos[0], e.pos[1]),
      })),
    );
  }
  const raw = documentValue(document, file);
  if (nestedDeeperThan(raw, MAX_JSON_DEPTH + 3)) throw tooDeep(file);
  const parsed = usersFileSchema.safeParse(hideProtoKeys(raw));
  if (!parsed.success) throw new UsersFileError(problemsOf(parsed.error, raw, file));
  return {
    users: parsed.data.users.map(toMockUser),
    ...(parsed.data.clients ? { clients: parsed.data.clients.map(toMockClient) } : {}),
  };
}

/** The document as plain data, within the alias limit; an alias bomb is a problem of the file. */
function documentValue(document: Document.Parsed, file: string): unknown {
  try {
    return document.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT });
  } catch (error) {
    // yaml throws a ReferenceError when aliases expand past maxAliasCount.
    if (error instanceof ReferenceError) {
      throw new UsersFileError([
        {
          file,
          path: '',
          rule: `must not expand YAML aliases more than ${MAX_YAML_ALIAS_COUNT} times over (an alias bomb)`,
          value: JSON.stringify(error.message),
        },
      ]);
    }
    throw error;
  }
}

/** The claims' own nesting is what counts: the levels above them (file, list, user) come on top. */
function tooDeep(file: string, where = ''): UsersFileError {
  return new UsersFileError([
    {
      file,
      path: where,
      rule: `must not nest claims more than ${MAX_JSON_DEPTH} lists and objects deep`,
      value: 'a deeper value',
    },
  ]);
}

/** Check users sent at run time (control API); `where` names the source in problems. */
export function parseUsers(raw: unknown, where: string): MockUser[] {
  if (nestedDeeperThan(raw, MAX_JSON_DEPTH + 2)) throw tooDeep(where);
  const parsed = z.array(userSchema).safeParse(hideProtoKeys(raw));
  if (!parsed.success) throw new UsersFileError(problemsOf(parsed.error, raw, where));
  const names = parsed.data.map((u) => u.username);
  const repeated = duplicates(names);
  if (repeated.length > 0) {
    throw new UsersFileError(
      repeated.map((index) => ({
        file: where,
        path: `[${index}].username`,
        rule: 'is used by an earlier user',
        value: JSON.stringify(names[index]),
      })),
    );
  }
  return parsed.data.map(toMockUser);
}

export function parseUser(raw: unknown, where: string): MockUser {
  if (nestedDeeperThan(raw, MAX_JSON_DEPTH + 1)) throw tooDeep(where);
  const parsed = userSchema.safeParse(hideProtoKeys(raw));
  if (!parsed.success) throw new UsersFileError(problemsOf(parsed.error, raw, where));
  return toMockUser(parsed.data);
}

export function parseClaims(raw: unknown, where: string): Claims {
  if (nestedDeeperThan(raw, MAX_JSON_DEPTH)) throw tooDeep(where);
  const parsed = claims.safeParse(hideProtoKeys(raw));
  if (!parsed.success) throw new UsersFileError(problemsOf(parsed.error, raw, where));
  return restoreProtoKeys(parsed.data);
}

function toMockUser(entry: z.output<typeof userSchema>): MockUser {
  const userClaims: Claims = restoreProtoKeys(entry.claims ?? {});
  if (entry.teams) userClaims['teams'] = entry.teams;
  return {
    username: entry.username,
    ...(entry.password !== undefined ? { password: entry.password } : {}),
    claims: userClaims,
  };
}

function toMockClient(entry: z.output<typeof clientSchema>): MockClient {
  return {
    clientId: entry.client_id,
    ...(entry.client_secret !== undefined ? { clientSecret: entry.client_secret } : {}),
    redirectUris: entry.redirect_uris,
    ...(entry.post_logout_redirect_uris ? { postLogoutRedirectUris: entry.post_logout_redirect_uris } : {}),
    authMethod: entry.token_endpoint_auth_method,
    requirePkce: entry.require_pkce,
    idTokenSigningAlg: entry.id_token_signed_response_alg,
  };
}

function subjectOfEntry(entry: z.output<typeof userSchema>): string {
  const sub = entry.claims?.['sub'];
  return typeof sub === 'string' && sub !== '' ? sub : entry.username;
}

/** Indexes of entries equal to an earlier entry. */
function duplicates(values: readonly string[]): number[] {
  const seen = new Set<string>();
  const repeated: number[] = [];
  values.forEach((value, index) => {
    if (seen.has(value)) repeated.push(index);
    seen.add(value);
  });
  return repeated;
}

/**
 * zod leaves `__proto__` keys out of what it parses (so that parsing never replaces a prototype),
 * yet a claim may be named so (claims.ts). Such keys go through zod under a stand-in name and come
 * back after; Object.fromEntries makes them own properties.
 */
const PROTO_STAND_IN = '\u0000__proto__\u0000';

function renameKeys(value: unknown, from: string, to: string): unknown {
  if (Array.isArray(value)) return value.map((item) => renameKeys(item, from, to));
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(
    Object.keys(value).map((key) => [key === from ? to : key, renameKeys(Reflect.get(value, key), from, to)]),
  );
}

function hideProtoKeys(value: unknown): unknown {
  return renameKeys(value, '__proto__', PROTO_STAND_IN);
}

function restoreProtoKeys(value: Claims): Claims {
  const restored = renameKeys(value, PROTO_STAND_IN, '__proto__');
  return typeof restored === 'object' && restored !== null && !Array.isArray(restored) ? (restored as Claims) : {};
}

/**
 * Where flow collections (`[`, `{`) nest deeper than `max`, as `line L, column C`; undefined when
 * they do not. yaml's lexer is iterative, so it reads any depth; scalars, quotes and comments are
 * tokens of their own, so a `[` inside them is not counted. Files with fewer brackets than that in
 * all are not lexed twice.
 */
function flowNestingDeeperThan(text: string, max: number): string | undefined {
  let brackets = 0;
  for (let i = 0; i < text.length && brackets <= max; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) brackets++;
  }
  if (brackets <= max) return undefined;
  let depth = 0;
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    if (token === '[' || token === '{') {
      depth++;
      if (depth > max) return lineAndColumn(text, offset);
    } else if (token === ']' || token === '}') {
      depth = Math.max(0, depth - 1);
    }
    // The lexer's own markers (document start, scalar, flow error end) are not text of the file.
    if (!LEXER_MARKERS.has(token)) offset += token.length;
  }
  return undefined;
}

const LEXER_MARKERS = new Set(['\u0002', '\u0018', '\u001f']);

function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
}

/**
 * Key names whose values may be secret. A users file holds passwords and client secrets, and claims
 * may hold anything (an `api_token` claim): a value under such a key is never shown in an error.
 */
const SECRET_KEY = /pass|secret|token|credential|private|key/i;

/**
 * The text around a syntax error, unless its line may hold a secret (`password: "unterminated`
 * would otherwise print the password).
 */
function textNear(text: string, start: number, end: number): string {
  if (mayHoldSecret(lineAt(text, start))) return 'text on a line that may hold a secret (not shown)';
  return JSON.stringify(text.slice(start, Math.min(end, start + 40)));
}

function lineAt(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const lineEnd = text.indexOf('\n', offset);
  return text.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
}

function mayHoldSecret(text: string): boolean {
  return SECRET_KEY.test(text);
}

/**
 * The first line of a yaml error, without its position (the problem's path has it). Some quote the
 * token they stopped at (`Unexpected double-quoted-scalar token in YAML stream: "..."`): on a line
 * that may hold a secret, the quoted text is left out.
 */
function yamlMessage(message: string, secretLine: boolean): string {
  const first = (message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  return secretLine ? first.replace(/"(?:[^"\\]|\\.)*"?|'(?:[^']|'')*'?/g, '(text not shown)') : first;
}

function problemsOf(error: z.ZodError, raw: unknown, file: string): UsersFileProblem[] {
  return error.issues.map((issue) => {
    const path = issue.path
      .filter((p): p is string | number => typeof p !== 'symbol')
      .map((p) => (p === PROTO_STAND_IN ? '__proto__' : p));
    return {
      file,
      path: formatPath(path),
      rule: ruleOf(issue),
      value: describeValue(valueAt(raw, path), path),
    };
  });
}

function ruleOf(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_union') return 'must be a JSON value (string, number, boolean, null, list or object)';
  if (issue.code === 'unrecognized_keys')
    return `has unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map(showKey).join(', ')}`;
  return issue.message;
}

function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += /^[A-Za-z_$][\w$]*$/.test(part) ? `${out === '' ? '' : '.'}${part}` : `[${JSON.stringify(part)}]`;
  }
  return out;
}

function valueAt(raw: unknown, path: readonly (string | number)[]): unknown {
  let current: unknown = raw;
  for (const part of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = Reflect.get(current, part);
  }
  return current;
}

/**
 * What an error shows of a value: a scalar as JSON (shortened); a list or an object by its kind,
 * size and key names, never its contents, which may hold a password or a client secret (an unknown
 * key in a user entry is reported on the entry); nothing but its kind under a secret-looking key.
 */
function describeValue(value: unknown, path: readonly (string | number)[]): string {
  if (value === undefined) return 'nothing';
  if (path.some((part) => typeof part === 'string' && SECRET_KEY.test(part))) {
    return `${kindOf(value)} (not shown: it may be a secret)`;
  }
  if (Array.isArray(value)) return `a list of ${value.length} item${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object' && value !== null) {
    const keys = Object.keys(value);
    const shown = keys.slice(0, 8).map((k) => JSON.stringify(showKey(k)));
    return `an object with key${keys.length === 1 ? '' : 's'} ${shown.join(', ')}${keys.length > 8 ? ', ...' : ''}`;
  }
  // A string that names a secret may be a whole entry written as one string (`users: "{password: ...}"`).
  if (typeof value === 'string' && mayHoldSecret(value)) {
    return `a string of ${value.length} characters (not shown: it may hold a secret)`;
  }
  let text: string;
  try {
    text = typeof value === 'function' ? 'a function' : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return shorten(text, 80);
}

/**
 * A key name as a problem shows it. A key is text of the file too: a whole entry can become one
 * (a C-style comment before JSON makes the whole text one plain YAML key), so one naming a secret is
 * shown by its length.
 */
function showKey(key: string): string {
  if (key === PROTO_STAND_IN) return '__proto__';
  if (mayHoldSecret(key) && !KNOWN_SECRET_KEYS.has(key)) return `(a key of ${key.length} characters, not shown)`;
  return shorten(key, 40);
}

/** The file's own keys that name a secret: their names are no secret. */
const KNOWN_SECRET_KEYS = new Set(['password', 'client_secret', 'token_endpoint_auth_method']);

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}
