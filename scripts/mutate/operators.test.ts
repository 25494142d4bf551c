import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mutantsOf, regexVariants } from './operators.ts';

const descriptions = (source: string) =>
  mutantsOf('x.ts', source).mutants.map((m) => `${m.operator}: ${m.description}`);

test('a limit gets its boundary and its negation, with the operands kept in parentheses', () => {
  const { mutants } = mutantsOf('x.ts', 'export const ok = (n: number) => n < 30;\n');
  const limit = mutants.filter((m) => m.operator === 'BoundaryOperator' || m.operator === 'EqualityOperator');
  assert.deepEqual(
    limit.map((m) => [m.operator, m.replacement]),
    [
      ['EqualityOperator', '(n) >= (30)'],
      ['BoundaryOperator', '(n) <= (30)'],
    ],
  );
  assert.ok(mutants.some((m) => m.operator === 'NumericLiteral' && m.description === '30 -> 31'));
});

test('log calls, types and imports give no mutants, and a block that only logs is not emptied', () => {
  const source = [
    "import { x } from './y.ts';",
    'type T = { a: 1 | 2 };',
    "export function f(logger: { info(...a: unknown[]): void }) { logger.info('event', { n: 1 + 2, ok: true }); }",
    "export function g(logger: { warn(...a: unknown[]): void }, n: number) { logger.warn('w'); return n; }",
  ].join('\n');
  assert.deepEqual(descriptions(source), ['BlockStatement: block of 1 line(s) emptied']);
});

test('a statement marked equivalent declares every mutant in it, however many lines it has, with the reason', () => {
  const source = [
    'export function f(n: number) {',
    '  // mutation-equivalent: the cache size is not observable',
    '  const size = 100;',
    '  // mutation-equivalent: only a race reaches this',
    '  if (n > size) {',
    '    return { big: true };',
    '  }',
    '  return n + size;',
    '}',
  ].join('\n');
  const { mutants } = mutantsOf('x.ts', source);
  assert.deepEqual(
    mutants.filter((m) => m.equivalent).map((m) => [m.line, m.description, m.equivalent]),
    [
      [3, '100 -> 101', 'the cache size is not observable'],
      [5, 'condition n > size -> true', 'only a race reaches this'],
      [5, 'condition n > size -> false', 'only a race reaches this'],
      [5, '> -> <=', 'only a race reaches this'],
      [5, '> -> >=', 'only a race reaches this'],
      [5, 'block of 3 line(s) emptied', 'only a race reaches this'],
      [6, '`big` left out', 'only a race reaches this'],
      [6, 'true -> false', 'only a race reaches this'],
    ],
  );
  assert.ok(mutants.filter((m) => !m.equivalent).every((m) => m.line === 1 || m.line === 8));
});

test('a field left out of an answer, but not of an options bag', () => {
  const source = [
    'export function answer(res: { json(b: unknown): void }) {',
    "  res.json({ login_id: 'a', expires_in: 600 });",
    '  return new Map([[1, { keep: true }]]);',
    '}',
    'const options = new Thing({ verbose: true });',
  ].join('\n');
  const fields = mutantsOf('x.ts', source).mutants.filter((m) => m.operator === 'ObjectProperty');
  assert.deepEqual(
    fields.map((m) => [m.description, m.replacement]),
    [
      ['`login_id` left out', '{ expires_in: 600 }'],
      ['`expires_in` left out', "{ login_id: 'a' }"],
    ],
  );
});

test('a switch inside an optional chain takes the whole chain', () => {
  const source = "export const f = (a?: { b: string }) => a?.b.startsWith('x').valueOf();";
  const swap = mutantsOf('x.ts', source).mutants.find((m) => m.operator === 'MethodExpression');
  assert.ok(swap);
  assert.equal(source.slice(swap.site.start, swap.site.end), "a?.b.startsWith('x').valueOf()");
});

test('names that only look like methods of ours are not swapped (toString is not in the table)', () => {
  assert.deepEqual(
    descriptions('export const f = (u: URL) => u.toString();').filter((d) => d.startsWith('Method')),
    [],
  );
});

test('regular expressions lose an anchor or move a bound by one', () => {
  assert.deepEqual(regexVariants('/^cli-[A-Za-z0-9_-]{12,124}$/'), [
    '/cli-[A-Za-z0-9_-]{12,124}$/',
    '/^cli-[A-Za-z0-9_-]{12,124}/',
    '/^cli-[A-Za-z0-9_-]{13,124}$/',
    '/^cli-[A-Za-z0-9_-]{12,123}$/',
  ]);
  assert.deepEqual(regexVariants('/a{4}/i'), ['/a{5}/i']);
  assert.deepEqual(regexVariants('/\\$$/'), ['/\\$/']);
});
