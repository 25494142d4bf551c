/**
 * `cli-sso login`, run as a child process against a LiteLLM-like gateway over real HTTP.
 */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EXIT_CODES } from './index.ts';
import {
  cleanEnv,
  makeTempHome,
  readLoginInstructions,
  runCli,
  startCli,
  type TempHome,
} from './test-support/cli-process.ts';
import {
  gatewayAndHome,
  type LiteLlmLikeGateway,
  type LiteLlmLikeGatewayOptions,
  startLiteLlmLikeGateway,
} from './test-support/litellm-like-gateway.ts';
import { waitFor } from './test-support/wait-for.ts';

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

describe('login behaviour', { concurrency: 3 }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });
  async function setUp(options: LiteLlmLikeGatewayOptions = {}) {
    const { gateway, home } = await gatewayAndHome(cleanups, options);
    const env = cleanEnv(home.home, { LITELLM_PROXY_URL: gateway.url });
    const start = (args: string[]) => {
      const run = startCli(args, env);
      cleanups.unshift(() => run.stop());
      return run;
    };
    return { gateway, home, env, start };
  }
  const readStored = async (home: TempHome) =>
    JSON.parse(await readFile(home.tokenFile, 'utf8')) as Record<string, unknown>;

  test('LiteLLM ignores Prefer: wait, so the CLI polls every 2 s (the default)', async () => {
    const { gateway, env, start } = await setUp();
    delete env['CLI_SSO_POLL_INTERVAL_MS'];
    const run = start(['login', '--no-browser']);
    const { loginId } = await readLoginInstructions(run);
    await waitFor(() => gateway.journal.filter((e) => e.route === 'poll' && e.status !== undefined).length >= 2);
    gateway.complete(loginId);
    assert.equal((await run.exited).code, 0, run.stderr());
    const polls = gateway.journal.filter((e) => e.route === 'poll');
    for (const poll of polls) assert.equal(poll.prefer, 'wait=25', 'the long poll is always asked for');
    const gap = (polls[1]?.atMs ?? 0) - (polls[0]?.atMs ?? 0);
    assert.ok(gap >= 1950, `second poll ${gap} ms after the first`);
    assert.match(run.stderr(), /Waiting for the login to be completed in the browser \(giving up in 5 min\)/);
  });

  test('a gateway that honours Prefer: wait answers the held poll as soon as the browser is done', async () => {
    const { gateway, home, env, start } = await setUp({ extensions: { preferWait: true, readyExpiresIn: true } });
    delete env['CLI_SSO_POLL_INTERVAL_MS'];
    const run = start(['login', '--no-browser']);
    const { loginId } = await readLoginInstructions(run);
    await waitFor(() => gateway.journal.some((e) => e.route === 'poll'));
    gateway.complete(loginId);
    assert.equal((await run.exited).code, 0, run.stderr());
    const polls = gateway.journal.filter((e) => e.route === 'poll');
    assert.equal(polls.length, 1, 'one held poll, answered at completion');
    const stored = await readStored(home);
    const expiresAt = Number(stored['expires_at']);
    assert.ok(Math.abs(expiresAt - (Number(stored['timestamp']) + 86400)) <= 1, 'expires_at from expires_in');
    assert.match(run.stderr(), /The key expires at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in (1 d|23 h 59 min)\)/);
  });

  test('a JWT key: expires_at, email and role come from its claims', async () => {
    const { gateway, home, start } = await setUp({
      keyFormat: 'jwt',
      keyLifetimeSeconds: 7200,
      userEmail: 'dev@example.com',
    });
    const run = start(['login', '--no-browser']);
    gateway.complete((await readLoginInstructions(run)).loginId);
    assert.equal((await run.exited).code, 0, run.stderr());
    const stored = await readStored(home);
    const payload = JSON.parse(Buffer.from(String(stored['key']).split('.')[1] ?? '', 'base64url').toString()) as {
      exp: number;
    };
    assert.equal(stored['expires_at'], payload.exp);
    assert.equal(stored['user_email'], 'dev@example.com');
    assert.equal(stored['user_role'], 'internal_user');
    assert.match(run.stderr(), /\(in (2 h|1 h 59 min)\)/);
  });

  test('several teams and no terminal: exit 8 listing the teams, nothing stored', async () => {
    const { gateway, home, start } = await setUp({
      teams: [
        { teamId: 'team-a', teamAlias: 'Alpha' },
        { teamId: 'team-b', teamAlias: null },
      ],
    });
    const run = start(['login', '--no-browser']);
    run.child.stdin?.end();
    gateway.complete((await readLoginInstructions(run)).loginId);
    assert.equal((await run.exited).code, EXIT_CODES.teamRequired, run.stderr());
    assert.match(run.stderr(), /Error: you belong to 2 teams/);
    assert.match(run.stderr(), /Run `cli-sso login --team <id>` with one of:\n {2}team-a \(Alpha\)\n {2}team-b\n/);
    await assert.rejects(stat(home.tokenFile));
  });

  test('several teams and no terminal: a line on standard input chooses (a number or an id)', async () => {
    for (const [answer, chosen] of [
      ['2', 'team-b'],
      ['nope\nteam-a', 'team-a'],
    ] as const) {
      const { gateway, home, start } = await setUp({
        teams: [
          { teamId: 'team-a', teamAlias: 'Alpha' },
          { teamId: 'team-b', teamAlias: null },
        ],
      });
      const run = start(['login', '--no-browser']);
      gateway.complete((await readLoginInstructions(run)).loginId);
      await run.waitForStderr(/ {2}1\. team-a \(Alpha\)\n {2}2\. team-b\nTeam \(number or id\): /);
      run.child.stdin?.end(`${answer}\n`);
      assert.equal((await run.exited).code, 0, run.stderr());
      const stored = JSON.parse(await readFile(home.tokenFile, 'utf8')) as Record<string, unknown>;
      assert.equal(stored['team_id'], chosen);
    }
  });

  test('--team picks the team from the first poll on', async () => {
    const { gateway, home, start } = await setUp({
      teams: [
        { teamId: 'team-a', teamAlias: 'Alpha' },
        { teamId: 'team-b', teamAlias: 'Beta' },
      ],
    });
    const run = start(['login', '--no-browser', '--team', 'team-b']);
    gateway.complete((await readLoginInstructions(run)).loginId);
    assert.equal((await run.exited).code, 0, run.stderr());
    assert.equal((await readStored(home))['team_id'], 'team-b');
    assert.match(run.stderr(), /as cli-test-user \(team team-b\)/);
    for (const poll of gateway.journal.filter((e) => e.route === 'poll')) assert.match(poll.url, /\?team_id=team-b$/);
  });

  test('--team that is not one of yours: the gateway refuses, exit 4', async () => {
    const { gateway, start } = await setUp({ teams: [{ teamId: 'team-a', teamAlias: null }] });
    const run = start(['login', '--no-browser', '--team', 'team-x']);
    gateway.complete((await readLoginInstructions(run)).loginId);
    assert.equal((await run.exited).code, EXIT_CODES.refused, run.stderr());
    assert.match(run.stderr(), /not in team team-x \(HTTP 403: User does not belong to team: team-x\)/);
  });

  test('--timeout: nobody finishes the login, exit 5', async () => {
    const { env } = await setUp();
    const result = await runCli(['login', '--no-browser', '--timeout', '2'], env);
    assert.equal(result.code, EXIT_CODES.timedOut, result.stderr);
    assert.match(result.stderr, /Error: the login was not completed within 2 s/);
    assert.match(result.stderr, /--timeout <seconds>/);
  });

  test('Ctrl-C cancels cleanly: exit 130, nothing stored', async () => {
    const { gateway, home, start } = await setUp({ extensions: { preferWait: true } });
    const run = start(['login', '--no-browser']);
    await readLoginInstructions(run);
    await waitFor(() => gateway.journal.some((e) => e.route === 'poll'));
    run.child.kill('SIGINT');
    const exit = await run.exited;
    assert.equal(exit.code, EXIT_CODES.cancelled, run.stderr());
    assert.match(run.stderr(), /^Cancelled\.$/m);
    assert.doesNotMatch(run.stderr(), /\n\s+at /);
    await assert.rejects(stat(home.tokenFile));
  });
});
