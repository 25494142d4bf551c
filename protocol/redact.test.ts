import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { redact, redactByPatterns, redactText, redactTranscript } from './redact.ts';

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

test('PKCE-native codes and refresh tokens inside text are redacted whole', () => {
  const code = 'llm_gcode_eyJhbGciOiJkaXIifQ..aXY.Y2lwaGVydGV4dA.dGFn';
  const refresh = 'llm_srefresh_eyJhbGciOiJkaXIifQ..aXY.c2VjcmV0LXBhcnQ.dGFn';
  const out = redactText(`redeemed ${code}, rotated ${refresh}`);
  for (const part of ['Y2lwaGVydGV4dA', 'c2VjcmV0LXBhcnQ', 'dGFn']) assert.ok(!out.includes(part), out);
});

test('a "&" in the path before the query does not hide a secret parameter from redaction', () => {
  const out = redactText('/a&b/callback?code=the-authorization-code&state=x');
  assert.ok(!out.includes('the-authorization-code'), out);
  assert.ok(out.includes('state=x'));
});

test('a known secret is replaced whatever it holds: line breaks, spaces, tabs, escape sequences', async () => {
  const { redactSecrets } = await import('./redact.ts');
  const pieces = ['sk-Q8vTz1LmN0pR', 'w3XyB5cD7eF9gH', 'J2kL4mN6pQ8rS0', 'tU1vW3xY5zA7bC'];
  const secret = `${pieces[0]}\n${pieces[1]} ${pieces[2]}\t\u001b[2J${pieces[3]}`;
  const texts = [
    `retrying: invalid header "Bearer ${secret}"`,
    `detail: ${JSON.stringify(secret)}`,
    `url: /x?key=${encodeURIComponent(secret)}`,
    `collapsed: ${secret.replace(/\s+/g, ' ')}`,
    `one line of it: ${pieces[1]}`,
    `stripped: ${pieces.join('')}`,
  ];
  for (const text of texts) {
    const out = redactSecrets(text, [secret]);
    for (const piece of pieces) assert.ok(!out.includes(piece), `${JSON.stringify(out)} still holds ${piece}`);
    assert.ok(out.includes('[redacted]'), out);
  }
  assert.equal(redactSecrets('nothing secret here', [secret]), 'nothing secret here');
  assert.equal(redactSecrets('a key sk-abc', []), 'a key sk-abc');
});

test('the pre-check only skips text the patterns leave as it is', () => {
  // Text built from the pieces the patterns look for (in any case) and ordinary characters.
  const piece = fc.constantFrom(
    'eyJ',
    'EYJ',
    'eyj',
    '.',
    'sk-',
    'SK-',
    'Bearer ',
    'basic ',
    '?',
    '&',
    '=',
    'code',
    'a_token',
    'x',
    '-',
    ' ',
    '/',
  );
  fc.assert(
    fc.property(fc.array(fc.oneof(piece, fc.string({ maxLength: 3 })), { maxLength: 24 }), (parts) => {
      const text = parts.join('');
      assert.equal(redactText(text), redactByPatterns(text));
    }),
    { numRuns: 5000, seed: 20261207 },
  );
});

test("a CLI's transcript loses the user codes it printed, and keeps other words", () => {
  const text =
    'Verification code: MPBV-29PU\nSession id: cli-abc\nopen http://h/sso/key/generate?key=cli-abc\nWORD-LIKE';
  const clean = redactTranscript(text);
  assert.ok(!clean.includes('MPBV-29PU'), clean);
  assert.ok(clean.includes('Verification code: [redacted]'), clean);
  assert.ok(clean.includes('key=[redacted]') && clean.includes('WORD-LIKE'), clean);
});
