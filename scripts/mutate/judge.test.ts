import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failedByTimeout, mutantsForRequirements, topicAffinity } from './judge.ts';

test('a source file is close to the sections about its topic, and only those', () => {
  assert.equal(topicAffinity('reference-proxy/routes/cli-poll.ts', ['2. GET /sso/cli/poll']), 1);
  assert.equal(topicAffinity('reference-proxy/config.ts', ['3. Configuration']), 1);
  assert.equal(topicAffinity('protocol/claim-map.ts', ['5. Claim mapping']), 2);
  assert.equal(topicAffinity('reference-proxy/routes/sso-key-generate.ts', ['2. GET /sso/key/generate']), 2);
  // "cli" and "sso" are in every route and most sections: they say nothing.
  assert.equal(topicAffinity('reference-proxy/routes/cli-poll.ts', ['2. POST /sso/cli/start', '8. The CLI']), 0);
  assert.equal(topicAffinity('reference-proxy/identity.ts', ['5. Secret filtering']), 0);
});

test('only a failure by a step running out of time is confirmed before it kills', () => {
  const timedOut = 'Error: function timed out, ensure the promise resolves within 10000 milliseconds';
  assert.equal(failedByTimeout({ verdict: 'failed', message: timedOut }), true);
  assert.equal(failedByTimeout({ verdict: 'failed', message: 'AssertionError: 500 !== 200' }), false);
  assert.equal(failedByTimeout({ verdict: 'failed', message: undefined }), false);
  assert.equal(failedByTimeout({ verdict: 'passed', message: timedOut }), false);
});

test('--prove-musts picks, for each MUST, the mutants its scenarios reach that the fewest others do', () => {
  const judges = new Map(
    [
      ['a.feature:3', ['@CLISSO-START-01']],
      ['a.feature:9', ['@CLISSO-START-02']],
      ['b.feature:4', ['@CLISSO-POLL-01', '@CLISSO-START-01']],
    ].map(([id, tags]) => [id as string, { id: id as string, tags: tags as string[] } as never]),
  );
  const reached = new Map<number, Set<string>>([
    [1, new Set(['a.feature:3', 'a.feature:9', 'b.feature:4'])],
    [2, new Set(['a.feature:3'])],
    [3, new Set(['a.feature:9'])],
    [4, new Set(['b.feature:4'])],
  ]);
  const requirements = [
    { id: 'CLISSO-START-01', level: 'MUST' as const, section: 's', text: 't' },
    { id: 'CLISSO-START-02', level: 'MUST' as const, section: 's', text: 't' },
    { id: 'CLISSO-START-03', level: 'SHOULD' as const, section: 's', text: 't' },
    { id: 'CLISSO-POLL-09', level: 'MUST' as const, section: 's', text: 't' },
  ];
  const candidates = [{ id: 1 }, { id: 2 }, { id: 3, equivalent: 'not observable' }, { id: 4 }];
  const { firstTry, unjudgeable } = mutantsForRequirements(candidates, { judges, reached }, { requirements }, 1);
  // START-01: mutants 2 and 4 each reach one scenario; 2 comes first. START-02: 3 is declared
  // equivalent, so the next most specific, 1. POLL-09 has no scenario that could judge.
  assert.deepEqual(
    [...firstTry],
    [
      [2, 'a.feature:3'],
      [1, 'a.feature:9'],
    ],
  );
  assert.deepEqual(unjudgeable, ['CLISSO-POLL-09']);
});
