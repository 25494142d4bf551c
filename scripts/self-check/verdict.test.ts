/**
 * Reading a run's Cucumber messages and judging a variant: only scenarios that passed on the
 * baselines count, a fault that never fired proves nothing, SHOULD-only catches are told apart.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessages, type ScenarioOutcome } from './scenario-results.ts';
import { judgeVariant, passedEverywhere } from './verdict.ts';

/** A messages stream with one pickle per entry; each entry's steps finish with the given statuses. */
function messages(scenarios: Array<{ name: string; tags: string[]; statuses: string[] }>): string {
  const lines: unknown[] = [{ meta: { protocolVersion: '32' } }];
  scenarios.forEach((s, i) => {
    lines.push({
      pickle: {
        id: `p${i}`,
        uri: 'features/x.feature',
        name: s.name,
        tags: s.tags.map((name) => ({ name })),
        steps: [],
      },
    });
    lines.push({ testCase: { id: `c${i}`, pickleId: `p${i}`, testSteps: [] } });
  });
  scenarios.forEach((s, i) => {
    lines.push({ testCaseStarted: { id: `s${i}`, testCaseId: `c${i}`, attempt: 0 } });
    for (const status of s.statuses) {
      lines.push({
        testStepFinished: {
          testCaseStartedId: `s${i}`,
          testStepId: 'x',
          testStepResult: { status, ...(status === 'FAILED' ? { message: 'expected 400\n  at stack' } : {}) },
        },
      });
    }
    lines.push({ testCaseFinished: { testCaseStartedId: `s${i}`, willBeRetried: false } });
  });
  return `${lines.map((l) => JSON.stringify(l)).join('\n')}\nnot json\n`;
}

const requirementIdsOf = (tags: readonly string[]) =>
  tags.flatMap((t) => /^@(CLISSO-[A-Z]+-\d{2})$/.exec(t)?.slice(1, 2) ?? []);
const isShould = (id: string) => id === 'CLISSO-SHOULD-01';

test('parses verdicts, tags and the first failure line; repeated names get their own keys', () => {
  const outcomes = parseMessages(
    messages([
      { name: 'ok', tags: ['@CLISSO-POLL-01'], statuses: ['PASSED', 'PASSED'] },
      { name: 'bad', tags: ['@CLISSO-POLL-04', '@smoke'], statuses: ['PASSED', 'FAILED', 'SKIPPED'] },
      { name: 'bad', tags: [], statuses: ['UNDEFINED'] },
      { name: 'skipped', tags: [], statuses: ['SKIPPED'] },
    ]),
  );
  assert.deepEqual(
    outcomes.map((o) => [o.key, o.verdict, o.message]),
    [
      ['features/x.feature :: ok #1', 'passed', undefined],
      ['features/x.feature :: bad #1', 'failed', 'expected 400'],
      ['features/x.feature :: bad #2', 'failed', undefined],
      ['features/x.feature :: skipped #1', 'skipped', undefined],
    ],
  );
  assert.deepEqual(outcomes[1]?.tags, ['@CLISSO-POLL-04', '@smoke']);
});

function outcome(key: string, verdict: ScenarioOutcome['verdict'], tags: string[] = []): ScenarioOutcome {
  return { key, name: key, uri: 'f', line: 1, tags, verdict, message: undefined, durationMs: 0 };
}

test('only scenarios that passed on every baseline are evidence', () => {
  const baselinePassed = passedEverywhere([
    [outcome('a', 'passed'), outcome('b', 'passed'), outcome('c', 'failed')],
    [outcome('a', 'passed'), outcome('b', 'failed'), outcome('c', 'failed')],
  ]);
  assert.deepEqual([...baselinePassed], ['a']);
  const verdict = judgeVariant({
    baselinePassed,
    outcomes: [outcome('a', 'passed'), outcome('b', 'failed', ['@CLISSO-POLL-04']), outcome('c', 'failed')],
    faultFirings: 3,
    requirementIdsOf,
    isShould,
  });
  assert.equal(verdict.status, 'not-caught');
});

test('a MUST scenario failing with the fault fired is a catch, listing its requirement IDs once', () => {
  const verdict = judgeVariant({
    baselinePassed: new Set(['a', 'b']),
    outcomes: [
      outcome('a', 'failed', ['@CLISSO-POLL-04', '@CLISSO-FLOW-01']),
      outcome('b', 'failed', ['@CLISSO-FLOW-01']),
    ],
    faultFirings: 1,
    requirementIdsOf,
    isShould,
  });
  assert.equal(verdict.status, 'caught');
  assert.deepEqual(verdict.requirementIds, ['CLISSO-FLOW-01', 'CLISSO-POLL-04']);
  assert.equal(verdict.caughtBy.length, 2);
});

test('failures without the fault firing are unproven; SHOULD-only failures only warn; no run is an error', () => {
  const base = { baselinePassed: new Set(['a']), requirementIdsOf, isShould };
  assert.equal(
    judgeVariant({ ...base, outcomes: [outcome('a', 'failed', ['@CLISSO-POLL-04'])], faultFirings: 0 }).status,
    'unproven',
  );
  assert.equal(
    judgeVariant({ ...base, outcomes: [outcome('a', 'failed', ['@CLISSO-SHOULD-01'])], faultFirings: 2 }).status,
    'warned',
  );
  assert.equal(judgeVariant({ ...base, outcomes: undefined, faultFirings: 2 }).status, 'error');
});
