import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topicAffinity } from './judge.ts';

test('a source file is close to the sections about its topic, and only those', () => {
  assert.equal(topicAffinity('reference-proxy/routes/cli-poll.ts', ['2. GET /sso/cli/poll']), 1);
  assert.equal(topicAffinity('reference-proxy/config.ts', ['3. Configuration']), 1);
  assert.equal(topicAffinity('protocol/claim-map.ts', ['5. Claim mapping']), 2);
  assert.equal(topicAffinity('reference-proxy/routes/sso-key-generate.ts', ['2. GET /sso/key/generate']), 2);
  // "cli" and "sso" are in every route and most sections: they say nothing.
  assert.equal(topicAffinity('reference-proxy/routes/cli-poll.ts', ['2. POST /sso/cli/start', '8. The CLI']), 0);
  assert.equal(topicAffinity('reference-proxy/identity.ts', ['5. Secret filtering']), 0);
});
