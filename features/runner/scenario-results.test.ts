/**
 * The one reducer of Cucumber's message stream: the same scenarios, verdicts and messages whether
 * the messages come live (the runner) or are read back from messages.ndjson (self-check, mutate).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Envelope } from '@cucumber/messages';
import { parseMessages, ScenarioResultReducer } from './scenario-results.ts';

interface Planned {
  name: string;
  tags: string[];
  statuses: string[];
  /** Each start of the scenario but the last is retried. */
  attempts?: number;
}

/** A feature of one Scenario per entry (line 10, 20, ...) and the messages of a run of it. */
function run(scenarios: Planned[]): unknown[] {
  const uri = 'features/x.feature';
  const lines: unknown[] = [
    { meta: { protocolVersion: '32' } },
    {
      gherkinDocument: {
        uri,
        feature: {
          children: scenarios.map((_, i) => ({
            scenario: { id: `a${i}`, location: { line: 10 * (i + 1) }, examples: [] },
          })),
        },
      },
    },
  ];
  scenarios.forEach((s, i) => {
    lines.push({
      pickle: {
        id: `p${i}`,
        uri,
        name: s.name,
        astNodeIds: [`a${i}`],
        tags: s.tags.map((name) => ({ name })),
        steps: [],
      },
    });
    lines.push({ testCase: { id: `c${i}`, pickleId: `p${i}`, testSteps: [] } });
  });
  scenarios.forEach((s, i) => {
    const attempts = s.attempts ?? 1;
    for (let a = 0; a < attempts; a += 1) {
      const started = `s${i}-${a}`;
      lines.push({
        testCaseStarted: { id: started, testCaseId: `c${i}`, attempt: a, timestamp: { seconds: 100, nanos: 0 } },
      });
      const statuses = a < attempts - 1 ? ['FAILED'] : s.statuses;
      for (const status of statuses) {
        lines.push({
          testStepFinished: {
            testCaseStartedId: started,
            testStepId: 'x',
            testStepResult: { status, ...(status === 'FAILED' ? { message: 'expected 400\n  at stack' } : {}) },
          },
        });
      }
      lines.push({
        testCaseFinished: {
          testCaseStartedId: started,
          willBeRetried: a < attempts - 1,
          timestamp: { seconds: 101, nanos: 500_000_000 },
        },
      });
    }
  });
  return lines;
}

const SCENARIOS: Planned[] = [
  { name: 'ok', tags: ['@CLISSO-POLL-01'], statuses: ['PASSED', 'PASSED'] },
  { name: 'bad', tags: ['@CLISSO-POLL-04', '@smoke'], statuses: ['PASSED', 'FAILED', 'SKIPPED'] },
  { name: 'bad', tags: [], statuses: ['UNDEFINED'] },
  { name: 'skipped', tags: [], statuses: ['SKIPPED'] },
  { name: 'flaky', tags: [], statuses: ['PASSED'], attempts: 2 },
];

test('verdicts, ids, tags, the first failure and the duration of each scenario; a retried attempt does not count', () => {
  const results = parseMessages(
    `${run(SCENARIOS)
      .map((l) => JSON.stringify(l))
      .join('\n')}\nnot json\n`,
  );
  assert.deepEqual(
    results.map((r) => [r.id, r.name, r.verdict, r.message, r.durationMs]),
    [
      ['features/x.feature:10', 'ok', 'passed', undefined, 1500],
      ['features/x.feature:20', 'bad', 'failed', 'expected 400\n  at stack', 1500],
      ['features/x.feature:30', 'bad', 'failed', undefined, 1500],
      ['features/x.feature:40', 'skipped', 'skipped', undefined, 1500],
      ['features/x.feature:50', 'flaky', 'passed', undefined, 1500],
    ],
  );
  assert.deepEqual(results[1]?.tags, ['@CLISSO-POLL-04', '@smoke']);
});

test('live, each scenario is returned by the message that finishes it, and the same as read back', () => {
  const reducer = new ScenarioResultReducer();
  const finishedBy: string[] = [];
  for (const message of run(SCENARIOS)) {
    const result = reducer.onMessage(message as Envelope);
    if (result) finishedBy.push(result.id);
  }
  assert.deepEqual(finishedBy, [
    'features/x.feature:10',
    'features/x.feature:20',
    'features/x.feature:30',
    'features/x.feature:40',
    'features/x.feature:50',
  ]);
  assert.deepEqual(
    reducer.results(),
    parseMessages(
      run(SCENARIOS)
        .map((l) => JSON.stringify(l))
        .join('\n'),
    ),
  );
});
