/**
 * Fuzzing with a small budget (the full pass is `npm run fuzz`, docs/fuzzing.md): generated inputs,
 * each a valid request with a few things changed, on every OpenID endpoint and sign-in page of the
 * mock IdP, on its control API, and generated YAML for its users file loader. No answer >= 500, no
 * crash, no secret in a log, the IdP still signs a user in afterwards; the loader throws only
 * UsersFileError. Failures that are known findings (scripts/fuzz/known-findings.ts) are reported,
 * not failed: they are listed there for this folder's owners.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzzGroup, summaryLine } from '../scripts/fuzz/run.ts';

/**
 * One seed, so that npm test judges the same inputs on every machine and run (FUZZ_SEED picks
 * another); finding new inputs is `npm run fuzz`'s job, with a fresh seed each time.
 */
const FUZZ_SEED = Number(process.env['FUZZ_SEED'] ?? 20261207);

for (const [group, what] of [
  ['mock-idp', 'every OpenID endpoint and sign-in page'],
  ['mock-idp-control', 'every control API route'],
  ['users-file', 'the users file loader'],
] as const) {
  test(`${what}: about 200 generated inputs, no 5xx, no crash, no secret in a log`, async (t) => {
    const { seed, results, unknown, known } = await fuzzGroup(group, 200, { seed: FUZZ_SEED });
    t.diagnostic(`seed ${seed} (npm run fuzz -- --endpoints ${group} --seed ${seed} replays this run)`);
    for (const r of results) t.diagnostic(summaryLine(r));
    for (const k of known) for (const line of `known finding, still open: ${k}`.split('\n')) t.diagnostic(line);
    assert.deepEqual(unknown, [], `seed ${seed}: ${unknown.join('\n')}`);
  });
}
