import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  browserLoginUrl,
  formatUserCode,
  isValidLoginId,
  joinUrl,
  normalizeUserCode,
  parsePollAnswer,
  parseStartAnswer,
  serializePollAnswer,
  serializeStartAnswer,
  WireFormatError,
} from './cli-sso.ts';

describe('identifiers', () => {
  test('login ids: cli- then 12 to 124 url-safe characters', () => {
    assert.equal(isValidLoginId(`cli-${'a'.repeat(12)}`), true);
    assert.equal(isValidLoginId(`cli-${'a'.repeat(124)}`), true);
    assert.equal(isValidLoginId(`cli-${'a'.repeat(11)}`), false);
    assert.equal(isValidLoginId(`cli-${'a'.repeat(125)}`), false);
    assert.equal(isValidLoginId('sk-1234567890abcdef'), false);
    assert.equal(isValidLoginId(`cli-${'a'.repeat(11)}/`), false);
  });

  test('user codes are normalised to upper-case letters and digits', () => {
    assert.equal(normalizeUserCode(' abcd-ef23 '), 'ABCDEF23');
    assert.equal(formatUserCode('abcdef23'), 'ABCD-EF23');
  });

  test('URLs join whatever trailing slashes the base has', () => {
    assert.equal(joinUrl('http://gw:4000///', '/models'), 'http://gw:4000/models');
    assert.equal(joinUrl('http://gw:4000/litellm', '/models'), 'http://gw:4000/litellm/models');
    assert.equal(
      browserLoginUrl('http://gw:4000/', 'cli-abcdefghijkl'),
      'http://gw:4000/sso/key/generate?source=litellm-cli&key=cli-abcdefghijkl',
    );
  });
});

describe('start answer', () => {
  test('parses the wire form into camelCase', () => {
    assert.deepEqual(
      parseStartAnswer({ login_id: 'cli-abcdefghijkl', poll_secret: 's', user_code: 'ABCD-EFGH', expires_in: 600 }),
      { loginId: 'cli-abcdefghijkl', pollSecret: 's', userCode: 'ABCD-EFGH', expiresInSeconds: 600 },
    );
  });

  test('verification_uri_complete: kept when a string, left out otherwise; serialized before expires_in', () => {
    const wire = { login_id: 'cli-abcdefghijkl', poll_secret: 's', user_code: 'ABCD-EFGH' };
    const link = 'http://gw/sso/key/generate?source=litellm-cli&key=cli-abcdefghijkl&user_code=ABCD-EFGH';
    const parsed = parseStartAnswer({ ...wire, verification_uri_complete: link });
    assert.equal(parsed.verificationUriComplete, link);
    assert.deepEqual(Object.keys(serializeStartAnswer(parsed)), [
      'login_id',
      'poll_secret',
      'user_code',
      'verification_uri_complete',
      'expires_in',
    ]);
    for (const odd of [42, null, { href: link }]) {
      assert.equal('verificationUriComplete' in parseStartAnswer({ ...wire, verification_uri_complete: odd }), false);
    }
  });

  test('names the field that is wrong', () => {
    assert.throws(
      () => parseStartAnswer({ login_id: 'nope', poll_secret: 's', user_code: 'c' }),
      (e: unknown) => e instanceof WireFormatError && e.field === 'login_id',
    );
    assert.throws(
      () => parseStartAnswer({ login_id: 'cli-abcdefghijkl', user_code: 'c' }),
      (e: unknown) => e instanceof WireFormatError && e.field === 'poll_secret',
    );
  });
});

describe('poll answer', () => {
  test('pending, team selection and ready', () => {
    assert.deepEqual(parsePollAnswer({ status: 'pending' }), { status: 'pending' });
    const selection = parsePollAnswer({
      status: 'ready',
      user_id: 'bob',
      teams: ['a', 'b'],
      team_details: [{ team_id: 'a', team_alias: 'Alpha' }, { team_id: 'b' }],
      requires_team_selection: true,
    });
    assert.equal(selection.status, 'team_selection');
    const ready = parsePollAnswer({ status: 'ready', key: 'k', user_id: 'u', team_id: null, teams: [] });
    assert.equal(ready.status, 'ready');
    assert.throws(() => parsePollAnswer({ status: 'ready', user_id: 'u' }), WireFormatError);
    assert.throws(() => parsePollAnswer({ status: 'done' }), WireFormatError);
    assert.throws(() => parsePollAnswer('pending'), WireFormatError);
  });

  test('serialize then parse is the identity, and empty metadata is left out', () => {
    const answer = {
      status: 'ready' as const,
      key: 'k',
      userId: 'u',
      teamId: 't',
      teams: ['t'],
      teamDetails: [{ teamId: 't', teamAlias: null }],
      attributionMetadata: { a: 'b', n: 1 },
      expiresInSeconds: 60,
    };
    assert.deepEqual(parsePollAnswer(serializePollAnswer(answer)), answer);
    assert.equal('attribution_metadata' in serializePollAnswer({ ...answer, attributionMetadata: {} }), false);
  });

  test('never throws anything but WireFormatError on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parsePollAnswer(value);
        } catch (error) {
          assert.ok(error instanceof WireFormatError);
        }
      }),
    );
  });
});
