/**
 * A request as the fuzzer sees it (method, path, query pairs, headers, a body with a shape), the
 * mutations that turn a valid request into a nearly valid one, and the fast-check arbitraries that
 * generate them. Mutations are plain data, so a failing input prints, shrinks and replays as data.
 *
 * "Structurally close": every input starts from a request that would succeed (built from a real
 * login id, code, token or key) and changes a few things, so most inputs get past the first checks
 * of an endpoint and reach the code behind them.
 */
import fc from 'fast-check';
import { asLatin1, toRawBytes, type WireRequest } from './wire.ts';

export type Body =
  | { kind: 'none' }
  | { kind: 'form'; fields: Array<[string, string]> }
  | { kind: 'json'; value: unknown }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; hex: string };

export interface RequestSpec {
  method: string;
  /** Path as sent: already percent-encoded where the builder wanted it. */
  path: string;
  query: Array<[string, string]>;
  /** Appended to the query string verbatim (after `&`). */
  rawQuery?: string;
  headers: Array<[string, string]>;
  body: Body;
  /** Client address: `main` (127.0.0.1) or a fresh one. */
  from?: 'main' | 'fresh';
  /** A framing change applied to the request's bytes (sent raw). */
  raw?: RawKind;
}

export const RAW_KINDS = [
  'bare-lf',
  'obs-fold',
  'ctl-in-header',
  'nul-in-target',
  'space-in-target',
  'http10',
  'http2-version',
  'absolute-target',
  'asterisk-target',
  'lowercase-method',
  'no-host',
  'two-hosts',
  'dup-content-length',
  'cl-and-te',
  'te-chunked-bad',
  'header-no-colon',
  'huge-header',
  'many-headers',
  'pipelined',
  'utf8-in-header-name',
] as const;
export type RawKind = (typeof RAW_KINDS)[number];

/** Which names an endpoint's mutations draw from (its real parameters first). */
export interface Vocabulary {
  query: readonly string[];
  headers: readonly string[];
  fields: readonly string[];
  /** Path segments worth trying in place of a real one. */
  segments: readonly string[];
}

export type Mutation =
  | { op: 'method'; value: string }
  | { op: 'path.segment'; index: number; value: string; encode: boolean }
  | { op: 'path.append'; value: string }
  | { op: 'path.shape'; kind: 'double-slash' | 'trailing-slash' | 'dot-segment' | 'upper-case' | 'encoded-slash' }
  | { op: 'query.set'; name: string; value: string }
  | { op: 'query.add'; name: string; value: string }
  | { op: 'query.drop'; index: number }
  | { op: 'query.value'; index: number; tweak: Tweak }
  | { op: 'query.name'; index: number; value: string }
  | { op: 'query.raw'; text: string }
  | { op: 'query.many'; count: number }
  | { op: 'header.set'; name: string; value: string }
  | { op: 'header.add'; name: string; value: string }
  | { op: 'header.drop'; index: number }
  | { op: 'header.value'; index: number; tweak: Tweak }
  | { op: 'body.replace'; body: Body }
  | { op: 'body.field'; index: number; tweak: Tweak }
  | { op: 'body.fieldName'; index: number; value: string }
  | { op: 'body.addField'; name: string; value: string }
  | { op: 'body.dropField'; index: number }
  | { op: 'json.at'; path: number[]; value: unknown }
  | { op: 'json.addKey'; path: number[]; name: string; value: unknown }
  | { op: 'json.text'; kind: 'truncate' | 'bom' | 'duplicate-key' | 'trailing-garbage' | 'comment'; at: number }
  | { op: 'body.deep'; depth: number; kind: 'array' | 'object' }
  | { op: 'body.huge'; bytes: number }
  | { op: 'body.charset'; charset: string }
  | { op: 'from.fresh' }
  | { op: 'raw'; kind: RawKind };

/** A change to a valid value: it stays close to what the server expects. */
export type Tweak =
  | { kind: 'replace'; value: string }
  | { kind: 'truncate'; at: number }
  | { kind: 'append'; value: string }
  | { kind: 'prefix'; value: string }
  | { kind: 'flip-case' }
  | { kind: 'change-char'; at: number; char: string }
  | { kind: 'repeat'; times: number }
  | { kind: 'empty' };

