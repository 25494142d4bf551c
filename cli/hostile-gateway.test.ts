/**
 * The CLI in front of a gateway that is hostile or merely unusual, over real HTTP against the
 * LiteLLM-like gateway: served under a path prefix (CLISSO-CLI-25), answers far too large
 * (CLISSO-CLI-24, -31), secrets holding line breaks, spaces or escape sequences, or repeated back in
 * error details (CLISSO-CLI-28, -30), and escape sequences on a terminal (CLISSO-CLI-23).
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { POLL_SECRET_HEADER } from '../protocol/cli-sso.ts';
import { EXIT_CODES } from './index.ts';
import { runCli } from './program.ts';
import { cleanEnv, type TempHome } from './test-support/cli-process.ts';
import { runCliInProcess, startCliInProcess } from './test-support/in-process.ts';
import {
  gatewayAndHome,
  type LiteLlmLikeGateway,
  type LiteLlmLikeGatewayOptions,
} from './test-support/litellm-like-gateway.ts';
import { waitFor } from './test-support/wait-for.ts';
import { TokenStore } from './token-store.ts';

const FAKE_BROWSER = join(import.meta.dirname, 'test-support', 'fake-browser.mjs');
const MIB = 1 << 20;
/** Far below what a flood would put on the wire; the kernel's socket buffers hold a few MiB. */
const READ_AT_MOST = 64 * MIB;

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function setUp(options: LiteLlmLikeGatewayOptions = {}): Promise<{ gateway: LiteLlmLikeGateway; home: TempHome }> {
  return gatewayAndHome(cleanups, options);
}

/** Store a login by hand, as another tool (or an earlier version) might have written it. */
async function storeLogin(
  home: TempHome,
  baseUrl: string,
  fields: { key: string; userId?: string; teamId?: string; userEmail?: string; userRole?: string },
) {
  await new TokenStore(home.tokenFile, true).write({
    baseUrl,
    key: fields.key,
    userId: fields.userId ?? 'cli-test-user',
    userEmail: fields.userEmail ?? null,
    userRole: fields.userRole ?? null,
    teamId: fields.teamId ?? null,
    authHeaderName: 'Authorization',
    timestamp: Math.floor(Date.now() / 1000),
    expiresAt: null,
  });
}

describe('a gateway served under a path prefix', () => {
  for (const suffix of ['/litellm', '/litellm/', '/litellm//']) {
    test(`base URL ${suffix}: login through the browser link, then models, whoami --verify and logout`, async () => {
      const { gateway, home } = await setUp({ pathPrefix: '/litellm' });
      const baseUrl = `${gateway.url}${suffix}`;
      const env = cleanEnv(home.home, { BROWSER: `${process.execPath} ${FAKE_BROWSER} %s` });

      // The fake browser visits the printed link; only a link under /litellm completes the login.
      const loggedIn = await runCliInProcess(['login', '--base-url', baseUrl, '--timeout', '20'], env);
      assert.equal(loggedIn.code, 0, loggedIn.stderr);
      const link = loggedIn.stderr.split('\n').find((l) => l.startsWith('http')) ?? '';
      assert.match(link, new RegExp(`^${gateway.url}/litellm/sso/key/generate\\?source=litellm-cli&key=cli-`));
      assert.match(loggedIn.stderr, new RegExp(`Logged in to ${gateway.url}/litellm as cli-test-user\\.`));

      const models = await runCliInProcess(['models', 'list', '--base-url', baseUrl], env);
      assert.equal(models.code, 0, models.stderr);
      assert.match(models.stdout, /gpt-4o/);
      const verified = await runCliInProcess(['whoami', '--verify', '--json', '--base-url', baseUrl], env);
      assert.equal(verified.code, 0, verified.stderr);
      assert.equal((JSON.parse(verified.stdout) as { verified: boolean }).verified, true);
      const loggedOut = await runCliInProcess(['logout', '--base-url', baseUrl], env);
      assert.equal(loggedOut.code, 0, loggedOut.stderr);

      const routes = gateway.journal.map((e) => `${e.method} ${e.url.split('?')[0]}`);
      assert.deepEqual(
        routes.filter((r) => !r.includes(' /litellm/') || r.includes('//')),
        [],
        `every request is under /litellm/, none with //: ${routes.join(', ')}`,
      );
      for (const route of ['start', 'browser', 'poll', 'models'] as const) {
        assert.ok(
          gateway.journal.some((e) => e.route === route),
          `no ${route} request reached the gateway: ${routes.join(', ')}`,
        );
      }
    });
  }

  test('a base URL with a query or a fragment is refused: routes are added to its path', async () => {
    const { home } = await setUp();
    for (const baseUrl of ['http://127.0.0.1:4000/litellm?x=1', 'http://127.0.0.1:4000/litellm#top']) {
      const result = await runCliInProcess(['login', '--base-url', baseUrl], cleanEnv(home.home));
      assert.equal(result.code, EXIT_CODES.usage, result.stderr);
      assert.match(result.stderr, /--base-url: must have no query \(\?\.\.\.\) or fragment/);
    }
  });
});

