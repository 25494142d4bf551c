/**
 * The UI session cookie as the gateway reads it back: a cookie it signed but whose expiry no date
 * can hold (a fuzzer's find) is no session, not a 500 when the page shows when it ends.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import { systemClock } from '../common/clock.ts';
import { deriveSigningKey } from './key-issuer.ts';
import { UiSessions } from './ui-session.ts';

const SECRET = 'sk-ui-session-test-0123456789abcdef0123456789abcdef';

test('a signed session whose exp is past any date is no session', async () => {
  const sessions = new UiSessions(SECRET, 600, systemClock);
  const cookie = await new SignJWT({ email: null, role: 'internal_user' })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice')
    .setIssuedAt()
    .setExpirationTime(1e300)
    .sign(deriveSigningKey(SECRET, 'ui-session'));
  assert.equal(await sessions.readSession(cookie), undefined);
});

test('a session the gateway made is read back with its end', async () => {
  const sessions = new UiSessions(SECRET, 600, systemClock);
  const { cookie, session } = await sessions.createSession({ userId: 'alice', email: null, role: 'internal_user' });
  const read = await sessions.readSession(cookie);
  assert.equal(read?.userId, 'alice');
  assert.equal(read?.expiresAtMs, session.expiresAtMs);
  assert.ok(Number.isFinite(new Date(read.expiresAtMs).getTime()));
});