export function applyTweak(value: string, tweak: Tweak): string {
  switch (tweak.kind) {
    case 'replace':
      return tweak.value;
    case 'truncate':
      return value.slice(0, Math.floor(value.length * tweak.at));
    case 'append':
      return value + tweak.value;
    case 'prefix':
      return tweak.value + value;
    case 'flip-case':
      return [...value].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
    case 'change-char': {
      if (value.length === 0) return tweak.char;
      const at = Math.floor(value.length * tweak.at) % value.length;
      return value.slice(0, at) + tweak.char + value.slice(at + 1);
    }
    case 'repeat':
      return value.repeat(tweak.times);
    case 'empty':
      return '';
  }
}

// ---- values ----------------------------------------------------------------------------------

/** Strings that have broken parsers before: encodings, injections, prototype names, odd Unicode. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '0',
  '-1',
  '1e309',
  'NaN',
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  '__proto__[polluted]',
  'constructor[prototype][polluted]',
  '%',
  '%00',
  '%0d%0aSet-Cookie:%20x=1',
  '%E0%A4%A',
  '%C0%AF',
  '%uD800',
  '%25',
  '+',
  '../../../../etc/passwd',
  '..%2F..%2F',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "' OR '1'='1",
  ['$', '{jndi:ldap://127.0.0.1/x}'].join(''),
  '{{7*7}}',
  '\u0000',
  '\r\n',
  '\t',
  '\u001b[2J\u001b]0;title\u0007',
  '\u007f',
  '\u212Aelvin',
  'İstanbul',
  'ß',
  '\u202Eevil',
  '\u200B',
  '\uFEFF',
  '\uD800',
  '\uDFFF',
  '😀',
  'ｆｕｌｌ',
  'a@b@c.example',
  'VICTIM@\u212Aiwi.example',
  'javascript:alert(1)',
  'http://evil.example/',
  '//evil.example',
  'Bearer ',
  'Basic Og==',
  'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
  'sk-1234',
  'cli-',
  'cli-AAAAAAAAAAAA',
  `cli-${'A'.repeat(124)}`,
  `cli-${'A'.repeat(125)}`,
  'litellm-session-token:',
  'litellm-cli',
];

/** Sizes that sit on the usual limits (16 KB forms, 1 MB JSON, 16 KB headers) and beyond. */
const HUGE_SIZES = [1025, 8 * 1024, 16 * 1024 + 1, 64 * 1024];

const controlChar = fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c));

export const junkString: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 3, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.array(controlChar, { minLength: 1, maxLength: 4 }).map((a) => `x${a.join('')}y`) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom(...HUGE_SIZES), fc.constantFrom('a', 'é', '%', '\u0000', '😀'))
      .map(([n, c]) => c.repeat(Math.ceil(n / c.length))),
  },
);

/** Any JSON-ish value, including deep, wide, prototype-named and numerically odd ones. */
export const junkJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: junkString },
  {
    weight: 2,
    arbitrary: fc.constantFrom(0, -1, 1.5, 1e308, -0, Number.MAX_SAFE_INTEGER + 2, 2 ** 31, true, false, null),
  },
  { weight: 1, arbitrary: fc.array(junkString, { maxLength: 4 }) },
  {
    weight: 1,
    arbitrary: fc.dictionary(fc.constantFrom('a', 'b', '__proto__', 'constructor', 'toString', ''), junkString, {
      maxKeys: 3,
    }),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

export const prototypeName = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'isPrototypeOf',
);

