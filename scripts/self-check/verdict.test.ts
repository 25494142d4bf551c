/**
 * Judging a variant: only scenarios that passed on the
 * baselines count, a fault that never fired proves nothing, SHOULD-only catches are told apart.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ScenarioResult } from '../../features/runner/scenario-results.ts';
import { judgeVariant, passedEverywhere } from './verdict.ts';

const requirementIdsOf = (tags: readonly string[]) =>
  tags.flatMap((t) => /^@(CLISSO-[A-Z]+-\d{2})$/.exec(t)?.slice(1, 2) ?? []);
const isShould = (id: string) => id === 'CLISSO-SHOULD-01';

function outcome(key: string, verdict: ScenarioResult['verdict'], tags: string[] = []): ScenarioResult {
  return { id: key, name: key, uri: 'f', tags, verdict, message: undefined, durationMs: 0 };
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
