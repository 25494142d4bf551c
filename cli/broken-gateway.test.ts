/**
 * Each way a gateway can be broken gets its documented exit code and a message a person can act
 * on. The CLI runs as a child process against a LiteLLM-like gateway
 * with a fault set on one route; no stack trace and no secret ever reaches the output.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EXIT_CODES } from './index.ts';
import {
  type CliResult,
  cleanEnv,
  closedPort,
  makeTempHome,
  runCli,
  type TempHome,
} from './test-support/cli-process.ts';
import { runCliInProcess } from './test-support/in-process.ts';
import {
  type GatewayFault,
  type GatewayRoute,
  type LiteLlmLikeGateway,
  startLiteLlmLikeGateway,
} from './test-support/litellm-like-gateway.ts';

interface Case {
  name: string;
  route: GatewayRoute;
  fault: GatewayFault;
  args: string[];
  code: number;
  message: RegExp;
  hint: RegExp;
  /** Also run as a child process (one per exit code and per kind of break); else in-process. */
  childProcess?: boolean;
}

const LOGIN = ['login', '--no-browser', '--timeout', '20'];
const MODELS = ['models', 'list', '--timeout', '2'];

const CASES: Case[] = [
  {
    name: 'start 404: too old or not LiteLLM-style',
    childProcess: true,
    route: 'start',
    fault: { kind: 'status', status: 404, body: { detail: 'Not Found' } },
    args: LOGIN,
    code: EXIT_CODES.refused,
    message: /has no CLI login \(POST \/sso\/cli\/start answered HTTP 404: Not Found\)/,
    hint: /too old for CLI SSO or is not a LiteLLM-style gateway/,
  },
  {
    name: 'start 403: switched off',
    childProcess: true,
    route: 'start',
    fault: { kind: 'status', status: 403, body: { detail: 'CLI login disabled' } },
    args: LOGIN,
    code: EXIT_CODES.refused,
    message: /refused to start a CLI login \(HTTP 403: CLI login disabled\)/,
    hint: /ask its operator/,
  },
  {
    name: 'start 500 (plain text body)',
    childProcess: true,
    route: 'start',
    fault: { kind: 'status', status: 500 },
    args: LOGIN,
    code: EXIT_CODES.gatewayError,
    message: /failed to start a CLI login \(HTTP 500: Internal Server Error\)/,
    hint: /problem on the gateway/,
  },
  {
    name: 'start 429 for good: too many logins',
    route: 'start',
    fault: { kind: 'status', status: 429, body: { detail: 'Too many CLI login attempts. Try again later.' } },
    args: LOGIN,
    code: EXIT_CODES.refused,
    message: /HTTP 429: Too many CLI login attempts/,
    hint: /wait a minute/,
  },
  {
    name: 'start answers malformed JSON',
    childProcess: true,
    route: 'start',
    fault: { kind: 'malformed' },
    args: LOGIN,
    code: EXIT_CODES.gatewayError,
    message: /not LiteLLM's CLI SSO contract: field "\(body\)" must be JSON/,
    hint: /LiteLLM-style gateway/,
  },
  {
    name: 'start hangs: the deadline ends it',
    childProcess: true,
    route: 'start',
    fault: { kind: 'hang' },
    args: ['login', '--no-browser', '--timeout', '2'],
    code: EXIT_CODES.timedOut,
    message: /did not answer when asked to start a login/,
    hint: /Check that the gateway is up/,
  },
  {
    name: 'start drops every connection: unreachable after retries',
    route: 'start',
    fault: { kind: 'reset' },
    args: LOGIN,
    code: EXIT_CODES.unreachable,
    message: /cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+/,
    hint: /Check the gateway URL/,
  },
  {
    name: 'poll 500',
    childProcess: true,
    route: 'poll',
    fault: { kind: 'status', status: 500, body: { detail: 'Internal Server Error' } },
    args: LOGIN,
    code: EXIT_CODES.gatewayError,
    message: /failed while the CLI waited for the login \(HTTP 500/,
    hint: /problem on the gateway/,
  },
  {
    name: 'poll 403: poll secret rejected',
    route: 'poll',
    fault: { kind: 'status', status: 403, body: { detail: 'Invalid CLI polling secret' } },
    args: LOGIN,
    code: EXIT_CODES.refused,
    message: /rejected this login's poll secret \(HTTP 403: Invalid CLI polling secret\)/,
    hint: /Run `cli-sso login` again/,
  },
  {
    name: 'poll 400: session unknown (e.g. per-replica store)',
    route: 'poll',
    fault: { kind: 'status', status: 400, body: { detail: 'Invalid CLI login session' } },
    args: LOGIN,
    code: EXIT_CODES.refused,
    message: /no longer knows this login session \(HTTP 400: Invalid CLI login session\)/,
    hint: /expired or was already used/,
  },
  {
    name: 'poll 404',
    route: 'poll',
    fault: { kind: 'status', status: 404, body: { detail: 'Not Found' } },
    args: LOGIN,
    code: EXIT_CODES.refused,
    message: /does not serve GET \/sso\/cli\/poll \(HTTP 404/,
    hint: /too old for CLI SSO/,
  },
  {
    name: 'poll answers malformed JSON',
    route: 'poll',
    fault: { kind: 'malformed' },
    args: LOGIN,
    code: EXIT_CODES.gatewayError,
    message: /poll answer is not LiteLLM's CLI SSO contract: field "\(body\)" must be JSON/,
    hint: /LiteLLM-style gateway/,
  },
  {
    name: 'poll answers a status the contract does not have',
    route: 'poll',
    fault: { kind: 'status', status: 200, body: { status: 'done' } },
    args: LOGIN,
    code: EXIT_CODES.gatewayError,
    message: /poll answer is not LiteLLM's CLI SSO contract: field "status" must be "pending" or "ready"/,
    hint: /LiteLLM-style gateway/,
  },
  {
    name: 'models 500',
    route: 'models',
    fault: { kind: 'status', status: 500, body: { error: { message: 'boom', type: 'internal', code: '500' } } },
    args: MODELS,
    code: EXIT_CODES.gatewayError,
    message: /listing models failed: HTTP 500 \(boom\)/,
    hint: /problem on the gateway/,
  },
  {
    name: 'models 403',
    route: 'models',
    fault: {
      kind: 'status',
      status: 403,
      body: { error: { message: 'key not allowed', type: 'auth_error', code: '403' } },
    },
    args: MODELS,
    code: EXIT_CODES.refused,
    message: /refused the stored key \(HTTP 403: key not allowed\)/,
    hint: /Run `cli-sso login` to get a new key/,
  },
  {
    name: 'models hangs: --timeout ends it',
    childProcess: true,
    route: 'models',
    fault: { kind: 'hang' },
    args: MODELS,
    code: EXIT_CODES.timedOut,
    message: /did not answer within 2 s/,
    hint: /give it more time with --timeout/,
  },
  {
    name: 'models answers malformed JSON',
    route: 'models',
    fault: { kind: 'malformed' },
    args: MODELS,
    code: EXIT_CODES.gatewayError,
    message: /models answer is not LiteLLM's CLI SSO contract: field "\(body\)" must be JSON/,
    hint: /LiteLLM-style gateway/,
  },
];

function assertClean(result: CliResult): void {
  assert.doesNotMatch(result.stderr, /\n\s+at \S+ \(/, 'no stack trace');
  assert.doesNotMatch(result.stderr, /sk-[A-Za-z0-9_-]{8,}/, 'no key');
  assert.equal(result.stdout, '', 'nothing on stdout when a command fails');
}

describe('broken gateways', { concurrency: 3 }, () => {
  const started: Array<{ close(): Promise<void> } | TempHome> = [];
  let anyHome: TempHome;
  before(async () => {
    anyHome = await makeTempHome();
    started.push(anyHome);
  });
  after(async () => {
    for (const thing of started) await ('close' in thing ? thing.close() : thing.remove());
  });

  for (const c of CASES) {
    test(`${c.name} -> exit ${c.code}${c.childProcess ? ' (child process)' : ''}`, async () => {
      const gateway: LiteLlmLikeGateway = await startLiteLlmLikeGateway();
      const home = await makeTempHome();
      started.push(gateway, home);
      if (c.route === 'models') {
        const key = await gateway.issueKey(Date.now() + 3600_000);
        await mkdir(dirname(home.tokenFile), { recursive: true });
        await writeFile(home.tokenFile, JSON.stringify({ base_url: gateway.url, key, user_id: 'u', timestamp: 1 }));
      }
      gateway.setFault(c.route, c.fault);
      const env = cleanEnv(home.home, { LITELLM_PROXY_URL: gateway.url });
      const result = c.childProcess ? await runCli(c.args, env) : await runCliInProcess(c.args, env);
      assert.equal(result.code, c.code, result.stderr);
      const lines = result.stderr.trimEnd().split('\n');
      const errorAt = lines.findIndex((l) => l.startsWith('Error: '));
      assert.ok(errorAt >= 0, result.stderr);
      assert.match(lines[errorAt] ?? '', c.message);
      assert.match(lines.slice(errorAt + 1).join('\n'), c.hint);
      assertClean(result);
    });
  }

  test('transient failures (503, a dropped connection) are retried with backoff, then the login succeeds', async () => {
    const gateway = await startLiteLlmLikeGateway();
    const home = await makeTempHome();
    started.push(gateway, home);
    gateway.setFault('start', { kind: 'status', status: 503, body: { detail: 'Service Unavailable' }, times: 2 });
    gateway.setFault('poll', { kind: 'reset', times: 1 });
    const env = cleanEnv(home.home, {
      LITELLM_PROXY_URL: gateway.url,
      BROWSER: `${process.execPath} ${import.meta.dirname}/test-support/fake-browser.mjs`,
    });
    const result = await runCli(['login'], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /the gateway answered HTTP 503; trying again in [\d.]+ s \(attempt 2\)/);
    assert.match(result.stderr, /the gateway answered HTTP 503; trying again in [\d.]+ s \(attempt 3\)/);
    assert.match(result.stderr, /cannot reach the gateway \(\w+\); trying again/);
    const starts = gateway.journal.filter((e) => e.route === 'start');
    assert.equal(starts.length, 3);
    // CLI_SSO_RETRY_DELAY_MS=50: the pauses are at least 50 then 100 ms (doubling).
    const gaps = starts.slice(1).map((s, i) => s.atMs - (starts[i]?.atMs ?? 0));
    assert.ok((gaps[0] ?? 0) >= 50 && (gaps[1] ?? 0) >= 100, `backoff doubles: ${gaps.join(', ')} ms`);
  });

  test('nothing listening at all: exit 6 after retries', async () => {
    const home = await makeTempHome();
    started.push(home);
    const port = await closedPort();
    const result = await runCli(
      ['login', '--no-browser'],
      cleanEnv(home.home, { LITELLM_PROXY_URL: `http://127.0.0.1:${port}` }),
    );
    assert.equal(result.code, EXIT_CODES.unreachable, result.stderr);
    assert.ok(
      result.stderr.includes(`cannot reach the gateway at http://127.0.0.1:${port} (ECONNREFUSED)`),
      result.stderr,
    );
    assert.equal(result.stderr.match(/trying again/g)?.length, 4, 'five attempts in all');
    assertClean(result);
  });
});