export const tweak: fc.Arbitrary<Tweak> = fc.oneof(
  { weight: 4, arbitrary: junkString.map((value) => ({ kind: 'replace' as const, value })) },
  { weight: 2, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map((at) => ({ kind: 'truncate' as const, at })) },
  { weight: 2, arbitrary: junkString.map((value) => ({ kind: 'append' as const, value })) },
  { weight: 1, arbitrary: junkString.map((value) => ({ kind: 'prefix' as const, value })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flip-case' as const }) },
  {
    weight: 2,
    arbitrary: fc
      .record({
        at: fc.double({ min: 0, max: 1, noNaN: true }),
        char: fc.oneof(fc.string({ minLength: 1, maxLength: 1 }), fc.constantFrom('%', '/', '\u0000', 'é', '😀', ' ')),
      })
      .map(({ at, char }) => ({ kind: 'change-char' as const, at, char })),
  },
  { weight: 1, arbitrary: fc.integer({ min: 2, max: 200 }).map((times) => ({ kind: 'repeat' as const, times })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
);

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'get', 'FOO'];

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/json; charset=klingon',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=utf-16',
  'multipart/form-data; boundary=x',
  'multipart/form-data',
  'text/plain',
  'text/html',
  'application/xml',
  '*/*',
  'application/jwt',
  '',
  ';',
  'application/json, text/plain',
  'x/y; charset=',
];

/** Values worth trying for the headers every endpoint reads or might read. */
export const HEADER_VALUES: Record<string, fc.Arbitrary<string>> = {
  'content-type': fc.oneof(fc.constantFrom(...CONTENT_TYPES), junkString),
  cookie: fc.oneof(
    fc.constantFrom(
      '__proto__=1',
      'constructor=x; toString=y',
      'a=%E0%A4%A',
      '=',
      ';;;',
      'litellm_ui_session=',
      'litellm_ui_session=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
      'litellm_ui_login_state=x; litellm_ui_login_state=y',
      '_interaction=x; _interaction.sig=y',
      `big=${'x'.repeat(8000)}`,
    ),
    junkString.map((v) => `litellm_ui_session=${v}`),
    junkString,
  ),
  authorization: fc.oneof(
    fc.constantFrom(
      'Bearer',
      'Bearer ',
      'bearer x',
      'Bearer a b',
      'Basic',
      'Basic %%%',
      'Basic Og==',
      'Basic bGl0ZWxsbS1jbGktdGVzdDo=',
      'Negotiate x',
      'Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhZG1pbiIsImV4cCI6OTk5OTk5OTk5OX0.',
      'Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA',
      'Bearer eyJ.eyJ.x',
      `Bearer ${'A'.repeat(9000)}`,
    ),
    junkString.map((v) => `Bearer ${v}`),
    junkString,
  ),
  origin: fc.oneof(fc.constantFrom('null', 'http://evil.example', 'https://127.0.0.1', 'file://'), junkString),
  host: fc.oneof(
    fc.constantFrom(
      'evil.example',
      'evil.example:80',
      '127.0.0.1:1',
      '[::1]',
      'localhost',
      '',
      'a b',
      'evil.example/path?x=',
      'user@evil.example',
      `${'h'.repeat(300)}.example`,
    ),
    junkString,
  ),
  'x-forwarded-for': fc.constantFrom('1.2.3.4', '::1, 10.0.0.1', 'junk', ''),
  'x-forwarded-host': fc.constantFrom('evil.example', ''),
  'x-forwarded-proto': fc.constantFrom('https', 'gopher', ''),
  accept: fc.constantFrom('application/json', 'text/html', '*/*', '', 'application/xml;q=0.9, */*;q=0.1'),
  'accept-encoding': fc.constantFrom('gzip', 'br', 'identity;q=0', 'x'),
  'accept-language': fc.constantFrom('de', '*', ''),
  'content-encoding': fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'x'),
  'content-length': fc.constantFrom('0', '-1', 'abc'),
  'transfer-encoding': fc.constantFrom('chunked', 'gzip'),
  connection: fc.constantFrom('close', 'keep-alive', 'upgrade'),
  upgrade: fc.constantFrom('websocket', 'h2c'),
  expect: fc.constantFrom('100-continue', 'junk'),
  range: fc.constantFrom('bytes=0-1', 'bytes=x'),
  'if-none-match': fc.constantFrom('*', '"x"'),
  prefer: fc.constantFrom('wait=1', 'wait=0', 'wait=abc', 'wait=-1', 'respond-async', 'wait', 'wait="1"', ';;,,'),
  'x-litellm-cli-poll-secret': junkString,
  'x-http-method-override': fc.constantFrom('DELETE', 'PUT'),
};

const COMMON_HEADERS = Object.keys(HEADER_VALUES);

function headerValue(name: string): fc.Arbitrary<string> {
  return Object.hasOwn(HEADER_VALUES, name) ? HEADER_VALUES[name]! : junkString;
}

/** One mutation, its names drawn from the endpoint's vocabulary. */
export function mutation(vocab: Vocabulary): fc.Arbitrary<Mutation> {
  const queryName = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...(vocab.query.length ? vocab.query : ['x'])) },
    { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'x[y]', 'a.b', '', '%', 'key[]', 'KEY') },
    { weight: 1, arbitrary: junkString },
  );
  const headerName = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...vocab.headers, 'content-type', 'cookie', 'authorization') },
    { weight: 3, arbitrary: fc.constantFrom(...COMMON_HEADERS) },
    { weight: 1, arbitrary: fc.constantFrom('X-Custom', '__proto__', 'constructor', 'Content-Type', 'AUTHORIZATION') },
  );
  const fieldName = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...(vocab.fields.length ? vocab.fields : ['x'])) },
    { weight: 1, arbitrary: prototypeName },
    { weight: 1, arbitrary: junkString },
  );
  const index = fc.nat({ max: 15 });
  const jsonPath = fc.array(fc.nat({ max: 7 }), { maxLength: 3 });
  const anyBody: fc.Arbitrary<Body> = fc.oneof(
    fc.constant<Body>({ kind: 'none' }),
    junkString.map<Body>((text) => ({ kind: 'text', text })),
    junkJson.map<Body>((value) => ({ kind: 'json', value })),
    fc.array(fc.tuple(fieldName, junkString), { maxLength: 4 }).map<Body>((fields) => ({ kind: 'form', fields })),
    fc.uint8Array({ maxLength: 64 }).map<Body>((b) => ({ kind: 'bytes', hex: Buffer.from(b).toString('hex') })),
  );
  return fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...METHODS).map((value) => ({ op: 'method' as const, value })) },
    {
      weight: 3,
      arbitrary: fc
        .record({
          index,
          value: fc.oneof(fc.constantFrom(...vocab.segments, '..', '.', '', '%2e%2e', ';x', 'a%00b'), junkString),
          encode: fc.boolean(),
        })
        .map((m) => ({ op: 'path.segment' as const, ...m })),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.constantFrom(...vocab.segments, 'x', '..', '%2F', ''), junkString)
        .map((value) => ({ op: 'path.append' as const, value })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('double-slash', 'trailing-slash', 'dot-segment', 'upper-case', 'encoded-slash')
        .map((kind) => ({ op: 'path.shape' as const, kind })),
    },
    {
      weight: 3,
      arbitrary: fc.record({ name: queryName, value: junkString }).map((m) => ({ op: 'query.set' as const, ...m })),
    },
    {
      weight: 2,
      arbitrary: fc.record({ name: queryName, value: junkString }).map((m) => ({ op: 'query.add' as const, ...m })),
    },
    { weight: 2, arbitrary: index.map((i) => ({ op: 'query.drop' as const, index: i })) },
    { weight: 4, arbitrary: fc.record({ index, tweak }).map((m) => ({ op: 'query.value' as const, ...m })) },
    {
      weight: 1,
      arbitrary: fc.record({ index, value: queryName }).map((m) => ({ op: 'query.name' as const, ...m })),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          fc.constantFrom('&&&', '=&=', 'a=1&a', '%', '%zz=1', 'x=%E0%A4%A', '&key', '#frag', '?', 'a[b][c]=1'),
          junkString,
        )
        .map((text) => ({ op: 'query.raw' as const, text })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(100, 1000, 5000).map((count) => ({ op: 'query.many' as const, count })),
    },
    {
      weight: 4,
      arbitrary: headerName.chain((name) =>
        headerValue(name.toLowerCase()).map((value) => ({ op: 'header.set' as const, name, value })),
      ),
    },
    {
      weight: 1,
      arbitrary: headerName.chain((name) =>
        headerValue(name.toLowerCase()).map((value) => ({ op: 'header.add' as const, name, value })),
      ),
    },
    { weight: 2, arbitrary: index.map((i) => ({ op: 'header.drop' as const, index: i })) },
    { weight: 3, arbitrary: fc.record({ index, tweak }).map((m) => ({ op: 'header.value' as const, ...m })) },
    { weight: 2, arbitrary: anyBody.map((body) => ({ op: 'body.replace' as const, body })) },
    { weight: 4, arbitrary: fc.record({ index, tweak }).map((m) => ({ op: 'body.field' as const, ...m })) },
    {
      weight: 1,
      arbitrary: fc.record({ index, value: fieldName }).map((m) => ({ op: 'body.fieldName' as const, ...m })),
    },
    {
      weight: 2,
      arbitrary: fc.record({ name: fieldName, value: junkString }).map((m) => ({ op: 'body.addField' as const, ...m })),
    },
    { weight: 2, arbitrary: index.map((i) => ({ op: 'body.dropField' as const, index: i })) },
    {
      weight: 3,
      arbitrary: fc.record({ path: jsonPath, value: junkJson }).map((m) => ({ op: 'json.at' as const, ...m })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record({ path: jsonPath, name: fc.oneof(prototypeName, fieldName), value: junkJson })
        .map((m) => ({ op: 'json.addKey' as const, ...m })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({
          kind: fc.constantFrom('truncate', 'bom', 'duplicate-key', 'trailing-garbage', 'comment'),
          at: fc.double({ min: 0, max: 1, noNaN: true }),
        })
        .map((m) => ({ op: 'json.text' as const, ...m })),
    },
    {
      weight: 1,
      arbitrary: fc
        .record({ depth: fc.constantFrom(64, 1000, 20_000, 100_000), kind: fc.constantFrom('array', 'object') })
        .map((m) => ({ op: 'body.deep' as const, ...m })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(16 * 1024 + 1, 100 * 1024, 1024 * 1024 + 1)
        .map((bytes) => ({ op: 'body.huge' as const, bytes })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('utf-8', 'latin1', 'utf-16le', 'klingon', 'UTF-8', '')
        .map((charset) => ({ op: 'body.charset' as const, charset })),
    },
    { weight: 1, arbitrary: fc.constant({ op: 'from.fresh' as const }) },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_KINDS).map((kind) => ({ op: 'raw' as const, kind })) },
  );
}

