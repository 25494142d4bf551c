/**
 * What a person at a terminal sees: the spinner with elapsed and remaining time,
 * the team prompt, and Ctrl-C. Run in-process through runCli() with TTY flags set, against the
 * LiteLLM-like gateway over real HTTP.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { after, describe, test } from 'node:test';
import { EXIT_CODES } from './index.ts';
import { cleanEnv } from './test-support/cli-process.ts';
import { startCliInProcess } from './test-support/in-process.ts';
import { gatewayAndHome, type LiteLlmLikeGatewayOptions } from './test-support/litellm-like-gateway.ts';
import { waitFor } from './test-support/wait-for.ts';

describe('at a terminal', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });
  async function setUp(options: LiteLlmLikeGatewayOptions = {}) {
    const { gateway, home } = await gatewayAndHome(cleanups, options);
    return { gateway, home, env: cleanEnv(home.home, { LITELLM_PROXY_URL: gateway.url }) };
  }

  test('a spinner shows the elapsed and the remaining time while waiting', async () => {
    const { gateway, env } = await setUp();
    const run = startCliInProcess(['login', '--no-browser', '--timeout', '120'], env, { stderrIsTTY: true });
    await waitFor(() => /elapsed, \d+:\d\d left \(Ctrl-C to cancel\)/.test(run.stderr()));
    assert.match(run.stderr(), /Waiting for the login in the browser: 0:0\d elapsed, 1:5\d left/);
    gateway.complete(gateway.loginIds()[0] ?? '');
    const result = await run.result;
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /Still waiting/, 'no plain progress lines on a terminal');
  });

  test('several teams: a prompt lets the person choose, then the key is for that team', async () => {
    const { gateway, home, env } = await setUp({
      teams: [
        { teamId: 'team-a', teamAlias: 'Alpha' },
        { teamId: 'team-b', teamAlias: 'Beta' },
      ],
    });
    const stdin = new PassThrough();
    const run = startCliInProcess(['login', '--no-browser'], env, { stderrIsTTY: true, stdinIsTTY: true, stdin });
    await waitFor(() => gateway.loginIds().length === 1);
    gateway.complete(gateway.loginIds()[0] ?? '');
    await waitFor(() => run.stderr().includes('Which one is this login for?'));
    assert.match(run.stderr(), /team-a \(Alpha\)/);
    assert.match(run.stderr(), /team-b \(Beta\)/);
    stdin.write('\u001b[B'); // arrow down
    stdin.write('\r');
    const result = await run.result;
    assert.equal(result.code, 0, result.stderr);
    const stored = JSON.parse(await readFile(home.tokenFile, 'utf8')) as Record<string, unknown>;
    assert.equal(stored['team_id'], 'team-b');
    assert.match(gateway.journal.filter((e) => e.route === 'poll').at(-1)?.url ?? '', /\?team_id=team-b$/);
  });

  test('Ctrl-C while the spinner runs: exit 130, "Cancelled."', async () => {
    const { gateway, env } = await setUp({ extensions: { preferWait: true } });
    const interrupt = new AbortController();
    const run = startCliInProcess(['login', '--no-browser'], env, { stderrIsTTY: true, signal: interrupt.signal });
    await waitFor(() => gateway.journal.some((e) => e.route === 'poll'));
    interrupt.abort();
    const result = await run.result;
    assert.equal(result.code, EXIT_CODES.cancelled, result.stderr);
    assert.match(result.stderr, /Cancelled\.\n$/);
  });
});