describe('an answer far too large', () => {
  const LOGIN = ['login', '--no-browser', '--timeout', '20'];
  const cases = [
    { route: 'start' as const, bytes: 700 * MIB, chunked: false, args: LOGIN },
    { route: 'start' as const, bytes: 300 * MIB, chunked: true, args: LOGIN },
    { route: 'poll' as const, bytes: 700 * MIB, chunked: true, args: LOGIN },
    { route: 'models' as const, bytes: 700 * MIB, chunked: false, args: ['models', 'list'] },
    { route: 'models' as const, bytes: 300 * MIB, chunked: true, args: ['models', 'list'] },
  ];
  for (const { route, bytes, chunked, args } of cases) {
    const size = `${bytes / MIB} MiB${chunked ? ' without Content-Length' : ''}`;
    test(`${route} answered with ${size}: a final error, read only in part, asked once`, async () => {
      const { gateway, home } = await setUp({ faults: { [route]: { kind: 'flood', bytes, chunked } } });
      if (route === 'models')
        await storeLogin(home, gateway.url, { key: await gateway.issueKey(Date.now() + 3600_000) });
      const run = startCliInProcess(args, cleanEnv(home.home, { LITELLM_PROXY_URL: gateway.url }));
      if (route === 'poll') {
        await waitFor(() => gateway.loginIds().length === 1, 10_000, 'the login to start');
        gateway.complete(gateway.loginIds()[0] ?? '');
      }
      const result = await run.result;
      assert.equal(result.code, EXIT_CODES.gatewayError, result.stderr);
      assert.match(result.stderr, /is larger than 1048576 bytes, more than any answer of the contract/);
      const flooded = gateway.journal.filter((e) => e.route === route);
      assert.equal(flooded.length, 1, `the ${route} request was sent ${flooded.length} times`);
      const entry = flooded[0];
      await waitFor(() => entry?.abandoned !== undefined, 10_000, 'the flood to end');
      assert.ok(entry?.abandoned, 'the CLI read the whole answer');
      assert.ok((entry?.bytesSent ?? 0) < READ_AT_MOST, `${entry?.bytesSent} bytes left the gateway`);
    });
  }
});

/** Random letters and digits: a piece of a secret that cannot turn up in the output by chance. */
function piece(): string {
  return Array.from(
    { length: 16 },
    () => 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789'[Math.floor(Math.random() * 56)],
  ).join('');
}

/** A secret holding a line break, spaces, a tab and an escape sequence, and its pieces. */
function oddSecret(): { secret: string; pieces: string[] } {
  const pieces = [`sk-${piece()}`, piece(), piece(), piece()];
  return { secret: `${pieces[0]}\n${pieces[1]} ${pieces[2]}\t\u001b[2J${pieces[3]}`, pieces };
}