export function mutations(vocab: Vocabulary, maxLength = 4): fc.Arbitrary<Mutation[]> {
  return fc.oneof(
    // A valid request now and then: the endpoint must still work after everything before it.
    { weight: 1, arbitrary: fc.constant<Mutation[]>([]) },
    { weight: 12, arbitrary: fc.array(mutation(vocab), { minLength: 1, maxLength }) },
  );
}

// ---- applying mutations ------------------------------------------------------------------------

function at<T>(list: readonly T[], index: number): number | undefined {
  return list.length === 0 ? undefined : index % list.length;
}

/** Own property even for `__proto__`, so JSON.stringify writes it. */
function setOwn(target: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}

function descend(root: unknown, path: readonly number[]): { parent: unknown; key: string | number } | undefined {
  let node = root;
  let found: { parent: unknown; key: string | number } | undefined;
  for (const step of path) {
    if (Array.isArray(node) && node.length > 0) {
      const key = step % node.length;
      found = { parent: node, key };
      node = node[key];
    } else if (typeof node === 'object' && node !== null && Object.keys(node).length > 0) {
      const keys = Object.keys(node);
      const key = keys[step % keys.length]!;
      found = { parent: node, key };
      node = (node as Record<string, unknown>)[key];
    } else break;
  }
  return found;
}

