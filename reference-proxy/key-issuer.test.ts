/** Unit tests: CLI keys (docs/contract.md section 6) against an injected clock. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignJWT, UnsecuredJWT } from 'jose';
import { ManualClock } from '../common/clock.ts';
import { sessionIdOf } from './cli-sessions.ts';
import { CLI_KEY_ISSUER, deriveSigningKey, KeyIssuer } from './key-issuer.ts';

const CLAIMS = { userId: 'dana', teamId: 'team-a', userRole: 'internal_user', models: ['gpt-4o'] };

test('a key carries iss, sub, iat, exp = iat + lifetime, jti, team_id, user_role, models', async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const issuer = new KeyIssuer('secret', 12 * 3600, clock);
  const issued = await issuer.issue(CLAIMS);
  assert.equal(issued.expiresInSeconds, 43200);
  const [header, payload] = issued.key
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()));
  assert.equal(header.alg, 'HS256');
  assert.equal(payload.iss, CLI_KEY_ISSUER);
  assert.equal(payload.sub, 'dana');
  assert.equal(payload.exp - payload.iat, 43200);
  assert.equal(payload.iat, Date.UTC(2026, 0, 1) / 1000);
  assert.equal(typeof payload.jti, 'string');
  assert.deepEqual([payload.team_id, payload.user_role, payload.models], ['team-a', 'internal_user', ['gpt-4o']]);
  assert.deepEqual(await issuer.verify(issued.key), { ok: true, claims: CLAIMS, expiresAt: payload.exp });
});

test('valid up to the second it expires, expired from then on; leeway only when configured', async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const issuer = new KeyIssuer('secret', 3600, clock);
  const lenient = new KeyIssuer('secret', 3600, clock, 30);
  const { key } = await issuer.issue(CLAIMS);
  clock.advanceSeconds(3599);
  assert.equal((await issuer.verify(key)).ok, true);
  clock.advanceSeconds(1);
  assert.deepEqual(await issuer.verify(key), { ok: false, reason: 'expired' });
  assert.equal((await lenient.verify(key)).ok, true);
  clock.advanceSeconds(30);
  assert.deepEqual(await lenient.verify(key), { ok: false, reason: 'expired' });
});

test('another secret, alg none, a wrong issuer, a tampered payload or garbage are invalid', async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const issuer = new KeyIssuer('secret', 3600, clock);
  const { key } = await issuer.issue(CLAIMS);
  const other = await new KeyIssuer('another', 3600, clock).issue(CLAIMS);
  const none = new UnsecuredJWT({ team_id: null, user_role: 'proxy_admin', models: [] })
    .setIssuer(CLI_KEY_ISSUER)
    .setSubject('root')
    .setIssuedAt()
    .setExpirationTime('1h')
    .encode();
  const wrongIssuer = await new SignJWT({ team_id: null, user_role: 'x', models: [] })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('someone-else')
    .setSubject('dana')
    .setIssuedAt(Date.UTC(2026, 0, 1) / 1000)
    .setExpirationTime(Date.UTC(2026, 0, 2) / 1000)
    .sign(deriveSigningKey('secret', 'cli-key'));
  const [h, p, s] = key.split('.');
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p ?? '', 'base64url').toString()), sub: 'root' })).toString('base64url')}.${s}`;
  for (const bad of [other.key, none, wrongIssuer, tampered, 'sk-1234', '', 'a.b.c']) {
    assert.deepEqual(await issuer.verify(bad), { ok: false, reason: 'invalid' }, bad.slice(0, 20));
  }
});

test('an expired key signed by someone else is invalid, not expired', async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const { key } = await new KeyIssuer('another', 60, clock).issue(CLAIMS);
  clock.advanceSeconds(120);
  assert.deepEqual(await new KeyIssuer('secret', 60, clock).verify(key), { ok: false, reason: 'invalid' });
});

test('the jti and iat of a key issued before give that very key again, whenever it is asked for', async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const issuer = new KeyIssuer('secret', 3600, clock);
  const identity = { jti: 'claim-1', issuedAt: Date.UTC(2026, 0, 1) / 1000 };
  const first = await issuer.issue(CLAIMS, identity);
  clock.advanceSeconds(5);
  const again = await issuer.issue(CLAIMS, identity);
  assert.equal(again.key, first.key);
  assert.equal(again.expiresAt, first.expiresAt);
  assert.notEqual((await issuer.issue(CLAIMS)).key, first.key);
});

// Verified keys are remembered (verified-keys.ts); these check that a remembered key is still
// refused whenever jose would refuse it.

test('a remembered key is refused as expired once its exp passes, and stays refused', async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const issuer = new KeyIssuer('secret', 60, clock);
  const { key } = await issuer.issue(CLAIMS);
  assert.equal((await issuer.verify(key)).ok, true);
  assert.equal(issuer.rememberedKeys, 1);
  clock.advanceSeconds(59);
  assert.equal((await issuer.verify(key)).ok, true);
  clock.advanceSeconds(1);
  assert.deepEqual(await issuer.verify(key), { ok: false, reason: 'expired' });
  assert.deepEqual(await issuer.verify(key), { ok: false, reason: 'expired' });
});

test('a remembered key keeps the leeway: valid until exp + leeway, expired from then on', async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const lenient = new KeyIssuer('secret', 60, clock, 30);
  const { key } = await lenient.issue(CLAIMS);
  assert.equal((await lenient.verify(key)).ok, true);
  clock.advanceSeconds(89);
  assert.equal((await lenient.verify(key)).ok, true);
  clock.advanceSeconds(1);
  assert.deepEqual(await lenient.verify(key), { ok: false, reason: 'expired' });
});

test('a remembered key with nbf is refused when the clock is moved back before it', async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const now = Date.UTC(2026, 0, 1) / 1000;
  const key = await new SignJWT({ team_id: null, user_role: 'internal_user', models: [] })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(CLI_KEY_ISSUER)
    .setSubject('dana')
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 3600)
    .sign(deriveSigningKey('secret', 'cli-key'));
  const issuer = new KeyIssuer('secret', 3600, clock);
  assert.equal((await issuer.verify(key)).ok, true);
  clock.advanceSeconds(-10);
  assert.deepEqual(await issuer.verify(key), { ok: false, reason: 'invalid' });
});

test('a key remembered under one signing key is refused under another (a changed LITELLM_SALT_KEY)', async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const before = new KeyIssuer('old-salt', 3600, clock);
  const { key } = await before.issue(CLAIMS);
  assert.equal((await before.verify(key)).ok, true);
  assert.equal((await before.verify(key)).ok, true);
  const after = new KeyIssuer('new-salt', 3600, clock);
  assert.deepEqual(await after.verify(key), { ok: false, reason: 'invalid' });
  assert.deepEqual(await after.verify(key), { ok: false, reason: 'invalid' });
  assert.equal(after.rememberedKeys, 0);
});

test('a key that fails is never remembered: a tampered copy of a remembered key stays invalid', async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const issuer = new KeyIssuer('secret', 3600, clock);
  const { key } = await issuer.issue(CLAIMS);
  assert.equal((await issuer.verify(key)).ok, true);
  const [h, p, s] = key.split('.');
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p ?? '', 'base64url').toString()), user_role: 'proxy_admin' })).toString('base64url')}.${s}`;
  const noneAlg = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${p}.`;
  const otherSignature = `${h}.${p}.${(s ?? '').startsWith('A') ? 'B' : 'A'}${(s ?? '').slice(1)}`;
  for (const bad of [tampered, noneAlg, otherSignature, key.slice(0, -1)]) {
    assert.deepEqual(await issuer.verify(bad), { ok: false, reason: 'invalid' });
    assert.deepEqual(await issuer.verify(bad), { ok: false, reason: 'invalid' });
  }
  assert.equal(issuer.rememberedKeys, 1);
});

test('the cache is bounded: past its capacity the oldest key is dropped and verified afresh', async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const issuer = new KeyIssuer('secret', 3600, clock, 0, 3);
  const keys = await Promise.all(
    [1, 2, 3, 4, 5].map(async (n) => (await issuer.issue({ ...CLAIMS, userId: `u${n}` })).key),
  );
  for (const key of keys) assert.equal((await issuer.verify(key)).ok, true);
  assert.equal(issuer.rememberedKeys, 3);
  // Every key, remembered or not, still gives its own claims.
  for (const [i, key] of keys.entries()) {
    const check = await issuer.verify(key);
    assert.equal(check.ok && check.claims.userId, `u${i + 1}`);
    assert.ok(issuer.rememberedKeys <= 3);
  }
  clock.advanceSeconds(3600);
  for (const key of keys) assert.deepEqual(await issuer.verify(key), { ok: false, reason: 'expired' });
});

test('a remembered key answers the same claims as the first verification, and they cannot be changed', async () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const issuer = new KeyIssuer('secret', 3600, clock);
  const { key } = await issuer.issue(CLAIMS);
  const first = await issuer.verify(key);
  const second = await issuer.verify(key);
  assert.deepEqual(second, first);
  assert.ok(second.ok);
  assert.throws(() => {
    (second.claims.models as string[]).push('gpt-5');
  }, TypeError);
  assert.deepEqual((await issuer.verify(key)).ok && (await issuer.verify(key)), first);
});

test('a session token becomes the sid claim, and a verified key names its session by the token hash', async () => {
  const issuer = new KeyIssuer('secret', 3600, new ManualClock(Date.UTC(2026, 0, 1)));
  const issued = await issuer.issue(CLAIMS, {
    jti: 'j-1',
    issuedAt: Date.UTC(2026, 0, 1) / 1000,
    sessionToken: 'cli-session-x',
  });
  const payload = JSON.parse(Buffer.from(issued.key.split('.')[1] ?? '', 'base64url').toString());
  assert.equal(payload.sid, 'cli-session-x');
  const check = await issuer.verify(issued.key);
  assert.ok(check.ok);
  assert.equal(check.claims.sessionId, sessionIdOf('cli-session-x'));
  assert.notEqual(check.claims.sessionId, 'cli-session-x', 'the id is not the token');
});