function assertNoPiece(output: string, pieces: string[], what: string): void {
  const shown = pieces.filter((p) => output.includes(p));
  assert.deepEqual(shown, [], `${what}: the output holds ${shown.length} piece(s) of the secret:\n${output}`);
}

describe('secrets in what the CLI prints', () => {
  test('--api-key or LITELLM_PROXY_API_KEY holding a line break: refused before any request, never echoed', async () => {
    const { gateway, home } = await setUp();
    const { secret, pieces } = oddSecret();
    const byFlag = await runCliInProcess(
      ['models', 'list', '--api-key', secret, '--base-url', gateway.url],
      cleanEnv(home.home),
    );
    const byEnv = await runCliInProcess(
      ['models', 'list', '--base-url', gateway.url],
      cleanEnv(home.home, { LITELLM_PROXY_API_KEY: secret }),
    );
    for (const [result, source] of [
      [byFlag, '--api-key'],
      [byEnv, 'LITELLM_PROXY_API_KEY'],
    ] as const) {
      assert.equal(result.code, EXIT_CODES.usage, result.stderr);
      assert.match(result.stderr, new RegExp(`${source}: must be printable ASCII without spaces, line breaks`));
      assertNoPiece(result.stdout + result.stderr, pieces, source);
    }
    assert.equal(gateway.journal.length, 0, 'nothing was sent');
  });

  test('a stored key holding a line break: models list and whoami --verify refuse it, no retry, never echoed', async () => {
    const { gateway, home } = await setUp();
    const { secret, pieces } = oddSecret();
    await storeLogin(home, gateway.url, { key: secret });
    const env = cleanEnv(home.home);
    for (const args of [['models', 'list'], ['whoami', '--verify'], ['whoami', '--json'], ['logout']]) {
      const result = await runCliInProcess(args, env);
      assertNoPiece(result.stdout + result.stderr, pieces, args.join(' '));
      assert.doesNotMatch(result.stderr, /trying again/, `${args.join(' ')} retried`);
    }
    assert.equal(gateway.journal.length, 0, 'nothing was sent');
  });

  test('a gateway that repeats the key in its 503 and 401 details: retry lines and the error redact it', async () => {
    const { gateway, home } = await setUp();
    const key = await gateway.issueKey(Date.now() + 3600_000);
    await storeLogin(home, gateway.url, { key });
    // Shapes a broken gateway might use: the header as received, the key alone, JSON-quoted.
    const detail = `invalid Authorization "Bearer ${key}" (key ${key}, ${JSON.stringify({ key })})`;
    gateway.setFault('models', { kind: 'status', status: 503, body: { detail }, times: 2 });
    const retried = await runCliInProcess(['models', 'list'], cleanEnv(home.home));
    assert.equal(retried.code, 0, retried.stderr);
    assert.equal((retried.stderr.match(/trying again/g) ?? []).length, 2, retried.stderr);
    assertNoPiece(retried.stderr + retried.stdout, [key], 'retry lines');

    gateway.setFault('models', { kind: 'status', status: 401, body: { detail } });
    for (const args of [
      ['models', 'list'],
      ['whoami', '--verify'],
    ]) {
      const refused = await runCliInProcess(args, cleanEnv(home.home));
      assert.equal(refused.code, EXIT_CODES.refused, refused.stderr);
      assert.match(refused.stderr, /HTTP 401: invalid Authorization "Bearer \[redacted\]"/);
      assertNoPiece(refused.stderr + refused.stdout, [key], args.join(' '));
    }
  });

  test('a ready answer whose key holds a line break: the login fails, nothing is stored, the key never shown', async () => {
    const { gateway, home } = await setUp();
    const { secret, pieces } = oddSecret();
    gateway.setFault('poll', {
      kind: 'status',
      status: 200,
      body: { status: 'ready', key: secret, user_id: 'cli-test-user' },
    });
    const result = await runCliInProcess(
      ['login', '--no-browser', '--timeout', '20'],
      cleanEnv(home.home, { LITELLM_PROXY_URL: gateway.url }),
    );
    assert.equal(result.code, EXIT_CODES.gatewayError, result.stderr);
    assert.match(result.stderr, /handed out a key that cannot be used: a key must be printable ASCII/);
    assertNoPiece(result.stdout + result.stderr, pieces, 'login');
    assert.equal(await new TokenStore(home.tokenFile, true).read(), undefined, 'nothing was stored');
  });

  test('a poll secret holding a line break: no poll, never shown; one repeated in 503 and 403 details is redacted', async () => {
    const { gateway, home } = await setUp();
    const { secret, pieces } = oddSecret();
    gateway.setFault('start', {
      kind: 'status',
      status: 200,
      body: { login_id: `cli-${piece()}`, poll_secret: secret, user_code: 'ABCDEFGH' },
      times: 1,
    });
    const env = cleanEnv(home.home, { LITELLM_PROXY_URL: gateway.url });
    const odd = await runCliInProcess(['login', '--no-browser', '--timeout', '20'], env);
    assert.equal(odd.code, EXIT_CODES.gatewayError, odd.stderr);
    assertNoPiece(odd.stdout + odd.stderr, pieces, 'login');
    // The probe for a PKCE login (404 here), the start, and no poll.
    assert.deepEqual(
      gateway.journal.map((e) => e.route),
      ['discovery', 'start'],
    );

    const echoed: string[] = [];
    const echo = (req: IncomingMessage) => {
      const secretSent = String(req.headers[POLL_SECRET_HEADER]);
      echoed.push(secretSent);
      return { detail: `unknown poll secret ${secretSent} (${JSON.stringify(secretSent)})` };
    };
    gateway.setFault('poll', { kind: 'status', status: 503, body: echo, times: 2 });
    const run = startCliInProcess(['login', '--no-browser', '--timeout', '20'], env);
    await waitFor(() => echoed.length === 2, 10_000, 'two polls answered 503');
    gateway.setFault('poll', { kind: 'status', status: 403, body: echo });
    const result = await run.result;
    assert.equal(result.code, EXIT_CODES.refused, result.stderr);
    assert.match(result.stderr, /rejected this login's poll secret \(HTTP 403: unknown poll secret \[redacted\]/);
    assertNoPiece(result.stdout + result.stderr, [...new Set(echoed)], 'login');
  });
});

interface TerminalRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run with stdout and stderr both terminals: our own cursor moves are let through there. */
async function runAtTerminal(args: string[], env: Record<string, string>): Promise<TerminalRun> {
  const capture = (isTTY: boolean) => {
    let text = '';
    const stream = new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        text += chunk.toString();
        done();
      },
    });
    return { stream: isTTY ? Object.assign(stream, { isTTY }) : stream, text: () => text };
  };
  // stderr's terminal is the stderrIsTTY flag; stdout's is the stream's own isTTY.
  const [stdout, stderr] = [capture(true), capture(false)];
  const code = await runCli({
    argv: args,
    env,
    stdin: new PassThrough(),
    stdout: stdout.stream,
    stderr: stderr.stream,
    stdinIsTTY: false,
    stderrIsTTY: true,
    signal: new AbortController().signal,
    platform: 'linux',
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/**
 * What a terminal filter that lets our own progress line through would also let through, had it
 * come from the network: the cursor moved up and everything below erased (a screen clear); and what
 * any filter must drop (a window title, a link, an 8-bit CSI, a carriage return over our line).
 */
const CURSOR_ATTACK = '\u001b[17A\u001b[J';
const HOSTILE = `${CURSOR_ATTACK}\u001b]0;owned\u0007\u001b]8;;https://evil.example/\u001b\\here\u001b]8;;\u001b\\\u009b2J\r`;

function assertNoHostileSequence(output: string, what: string): void {
  for (const sequence of ['\u001b[17A', '\u001b[J', '\u001b]0;', '\u001b]8;;', '\u009b', 'owned\u0007']) {
    assert.ok(
      !output.includes(sequence),
      `${what}: ${JSON.stringify(sequence)} reached the terminal:\n${JSON.stringify(output)}`,
    );
  }
}

describe('escape sequences from the gateway, on a terminal', () => {
  test('error detail, user id, team id, email and role from the key, model ids and owners', async () => {
    const { gateway, home } = await setUp();
    const env = cleanEnv(home.home, { LITELLM_PROXY_URL: gateway.url });

    gateway.setFault('start', {
      kind: 'status',
      status: 403,
      body: { detail: `CLI login disabled${HOSTILE}` },
      times: 1,
    });
    const refused = await runAtTerminal(['login', '--no-browser'], env);
    assert.equal(refused.code, EXIT_CODES.refused, refused.stderr);
    assertNoHostileSequence(refused.stderr, 'start error detail');
    assert.match(refused.stderr, /CLI login disabled\\x1b\[17A\\x1b\[J/, 'the sequence is shown as text');

    // A JWT key whose claims carry an email and a role (the CLI reads and stores them, unverified).
    const claims = Buffer.from(
      JSON.stringify({ email: `e@x.example${HOSTILE}`, user_role: `admin${HOSTILE}` }),
    ).toString('base64url');
    gateway.setFault('poll', {
      kind: 'status',
      status: 200,
      body: {
        status: 'ready',
        key: `eyJhbGciOiJIUzI1NiJ9.${claims}.c2ln`,
        user_id: `bob${HOSTILE}`,
        team_id: `team${HOSTILE}`,
      },
      times: 1,
    });
    const loggedIn = await runAtTerminal(['login', '--no-browser', '--timeout', '20'], env);
    assert.equal(loggedIn.code, 0, loggedIn.stderr);
    assertNoHostileSequence(loggedIn.stderr, 'login');
    assert.match(loggedIn.stderr, /as bob\\x1b\[17A/);
    const who = await runAtTerminal(['whoami'], env);
    assertNoHostileSequence(who.stdout + who.stderr, 'whoami');
    assert.match(who.stdout, /User: +bob\\x1b\[17A/);
    assert.match(who.stdout, /e@x\.example\\x1b\[17A/);
    assert.match(who.stdout, /admin\\x1b\[17A/);
    assert.match(who.stdout, /Team: +team\\x1b\[17A/);

    await storeLogin(home, gateway.url, { key: await gateway.issueKey(Date.now() + 3600_000) });
    gateway.setFault('models', {
      kind: 'status',
      status: 200,
      body: { data: [{ id: `gpt${HOSTILE}`, object: 'model', created: 1e20, owned_by: `me${HOSTILE}` }] },
      times: 1,
    });
    const models = await runAtTerminal(['models', 'list'], env);
    assert.equal(models.code, 0, models.stderr);
    assertNoHostileSequence(models.stdout + models.stderr, 'models list');
    assert.match(models.stdout, /gpt\\x1b\[17A/);
    assert.match(models.stdout, /me\\x1b\[17A/);
  });

  test('team ids and names in the list a non-interactive login prints', async () => {
    const { gateway, home } = await setUp({
      teams: [
        { teamId: `team-a${HOSTILE}`, teamAlias: `Alpha${HOSTILE}` },
        { teamId: 'team-b', teamAlias: 'Beta' },
      ],
    });
    // Nothing to read on standard input: the CLI lists the teams and ends, asking for --team.
    const stdin = new PassThrough();
    stdin.end();
    const run = startCliInProcess(
      ['login', '--no-browser', '--timeout', '20'],
      cleanEnv(home.home, { LITELLM_PROXY_URL: gateway.url }),
      { stderrIsTTY: true, stdin },
    );
    await waitFor(() => gateway.loginIds().length === 1, 10_000, 'the login to start');
    gateway.complete(gateway.loginIds()[0] ?? '');
    const result = await run.result;
    assert.equal(result.code, EXIT_CODES.teamRequired, result.stderr);
    assertNoHostileSequence(result.stderr, 'team list');
    assert.match(result.stderr, /team-a\\x1b\[17A.* \(Alpha\\x1b\[17A/);
  });
});