export function applyMutations(base: RequestSpec, list: readonly Mutation[]): RequestSpec {
  const spec: RequestSpec = structuredClone(base);
  for (const m of list) applyMutation(spec, m);
  return spec;
}

function segmentsOf(path: string): string[] {
  return path.split('/').slice(1);
}

function applyMutation(spec: RequestSpec, m: Mutation): void {
  switch (m.op) {
    case 'method':
      spec.method = m.value;
      return;
    case 'path.segment': {
      const segments = segmentsOf(spec.path);
      const i = at(segments, m.index);
      if (i === undefined) return;
      segments[i] = m.encode ? encodeComponent(m.value) : m.value;
      spec.path = `/${segments.join('/')}`;
      return;
    }
    case 'path.append':
      spec.path = `${spec.path.replace(/\/$/, '')}/${encodeComponent(m.value)}`;
      return;
    case 'path.shape':
      spec.path =
        m.kind === 'double-slash'
          ? `/${spec.path}`.replace(/\/([^/]+)\//, '/$1//')
          : m.kind === 'trailing-slash'
            ? `${spec.path}/`
            : m.kind === 'dot-segment'
              ? `/x/..${spec.path}`
              : m.kind === 'upper-case'
                ? spec.path.toUpperCase()
                : spec.path.replace(/\/([^/]*)$/, '%2F$1');
      return;
    case 'query.set': {
      const existing = spec.query.findIndex(([n]) => n === m.name);
      if (existing >= 0) spec.query[existing] = [m.name, m.value];
      else spec.query.push([m.name, m.value]);
      return;
    }
    case 'query.add':
      spec.query.push([m.name, m.value]);
      return;
    case 'query.drop': {
      const i = at(spec.query, m.index);
      if (i !== undefined) spec.query.splice(i, 1);
      return;
    }
    case 'query.value': {
      const i = at(spec.query, m.index);
      if (i !== undefined) spec.query[i] = [spec.query[i]![0], applyTweak(spec.query[i]![1], m.tweak)];
      return;
    }
    case 'query.name': {
      const i = at(spec.query, m.index);
      if (i !== undefined) spec.query[i] = [m.value, spec.query[i]![1]];
      return;
    }
    case 'query.raw':
      spec.rawQuery = `${spec.rawQuery ?? ''}${m.text}`;
      return;
    case 'query.many':
      for (let i = 0; i < m.count; i++) spec.query.push([`p${i}`, String(i)]);
      return;
    case 'header.set': {
      const lower = m.name.toLowerCase();
      spec.headers = spec.headers.filter(([n]) => n.toLowerCase() !== lower);
      spec.headers.push([m.name, m.value]);
      return;
    }
    case 'header.add':
      spec.headers.push([m.name, m.value]);
      return;
    case 'header.drop': {
      const i = at(spec.headers, m.index);
      if (i !== undefined) spec.headers.splice(i, 1);
      return;
    }
    case 'header.value': {
      const i = at(spec.headers, m.index);
      if (i !== undefined) spec.headers[i] = [spec.headers[i]![0], applyTweak(spec.headers[i]![1], m.tweak)];
      return;
    }
    case 'body.replace':
      spec.body = structuredClone(m.body);
      return;
    case 'body.field':
      tweakField(spec, m.index, m.tweak);
      return;
    case 'body.fieldName':
      renameField(spec, m.index, m.value);
      return;
    case 'body.addField':
      if (spec.body.kind === 'form') spec.body.fields.push([m.name, m.value]);
      else if (spec.body.kind === 'json' && isRecord(spec.body.value)) setOwn(spec.body.value, m.name, m.value);
      else if (spec.body.kind === 'none') spec.body = { kind: 'form', fields: [[m.name, m.value]] };
      return;
    case 'body.dropField':
      if (spec.body.kind === 'form') {
        const i = at(spec.body.fields, m.index);
        if (i !== undefined) spec.body.fields.splice(i, 1);
      } else if (spec.body.kind === 'json' && isRecord(spec.body.value)) {
        const keys = Object.keys(spec.body.value);
        const i = at(keys, m.index);
        if (i !== undefined) delete spec.body.value[keys[i]!];
      }
      return;
    case 'json.at': {
      if (spec.body.kind !== 'json') return;
      const found = descend(spec.body.value, m.path);
      if (!found) spec.body.value = structuredClone(m.value);
      else if (Array.isArray(found.parent)) found.parent[found.key as number] = structuredClone(m.value);
      else setOwn(found.parent as Record<string, unknown>, String(found.key), structuredClone(m.value));
      return;
    }
    case 'json.addKey': {
      if (spec.body.kind !== 'json') return;
      const found = descend(spec.body.value, m.path);
      const target = found ? (found.parent as Record<string, unknown>)[found.key as string] : spec.body.value;
      if (isRecord(target)) setOwn(target, m.name, structuredClone(m.value));
      else if (isRecord(spec.body.value)) setOwn(spec.body.value, m.name, structuredClone(m.value));
      return;
    }
    case 'json.text': {
      const text = bodyText(spec.body);
      if (text === undefined) return;
      const cut = Math.floor(text.length * m.at);
      spec.body = {
        kind: 'text',
        text:
          m.kind === 'truncate'
            ? text.slice(0, cut)
            : m.kind === 'bom'
              ? `\uFEFF${text}`
              : m.kind === 'duplicate-key'
                ? text.replace(/^\{/, '{"__proto__":{"polluted":true},"a":1,"a":2,')
                : m.kind === 'trailing-garbage'
                  ? `${text}}}]]garbage`
                  : `/* comment */${text}`,
      };
      return;
    }
    case 'body.deep': {
      const open = m.kind === 'array' ? '[' : '{"a":';
      const close = m.kind === 'array' ? ']' : '}';
      spec.body = { kind: 'text', text: `${open.repeat(m.depth)}1${close.repeat(m.depth)}` };
      return;
    }
    case 'body.huge': {
      const text = bodyText(spec.body) ?? '';
      const filler = 'A'.repeat(Math.max(0, m.bytes - text.length));
      spec.body =
        spec.body.kind === 'json' && isRecord(spec.body.value)
          ? { kind: 'json', value: { ...spec.body.value, filler } }
          : spec.body.kind === 'form'
            ? { kind: 'form', fields: [...spec.body.fields, ['filler', filler]] }
            : { kind: 'text', text: text + filler };
      return;
    }
    case 'body.charset': {
      const i = spec.headers.findIndex(([n]) => n.toLowerCase() === 'content-type');
      const type = i >= 0 ? spec.headers[i]![1].split(';')[0] : 'application/json';
      const value = `${type}; charset=${m.charset}`;
      if (i >= 0) spec.headers[i] = [spec.headers[i]![0], value];
      else spec.headers.push(['content-type', value]);
      return;
    }
    case 'from.fresh':
      spec.from = 'fresh';
      return;
    case 'raw':
      spec.raw = m.kind;
      return;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function tweakField(spec: RequestSpec, index: number, t: Tweak): void {
  if (spec.body.kind === 'form') {
    const i = at(spec.body.fields, index);
    if (i !== undefined) spec.body.fields[i] = [spec.body.fields[i]![0], applyTweak(spec.body.fields[i]![1], t)];
  } else if (spec.body.kind === 'json' && isRecord(spec.body.value)) {
    const keys = Object.keys(spec.body.value);
    const i = at(keys, index);
    if (i === undefined) return;
    const key = keys[i]!;
    const old = spec.body.value[key];
    setOwn(spec.body.value, key, applyTweak(typeof old === 'string' ? old : (JSON.stringify(old) ?? ''), t));
  } else if (spec.body.kind === 'text') {
    spec.body.text = applyTweak(spec.body.text, t);
  }
}

function renameField(spec: RequestSpec, index: number, name: string): void {
  if (spec.body.kind === 'form') {
    const i = at(spec.body.fields, index);
    if (i !== undefined) spec.body.fields[i] = [name, spec.body.fields[i]![1]];
  } else if (spec.body.kind === 'json' && isRecord(spec.body.value)) {
    const keys = Object.keys(spec.body.value);
    const i = at(keys, index);
    if (i === undefined) return;
    const value = spec.body.value[keys[i]!];
    delete spec.body.value[keys[i]!];
    setOwn(spec.body.value, name, value);
  }
}

// ---- to the wire -------------------------------------------------------------------------------

/** Percent-encode the UTF-8 bytes of any string (lone surrogates go as U+FFFD, as a browser sends). */
export function encodeComponent(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    // a lone surrogate: encode its UTF-8 replacement bytes by hand, below
  }
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function bodyText(body: Body): string | undefined {
  switch (body.kind) {
    case 'none':
      return undefined;
    case 'form':
      return body.fields.map(([n, v]) => `${encodeComponent(n)}=${encodeComponent(v)}`).join('&');
    case 'json':
      return JSON.stringify(body.value) ?? 'null';
    case 'text':
      return body.text;
    case 'bytes':
      return Buffer.from(body.hex, 'hex').toString('latin1');
  }
}

function bodyBytes(body: Body): Buffer | undefined {
  if (body.kind === 'bytes') return Buffer.from(body.hex, 'hex');
  const text = bodyText(body);
  return text === undefined ? undefined : Buffer.from(text, 'utf8');
}

export function targetOf(spec: RequestSpec): string {
  const pairs = spec.query.map(([n, v]) => `${encodeComponent(n)}=${encodeComponent(v)}`);
  if (spec.rawQuery !== undefined) pairs.push(spec.rawQuery);
  return pairs.length === 0 ? spec.path : `${spec.path}?${pairs.join('&')}`;
}

/** The request on the wire; `fresh` is the client address to use for `from: 'fresh'`. */
export function toWire(spec: RequestSpec, host: string, fresh: () => string): WireRequest {
  const from = spec.from === 'fresh' ? fresh() : undefined;
  const body = bodyBytes(spec.body);
  const request: WireRequest = { method: spec.method, target: targetOf(spec), headers: spec.headers, body, from };
  if (spec.raw !== undefined) return { ...request, raw: rawBytes(request, host, spec.raw) };
  // Framing headers set by a mutation would desynchronise a kept-alive connection: those go raw.
  if (spec.headers.some(([n]) => FRAMING_HEADERS.has(n.toLowerCase()))) {
    return { ...request, raw: toRawBytes(request, host) };
  }
  return request;
}

const FRAMING_HEADERS = new Set(['content-length', 'transfer-encoding', 'connection', 'upgrade', 'expect']);

function rawBytes(request: WireRequest, host: string, kind: RawKind): Buffer {
  const target = asLatin1(request.target);
  const headers = request.headers.map(([n, v]) => [n, asLatin1(v)] as [string, string]);
  const body = request.body ?? Buffer.alloc(0);
  let line = `${request.method} ${target} HTTP/1.1`;
  const ownHosts = headers.filter(([n]) => n.toLowerCase() === 'host').map(([n, v]) => `${n}: ${v}`);
  let hostLines = ownHosts.length > 0 ? ownHosts : [`Host: ${host}`];
  let framing = body.length > 0 ? [`Content-Length: ${body.length}`] : [];
  let eol = '\r\n';
  let payload = body;
  const extra: string[] = [];
  switch (kind) {
    case 'bare-lf':
      eol = '\n';
      break;
    case 'obs-fold':
      extra.push('X-Folded: first', ' second');
      break;
    case 'ctl-in-header':
      extra.push('X-Ctl: a\u0001b\u007fc');
      break;
    case 'nul-in-target':
      line = `${request.method} ${target}\u0000x HTTP/1.1`;
      break;
    case 'space-in-target':
      line = `${request.method} ${target} x HTTP/1.1`;
      break;
    case 'http10':
      line = `${request.method} ${target} HTTP/1.0`;
      break;
    case 'http2-version':
      line = `${request.method} ${target} HTTP/2.0`;
      break;
    case 'absolute-target':
      line = `${request.method} http://evil.example${target} HTTP/1.1`;
      break;
    case 'asterisk-target':
      line = `${request.method} * HTTP/1.1`;
      break;
    case 'lowercase-method':
      line = `${request.method.toLowerCase()} ${target} HTTP/1.1`;
      break;
    case 'no-host':
      hostLines = [];
      break;
    case 'two-hosts':
      hostLines = [`Host: ${host}`, 'Host: evil.example'];
      break;
    case 'dup-content-length':
      framing = [`Content-Length: ${body.length}`, `Content-Length: ${body.length + 1}`];
      break;
    case 'cl-and-te':
      framing = [`Content-Length: ${body.length}`, 'Transfer-Encoding: chunked'];
      payload = Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
      break;
    case 'te-chunked-bad':
      framing = ['Transfer-Encoding: chunked'];
      payload = Buffer.concat([Buffer.from('zz\r\n'), body, Buffer.from('\r\n0\r\n\r\n')]);
      break;
    case 'header-no-colon':
      extra.push('NoColonHere');
      break;
    case 'huge-header':
      extra.push(`X-Huge: ${'h'.repeat(20_000)}`);
      break;
    case 'many-headers':
      for (let i = 0; i < 3000; i++) extra.push(`X-H${i}: ${i}`);
      break;
    case 'pipelined':
      payload = Buffer.concat([body, Buffer.from(`GET /x HTTP/1.1${eol}Host: ${host}${eol}${eol}`)]);
      break;
    case 'utf8-in-header-name':
      extra.push(`X-Ünï: 1`);
      break;
  }
  const lines = [
    line,
    ...hostLines,
    ...headers
      .filter(([n]) => !/^(host|content-length|transfer-encoding|connection)$/i.test(n))
      .map(([n, v]) => `${n}: ${v}`),
    ...framing,
    ...extra,
    'Connection: close',
  ];
  return Buffer.concat([Buffer.from(`${lines.join(eol)}${eol}${eol}`, 'latin1'), payload]);
}

/** A short, printable description of a request, for reports (bodies cut, secrets left to redaction). */
export function describeRequest(spec: RequestSpec, maxBody = 300): Record<string, unknown> {
  const text = bodyText(spec.body);
  return {
    method: spec.method,
    target: cut(targetOf(spec), 600),
    headers: spec.headers.map(([n, v]) => `${n}: ${cut(v, 200)}`),
    ...(text !== undefined ? { body: cut(text, maxBody), body_bytes: Buffer.byteLength(text) } : {}),
    ...(spec.from ? { from: spec.from } : {}),
    ...(spec.raw ? { raw: spec.raw } : {}),
  };
}

export function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}... (${text.length} chars)` : text;
}
