import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redact, redactText } from './redact.ts';

test('secret fields are replaced, others kept', () => {
  assert.deepEqual(redact({ key: 'sk-abc', user_id: 'u', nested: { poll_secret: 'p', client_secret: 's', ok: 1 } }), {
    key: '[redacted]',
    user_id: 'u',
    nested: { poll_secret: '[redacted]', client_secret: '[redacted]', ok: 1 },
  });
});

test('secrets inside text: JWTs, sk- keys, bearer values, secret query parameters', () => {
  const text =
    'GET /sso/callback?code=abc&state=litellm-session-token:cli-x Authorization: Bearer eyJa.eyJb.c key sk-1234567890';
  const out = redactText(text);
  assert.ok(!out.includes('code=abc'));
  assert.ok(out.includes('state=litellm-session-token:cli-x'));
  assert.ok(!out.includes('eyJa.eyJb.c'));
  assert.ok(!out.includes('sk-1234567890'));
});
