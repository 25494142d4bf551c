import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Catalogue } from '../../features/runner/requirements.ts';
import { type MutationReport, renderSummary, wilsonInterval } from './report.ts';

test("Wilson's interval: the textbook values, and the edges", () => {
  const [low, high] = wilsonInterval(50, 100);
  assert.equal(low.toFixed(3), '0.404');
  assert.equal(high.toFixed(3), '0.596');
  const [allLow, allHigh] = wilsonInterval(20, 20);
  assert.equal(allHigh, 1);
  assert.equal(allLow.toFixed(3), '0.839');
  assert.deepEqual(wilsonInterval(0, 0), [0, 1]);
});

test('the MUST requirements to prove are those of the profile the suite judged with', () => {
  const requirement = (id: string, profiles?: string[]) => ({
    id,
    level: 'MUST' as const,
    section: '5. Claim mapping',
    text: id,
    ...(profiles ? { profiles } : {}),
  });
  const requirements = [
    requirement('CLISSO-CLAIMS-01'),
    requirement('CLISSO-CLAIMS-07', ['litellm-v3']),
    requirement('CLISSO-FILTER-08', ['litellm-v4']),
  ];
  const catalogue: Catalogue = {
    protocol: 'contract.md',
    dir: '.',
    profiles: { 'litellm-v3': 'v3', 'litellm-v4': 'v4' },
    sections: {},
    requirements,
    byId: new Map(requirements.map((r) => [r.id, r])),
  };
  const report = (profile?: string): MutationReport => ({
    createdAt: '2026-12-07T00:00:00Z',
    wallMs: 1,
    targets: [],
    mutants: [],
    ...(profile ? { profile } : {}),
    sampledFrom: undefined,
    coverageRunMs: undefined,
    scenariosThatCouldNotJudge: [],
  });
  const proven = (profile?: string) =>
    renderSummary(report(profile), catalogue)
      .text.split('\n')
      .find((line) => line.startsWith('MUST requirements proven'));
  assert.equal(
    proven('litellm-v3'),
    'MUST requirements proven able to fail: 0 of 2 (not proven: CLISSO-CLAIMS-01, CLISSO-CLAIMS-07)',
  );
  // A report without a profile was judged with the newest one.
  assert.equal(
    proven(),
    'MUST requirements proven able to fail: 0 of 2 (not proven: CLISSO-CLAIMS-01, CLISSO-FILTER-08)',
  );
});
