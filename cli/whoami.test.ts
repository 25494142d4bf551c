/**
 * whoami offline: the expiry comes from the key's `exp` or the stored
 * `expires_at`, never a guess; an expired login is plainly EXPIRED with exit 9; --verify asks the
 * gateway. In-process through runCli() with stored logins written by hand.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { EXIT_CODES } from './index.ts';
import { cleanEnv, makeTempHome, type TempHome } from './test-support/cli-process.ts';
import { runCliInProcess } from './test-support/in-process.ts';
import { type LiteLlmLikeGateway, startLiteLlmLikeGateway } from './test-support/litellm-like-gateway.ts';

describe('whoami', () => {
  let gateway: LiteLlmLikeGateway;
  let home: TempHome;
  before(async () => {
    gateway = await startLiteLlmLikeGateway();
    home = await makeTempHome();
  });
  after(async () => {
    await gateway.close();
    await home.remove();
  });
  const store = async (fields: Record<string, unknown>) => {
    await mkdir(dirname(home.tokenFile), { recursive: true });
    await writeFile(home.tokenFile, JSON.stringify({ base_url: gateway.url, user_id: 'cli-test-user', ...fields }));
  };
  const nowS = () => Math.floor(Date.now() / 1000);

  test('the JWT exp wins over expires_at; text and --json agree', async () => {
    const exp = nowS() + 3 * 3600;
    const key = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(exp)
      .sign(new Uint8Array(32));
    await store({ key, timestamp: nowS() - 600, expires_at: nowS() + 999_999, team_id: 'team-a' });
    const text = await runCliInProcess(['whoami'], cleanEnv(home.home));
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Team: +team-a$/m);
    assert.match(text.stdout, /^Logged in: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(10 min( \d+ s)? ago\)$/m);
    assert.match(text.stdout, /^Expires: +.* \(in (3 h|2 h 59 min); from the key's exp claim\)$/m);
    assert.match(text.stdout, /^Status: +valid$/m);
    assert.ok(!text.stdout.includes(key));
    const json = JSON.parse((await runCliInProcess(['whoami', '--json'], cleanEnv(home.home))).stdout) as Record<
      string,
      unknown
    >;
    assert.equal(json['expiresAt'], new Date(exp * 1000).toISOString());
    assert.equal(json['expirySource'], 'jwt-exp');
    assert.equal(json['teamId'], 'team-a');
    assert.ok(Number(json['tokenAgeSeconds']) >= 600);
    assert.equal(JSON.stringify(json).includes(key), false, 'the key is never in whoami --json');
  });

  test('an opaque key past its stored expires_at: EXPIRED, exit 9, what to do on stderr', async () => {
    await store({ key: 'sk-opaque-0123456789', timestamp: nowS() - 90_000, expires_at: nowS() - 3600 });
    const result = await runCliInProcess(['whoami'], cleanEnv(home.home));
    assert.equal(result.code, EXIT_CODES.expired);
    assert.match(result.stdout, /^Expires: +.* \(1 h ago; from the expiry the gateway gave at login\)$/m);
    assert.match(result.stdout, /^Status: +EXPIRED 1 h ago$/m);
    assert.match(result.stderr, /has expired\. Run `cli-sso login`/);
    const json = JSON.parse((await runCliInProcess(['whoami', '--json'], cleanEnv(home.home))).stdout) as Record<
      string,
      unknown
    >;
    assert.equal(json['expired'], true);
  });

  test('--verify: the gateway accepts the key / refuses it (exit 4, verified false)', async () => {
    await store({ key: await gateway.issueKey(Date.now() + 3600_000), timestamp: nowS() });
    const ok = await runCliInProcess(['whoami', '--verify', '--json'], cleanEnv(home.home));
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as Record<string, unknown>)['verified'], true);

    await store({ key: 'sk-not-issued-0123456789', timestamp: nowS() });
    const refused = await runCliInProcess(['whoami', '--verify'], cleanEnv(home.home));
    assert.equal(refused.code, EXIT_CODES.refused, refused.stderr);
    assert.match(refused.stdout, /^Verified: +the gateway REFUSED the key$/m);
    assert.match(refused.stderr, /refused the stored key \(HTTP 401/);
  });

  test('not logged in: exit 3 and what to do', async () => {
    const empty = await makeTempHome();
    try {
      const result = await runCliInProcess(['whoami'], cleanEnv(empty.home));
      assert.equal(result.code, EXIT_CODES.notLoggedIn);
      assert.match(result.stderr, /^Error: not logged in \(no token file at .*token\.json\)\nRun `cli-sso login`\.\n$/);
      assert.equal(result.stdout, '');
    } finally {
      await empty.remove();
    }
  });
});
