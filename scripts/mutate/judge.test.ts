import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failedByTimeout, topicAffinity } from './judge.ts';

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
