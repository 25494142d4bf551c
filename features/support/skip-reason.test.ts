/** A scenario runs only when the profile judged has one of its requirements (features/requirements.yaml). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { outsideProfileReason, SKIP_REASON_PREFIX } from './skip-reason.ts';

test("a scenario runs when one of its requirement tags is the profile's, and is skipped naming the profile otherwise", () => {
  const v3 = ['CLISSO-CLAIMS-07', 'CLISSO-FILTER-01', 'CLISSO-START-01'];
  assert.equal(outsideProfileReason(['@CLISSO-CLAIMS-07', '@CLISSO-CLAIMS-11'], 'litellm-v3', v3), undefined);
  assert.equal(outsideProfileReason(['@wip'], 'litellm-v3', v3), undefined, 'no requirement tag: nothing to leave out');
  const reason = outsideProfileReason(['@CLISSO-NATIVE-01', '@CLISSO-NATIVE-02', '@slow'], 'litellm-v3', v3);
  assert.equal(
    `${SKIP_REASON_PREFIX}${reason}`,
    "skipped because the target is judged by the contract profile litellm-v3 (--profile), which has none of this scenario's requirements (CLISSO-NATIVE-01, CLISSO-NATIVE-02)",
  );
});
