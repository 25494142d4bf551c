/**
 * The build that holds every mutant must behave, for each mutant switched on, exactly as the source
 * with that one mutant written into it, and as the original with none; its probes must mark a mutant
 * reached exactly when the code around it ran.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createContext, runInContext } from 'node:vm';
import { transformSync } from 'esbuild';
import { ACTIVE, applyMutant, instrument, PROBE } from './instrument.ts';
import { mutantsOf } from './operators.ts';

/** Small functions with every construct the operators touch, including nesting and optional chains. */
const SOURCE = `
const LIMIT = 3;
const PATTERN = /^ab{2,4}$/;
export function decide(n: number, text: string | undefined, flags: { on?: boolean } | undefined): unknown {
  const words = (text ?? '').trim().split(' ').filter((w) => w.length > 0);
  let count = 0;
  for (let i = 0; i < words.length; i++) count++;
  if (n >= LIMIT && flags?.on === true) {
    return { kind: 'big', n: n * 2 - 1, count, first: words[0]?.toLowerCase() };
  }
  switch (n) {
    case 1:
      return !flags?.on ? 'one-off' : 'one-on';
    default:
      break;
  }
  const ok = PATTERN.test(text ?? '') || text?.startsWith('x') === true;
  const pick = (values: number[]) => Math.max(...values) % 5;
  return { ok, pick: pick([n, count, 2]), some: words.some((w) => w === 'a'), half: n / 2 };
}
`;

const INPUTS: Array<[number, string | undefined, { on?: boolean } | undefined]> = [
  [0, undefined, undefined],
  [1, 'a b', { on: false }],
  [1, 'abb', { on: true }],
  [3, ' Hello a ', { on: true }],
  [4, 'xyz', {}],
  [5, 'abbbb', { on: false }],
];

type Decide = (...args: (typeof INPUTS)[number]) => unknown;

/**
 * Loads TypeScript source as a module in a context of its own; `active` is the mutant switched on.
 * Calls run with a time limit: a mutant may loop for ever (`i++` turned into `i--`).
 */
function load(source: string, active: number, hits: Set<number>, timeoutMs = 100): Decide {
  const js = transformSync(source, { loader: 'ts', format: 'cjs' }).code;
  const probe = (...ids: number[]) => {
    for (const id of ids) hits.add(id);
  };
  const context = createContext({ [ACTIVE]: active, [PROBE]: probe, module: { exports: {} }, Math, JSON });
  runInContext(js, context);
  return (...args) => {
    context.args = args;
    return runInContext('module.exports.decide(...args)', context, { timeout: timeoutMs });
  };
}

function outputOf(decide: Decide, input: (typeof INPUTS)[number]): string {
  try {
    return JSON.stringify(decide(...input));
  } catch (error) {
    // Errors from the module's own context are not instances of this realm's Error.
    return `throws ${String((error as { code?: string; name?: string }).code ?? (error as Error).name)}`;
  }
}

function outputs(decide: Decide): string[] {
  return INPUTS.map((input) => outputOf(decide, input));
}

const TIMED_OUT = 'throws ERR_SCRIPT_EXECUTION_TIMEOUT';

/**
 * 100 ms tells a loop that never ends from one that does on a quiet machine; on a loaded one a
 * process descheduled for longer times out a call that would have returned. Where only one side
 * timed out, that side's call is run again with 5 s before the two are compared: a real endless
 * loop then costs 5 s, and only when the two sides disagree.
 */
function confirmTimeouts(mine: string[], theirs: readonly string[], slow: () => Decide): string[] {
  return mine.map((output, i) =>
    output === TIMED_OUT && theirs[i] !== TIMED_OUT ? outputOf(slow(), INPUTS[i] as (typeof INPUTS)[number]) : output,
  );
}

const { mutants } = mutantsOf('decide.ts', SOURCE);
const numbered = mutants.map((mutant, id) => ({ ...mutant, id }));
const built = instrument(SOURCE, numbered);

test('the snippet gets mutants of every operator it can', () => {
  const operators = new Set(mutants.map((m) => m.operator));
  for (const expected of [
    'EqualityOperator',
    'BoundaryOperator',
    'LogicalOperator',
    'ConditionalExpression',
    'BooleanLiteral',
    'BlockStatement',
    'ArithmeticOperator',
    'MethodExpression',
    'Regex',
    'NumericLiteral',
    'ObjectProperty',
    'UpdateOperator',
  ]) {
    assert.ok(operators.has(expected as never), `no ${expected} mutant`);
  }
});

test('with no mutant on, the build answers as the original', () => {
  assert.deepEqual(outputs(load(built, -1, new Set())), outputs(load(SOURCE, -1, new Set())));
});

test('with one mutant on, the build answers as the source with that mutant written in', () => {
  let differs = 0;
  for (const mutant of numbered) {
    const written = applyMutant(SOURCE, mutant);
    const expectedFirst = outputs(load(written, -1, new Set()));
    const actualFirst = outputs(load(built, mutant.id, new Set()));
    const expected = confirmTimeouts(expectedFirst, actualFirst, () => load(written, -1, new Set(), 5000));
    const actual = confirmTimeouts(actualFirst, expectedFirst, () => load(built, mutant.id, new Set(), 5000));
    assert.deepEqual(actual, expected, `mutant ${mutant.id} (${mutant.operator} ${mutant.description})`);
    if (JSON.stringify(expected) !== JSON.stringify(outputs(load(SOURCE, -1, new Set())))) differs += 1;
  }
  // Most mutants change an answer for these inputs: the snippet is a fair test of the switches.
  assert.ok(differs > numbered.length / 2, `only ${differs} of ${numbered.length} mutants change an answer`);
});

test('probes mark a mutant reached only when the code around it ran', () => {
  const hits = new Set<number>();
  load(built, -1, hits)(0, undefined, undefined);
  const caseOne = numbered.filter((m) => m.description.includes("'one-off'") || m.description.includes('!flags?.on'));
  assert.ok(caseOne.length > 0);
  for (const m of caseOne) assert.ok(!hits.has(m.id), `mutant ${m.id} in "case 1" marked reached for n = 0`);
  const big = numbered.filter((m) => m.description === '`kind` left out');
  assert.equal(big.length, 1);
  assert.ok(!hits.has(big[0]?.id ?? -1));
  load(built, -1, hits)(3, 'a', { on: true });
  assert.ok(hits.has(big[0]?.id ?? -1));
  for (const m of numbered.filter((m) => m.scope.kind === 'file'))
    assert.ok(hits.has(m.id), `module-level mutant ${m.id}`);
});
