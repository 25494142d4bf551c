/**
 * `cli-sso login`, run as a child process against a LiteLLM-like gateway over real HTTP.
 */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  cleanEnv,
  makeTempHome,
  readLoginInstructions,
  runCli,
  startCli,
  type TempHome,
} from './test-support/cli-process.ts';
import { type LiteLlmLikeGateway, startLiteLlmLikeGateway } from './test-support/litellm-like-gateway.ts';

const FAKE_BROWSER = join(import.meta.dirname, 'test-support', 'fake-browser.mjs');

describe('login against a gateway that speaks only LiteLLM’s contract', () => {
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

  test('--no-browser prints URL, code and session id, then stores the key once the browser part is done', async () => {
    const run = startCli(['login', '--no-browser', '--base-url', `${gateway.url}//`], cleanEnv(home.home));
    const shown = await readLoginInstructions(run);
    assert.equal(shown.loginUrl, `${gateway.url}/sso/key/generate?source=litellm-cli&key=${shown.loginId}`);
    assert.match(shown.userCode, /^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/);
    assert.deepEqual(gateway.loginIds(), [shown.loginId]);
    gateway.complete(shown.loginId);
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr());
    assert.match(run.stderr(), /Logged in to http:\/\/127\.0\.0\.1:\d+ as cli-test-user\./);
    assert.match(run.stderr(), /did not say when the key expires/);
    assert.equal(run.stdout(), '', 'stdout is for data; login prints none');

    const file = await stat(home.tokenFile);
    assert.equal(file.mode & 0o777, 0o600);
    assert.equal((await stat(join(home.home, '.litellm'))).mode & 0o777, 0o700);
    const stored = JSON.parse(await readFile(home.tokenFile, 'utf8')) as Record<string, unknown>;
    assert.equal(stored['base_url'], gateway.url);
    assert.equal(stored['user_id'], 'cli-test-user');
    assert.equal(stored['auth_header_name'], 'Authorization');
    assert.equal(typeof stored['key'], 'string');
    assert.equal(stored['jwt_token'], stored['key']);
    assert.equal(typeof stored['timestamp'], 'number');
    assert.equal(stored['expires_at'], null);
    assert.ok(!run.stderr().includes(String(stored['key'])), 'the key is never printed');

    const polls = gateway.journal.filter((e) => e.route === 'poll');
    assert.ok(polls.length >= 1);
    for (const poll of polls) {
      assert.ok(poll.hasPollSecret, 'the poll secret travels in its header');
      assert.doesNotMatch(poll.url, /secret/i);
    }
  });

  test('BROWSER is started with the URL (%s replaced) and its visit completes the login', async () => {
    const browserLog = join(home.home, 'browser.log');
    const env = cleanEnv(home.home, {
      BROWSER: `/nonexistent/browser:${process.execPath} ${FAKE_BROWSER} %s`,
      FAKE_BROWSER_LOG: browserLog,
    });
    const result = await runCli(['login', '--base-url', gateway.url], env);
    assert.equal(result.code, 0, result.stderr);
    const urlLine = result.stderr.split('\n').find((l) => l.startsWith('http'));
    assert.ok(urlLine);
    // The URL and the code come before any attempt to open a browser (section 8).
    assert.ok(result.stderr.indexOf('Verification code:') < result.stderr.indexOf('Opening the browser'));
    const opened = (await readFile(browserLog, 'utf8')).trim().split('\n');
    assert.deepEqual(opened, [JSON.stringify([urlLine])]);
  });
});
