/**
 * `cli-sso-harness dev` as a developer uses it: started as a command (a child process of its own),
 * logged in against with the reference CLI (the browser's part played over HTTP, the mock IdP in
 * auto-login mode), stopped with SIGTERM.
 */
import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { completeLoginOverHttp } from '../../common/browserless-login.ts';
import { freePort } from '../../common/http-server.ts';
import { describeLogLine } from './dev-stack.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEADLINE_MS = 60_000;

const scratch: string[] = [];
after(() => Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true }))));

interface Running {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  exited: Promise<number | null>;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [join(ROOT, command), ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...env },
  });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, output: () => text, exited };
}

/** Polls `read` until `pattern` shows, with a deadline. */
async function waitFor(read: () => string, pattern: RegExp, what: string): Promise<RegExpMatchArray> {
  const deadline = Date.now() + DEADLINE_MS;
  while (Date.now() < deadline) {
    const found = read().match(pattern);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${what} within ${DEADLINE_MS} ms; output so far:\n${read()}`);
}

async function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  const free = await new Promise<boolean>((done) => {
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => done(true));
  });
  if (free) await new Promise((r) => server.close(r));
  return free;
}

test('one command starts both servers, a CLI logs in, each step shows, SIGTERM frees both ports', async () => {
  const dev = run('bin/cli-sso-harness.mjs', [
    'dev',
    '--idp-port',
    '0',
    '--gateway-port',
    '0',
    '--auto-login',
    'cli-test-user',
  ]);
  try {
    await waitFor(dev.output, /Ctrl-C stops both servers/, 'start-up banner');
    const idpUrl = (await waitFor(dev.output, /mock IdP: +(http:\/\/127\.0\.0\.1:\d+)/, 'IdP URL'))[1] as string;
    const gatewayUrl = (
      await waitFor(dev.output, /reference gateway: (http:\/\/127\.0\.0\.1:\d+)/, 'gateway URL')
    )[1] as string;
    assert.ok(dev.output().includes(`npx cli-sso login --base-url ${gatewayUrl}`), dev.output());
    assert.ok(dev.output().includes(`LITELLM_PROXY_URL=${gatewayUrl} litellm-proxy login`), dev.output());

    const home = await mkdtemp(join(tmpdir(), 'dev-home-'));
    scratch.push(home);
    const cli = run('bin/cli-sso.mjs', ['login', '--classic', '--no-browser', '--base-url', gatewayUrl], {
      HOME: home,
      CLI_SSO_POLL_INTERVAL_MS: '100',
    });
    const loginUrl = (await waitFor(cli.output, /(http:\S+\/sso\/key\/generate\S+)/, 'login URL'))[1] as string;
    const code = (await waitFor(cli.output, /Verification code: (\S+)/, 'verification code'))[1] as string;
    await completeLoginOverHttp({ loginUrl, userCode: code });
    assert.equal(await cli.exited, 0, cli.output());
    const loginId = new URL(loginUrl).searchParams.get('key') as string;

    const steps = [
      `login ${loginId}: started by a CLI`,
      `login ${loginId}: browser sent to the IdP to sign in`,
      'IdP: cli-test-user signed in (auto-login)',
      `login ${loginId}: signed in at the IdP as cli-test-user`,
      `login ${loginId}: code confirmed`,
      `login ${loginId}: key handed out to cli-test-user`,
    ];
    await waitFor(dev.output, /key handed out/, 'the key step');
    let from = 0;
    for (const step of steps) {
      const at = dev.output().indexOf(step, from);
      assert.ok(at >= 0, `"${step}" in order in:\n${dev.output()}`);
      from = at;
    }
    const stored = JSON.parse(await readFile(join(home, '.litellm', 'token.json'), 'utf8')) as { key: string };
    for (const secret of [stored.key, code, code.replace('-', '')]) {
      assert.ok(!dev.output().includes(secret), 'no key or code reaches the terminal');
    }

    const ports = [Number(new URL(idpUrl).port), Number(new URL(gatewayUrl).port)];
    dev.child.kill('SIGTERM');
    assert.equal(await dev.exited, 0, dev.output());
    assert.match(dev.output(), /stopping \(SIGTERM\)[\s\S]*stopped/);
    for (const port of ports) assert.ok(await portIsFree(port), `port ${port} is free again`);
  } finally {
    dev.child.kill('SIGKILL');
  }
});

test('a taken port is named with the flag that moves it, without a stack trace, and nothing is left running', async () => {
  const taken: Server = createServer();
  const port = await freePort();
  await new Promise<void>((done) => taken.listen(port, '127.0.0.1', done));
  const idpPort = await freePort();
  try {
    const dev = run('bin/cli-sso-harness.mjs', ['dev', '--idp-port', String(idpPort), '--gateway-port', String(port)]);
    assert.equal(await dev.exited, 1, dev.output());
    assert.match(dev.output(), new RegExp(`port ${port} on 127\\.0\\.0\\.1 is taken .*--gateway-port`));
    assert.doesNotMatch(dev.output(), /\n\s+at /, 'no stack trace');
    assert.ok(await portIsFree(idpPort), 'the IdP that had started is stopped');
    const idpTaken = run('bin/cli-sso-harness.mjs', ['dev', '--idp-port', String(port), '--gateway-port', '0']);
    assert.equal(await idpTaken.exited, 1);
    assert.match(idpTaken.output(), new RegExp(`port ${port} .*is taken \\(the mock IdP .*--idp-port`));
  } finally {
    await new Promise((done) => taken.close(done));
  }
});

test('configuration mistakes of both servers are named together, with exit code 2', async () => {
  const dev = run(
    'bin/cli-sso-harness.mjs',
    ['dev', '--idp-port', '0', '--gateway-port', '0', '--users', '/nonexistent/users.yaml'],
    { LITELLM_CLI_JWT_EXPIRATION_HOURS: 'soon' },
  );
  assert.equal(await dev.exited, 2, dev.output());
  assert.match(dev.output(), /\/nonexistent\/users\.yaml/);
  assert.match(dev.output(), /LITELLM_CLI_JWT_EXPIRATION_HOURS/);
  assert.doesNotMatch(dev.output(), /\n\s+at /);
  const usage = run('bin/cli-sso-harness.mjs', ['dev', '--gateway-port', '70000']);
  assert.equal(await usage.exited, 2);
  assert.match(usage.output(), /--gateway-port.*must be a port number/);
});

test('a login step names ids and users only, with the control characters of network values removed', () => {
  const line = (fields: Record<string, unknown>) =>
    describeLogLine(JSON.stringify({ time: '2026-01-02T03:04:05.000Z', ...fields }), 'reference-proxy');
  assert.equal(
    line({ event: 'flow_key_issued', login_id: 'cli-x', user_id: 'ann\u001b]0;pwned\u0007', team_id: null }),
    '03:04:05 login cli-x: key handed out to ann]0;pwned, valid until ',
  );
  assert.equal(
    line({ event: 'native_code_redeemed', user_id: 'ann', team_id: 'team-alpha' }),
    '03:04:05 PKCE login: the code bought tokens for ann (team team-alpha)',
  );
  assert.equal(
    line({ event: 'native_refresh_token_revoked', user_id: 'ann' }),
    "03:04:05 PKCE login: ann's refresh token revoked (logout)",
  );
  assert.equal(line({ event: 'request', path: '/sso/cli/start', status: 200 }), undefined);
  assert.equal(describeLogLine('not json', 'mock-idp'), undefined);
  assert.equal(
    describeLogLine(
      JSON.stringify({ time: 'x', event: 'interaction.login', username: 'bob', via: 'password' }),
      'mock-idp',
    ),
    'IdP: bob signed in (password)',
  );
});
