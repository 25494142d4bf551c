/**
 * The CLI as a child process against the real reference proxy and mock IdP over HTTP; single
 * read-only commands after a login run in-process (runCli) to keep the set fast. The browser's part
 * is done over plain HTTP with the URL and the code the CLI printed
 * (common/browserless-login.ts); the mock IdP signs the user in without a page (auto-login).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { completeLoginOverHttp } from '../common/browserless-login.ts';
import { type MockIdp, startMockIdp } from '../mock-idp/index.ts';
import { loadProxyConfig, type RunningProxy, startReferenceProxy } from '../reference-proxy/index.ts';
import { EXIT_CODES } from './index.ts';
import {
  cleanEnv,
  makeTempHome,
  readLoginInstructions,
  runCli,
  startCli,
  type TempHome,
} from './test-support/cli-process.ts';
import { runCliInProcess } from './test-support/in-process.ts';

const LIBFAKETIME = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
].find((path) => existsSync(path));

async function startGateway(autoLogin: string): Promise<{ idp: MockIdp; proxy: RunningProxy }> {
  const idp = await startMockIdp({ host: '127.0.0.1', port: 0, autoLogin });
  try {
    return { idp, proxy: await startProxy(idp) };
  } catch (error) {
    // Else the IdP's server keeps this file's process alive after the failed `before`.
    await idp.close();
    throw error;
  }
}

async function startProxy(idp: MockIdp): Promise<RunningProxy> {
  const config = loadProxyConfig(
    {
      LITELLM_MASTER_KEY: 'sk-cli-test-master-key-0123456789',
      EXPERIMENTAL_UI_LOGIN: 'true',
      GENERIC_CLIENT_ID: 'litellm-cli-test',
      GENERIC_CLIENT_SECRET: 'litellm-cli-test-secret',
      GENERIC_AUTHORIZATION_ENDPOINT: idp.endpoints.authorization,
      GENERIC_TOKEN_ENDPOINT: idp.endpoints.token,
      GENERIC_USERINFO_ENDPOINT: idp.endpoints.userinfo,
      REFERENCE_PROXY_SQLITE_PATH: ':memory:',
      CONFIG_FILE_PATH: fileURLToPath(new URL('./test-support/models.yaml', import.meta.url)),
    },
    { port: 0 },
  );
  return startReferenceProxy(config, { host: '127.0.0.1', port: 0 });
}

/**
 * `cli-sso login --classic --no-browser`, with the browser's part done over HTTP from what the CLI
 * printed (the reference proxy also offers the PKCE login, which `login` alone would prefer).
 */
async function loginThroughProxy(args: string[], env: Record<string, string>) {
  const run = startCli(['login', '--classic', '--no-browser', ...args], env);
  // Nothing to read: a team question then ends in the "--team" error, as in a script.
  run.child.stdin?.end();
  try {
    const shown = await readLoginInstructions(run);
    await completeLoginOverHttp({ loginUrl: shown.loginUrl, userCode: shown.userCode });
    const { code } = await run.exited;
    return { code, stdout: run.stdout(), stderr: run.stderr() };
  } finally {
    await run.stop();
  }
}

describe('against the reference proxy and the mock IdP', () => {
  let gateway: { idp: MockIdp; proxy: RunningProxy };
  let teamGateway: { idp: MockIdp; proxy: RunningProxy };
  let home: TempHome;
  before(async () => {
    [gateway, teamGateway, home] = await Promise.all([
      startGateway('cli-test-user'),
      startGateway('bob'),
      makeTempHome(),
    ]);
  });
  after(async () => {
    for (const g of [gateway, teamGateway]) {
      await g?.proxy.close();
      await g?.idp.close();
    }
    await home?.remove();
  });

  test('login, whoami (exact expiry from the JWT), models list, whoami --verify, logout', async () => {
    const env = cleanEnv(home.home, { LITELLM_PROXY_URL: `${gateway.proxy.url}/` });
    const login = await loginThroughProxy([], env);
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stderr, /Logged in to http:\/\/127\.0\.0\.1:\d+ as cli-test-user\./);
    assert.match(login.stderr, /The key expires at .* \(in (1 d|23 h 59 min)\)\./);

    assert.equal((await stat(home.tokenFile)).mode & 0o777, 0o600);
    const stored = JSON.parse(await readFile(home.tokenFile, 'utf8')) as Record<string, unknown>;
    assert.equal(stored['base_url'], gateway.proxy.url);
    assert.equal(stored['user_id'], 'cli-test-user');
    assert.match(String(stored['key']), /^eyJ/);
    // The key's exp is iat + 24 h; the CLI stamps `timestamp` a moment after the proxy issued it.
    const lag = Number(stored['timestamp']) + 24 * 3600 - Number(stored['expires_at']);
    assert.ok(lag >= 0 && lag <= 30, `expires_at is the JWT exp, 24 h after issue (lag ${lag} s)`);

    const who = await runCliInProcess(['whoami', '--json'], env);
    assert.equal(who.code, 0, who.stderr);
    const report = JSON.parse(who.stdout) as Record<string, unknown>;
    assert.equal(report['userId'], 'cli-test-user');
    assert.equal(report['expirySource'], 'jwt-exp');
    assert.equal(report['expired'], false);
    assert.equal(report['expiresAt'], new Date(Number(stored['expires_at']) * 1000).toISOString());

    const models = await runCliInProcess(['models', 'list'], env);
    assert.equal(models.code, 0, models.stderr);
    assert.match(models.stdout, /^gpt-4o\s/m);
    assert.match(models.stdout, /^claude-sonnet\s/m);

    const verified = await runCliInProcess(['whoami', '--verify'], env);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /^Verified: +the gateway accepts the key$/m);
    assert.match(verified.stdout, /^Status: +valid$/m);

    const out = await runCli(['logout'], env);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /removed the login of cli-test-user/);
    assert.match(out.stderr, /stays valid on the gateway until/);
  });

  test('whoami after the key expired, with the clock moved 25 h by libfaketime: EXPIRED, exit 9', {
    skip: LIBFAKETIME ? false : 'libfaketime is not installed (apt-get install faketime)',
  }, async () => {
    const own = await makeTempHome();
    try {
      const env = cleanEnv(own.home, { LITELLM_PROXY_URL: gateway.proxy.url });
      assert.equal((await loginThroughProxy([], env)).code, 0);
      const later = { ...env, LD_PRELOAD: LIBFAKETIME ?? '', FAKETIME: '+25h' };
      const who = await runCli(['whoami'], later);
      assert.equal(who.code, EXIT_CODES.expired, who.stderr);
      assert.match(who.stdout, /^Status: +EXPIRED 1 h( \d+ min)? ago$/m);
      assert.match(who.stdout, /^Expires: +.* \(1 h( \d+ min)? ago; from the key's exp claim\)$/m);
      assert.match(who.stderr, /Run `cli-sso login`/);
      const token = await runCli(['token'], later);
      assert.equal(token.code, EXIT_CODES.expired);
      assert.equal(token.stdout, '');
    } finally {
      await own.remove();
    }
  });

  test('a user in two teams: exit 8 without --team, then --team team-beta is stored', async () => {
    const own = await makeTempHome();
    try {
      const env = cleanEnv(own.home, { LITELLM_PROXY_URL: teamGateway.proxy.url });
      const refused = await loginThroughProxy([], env);
      assert.equal(refused.code, EXIT_CODES.teamRequired, refused.stderr);
      assert.match(refused.stderr, /team-alpha \(Alpha Team\)\n {2}team-beta \(Beta Team\)/);

      const chosen = await loginThroughProxy(['--team', 'team-beta'], env);
      assert.equal(chosen.code, 0, chosen.stderr);
      assert.match(chosen.stderr, /as bob \(team team-beta\)/);
      const stored = JSON.parse(await readFile(own.tokenFile, 'utf8')) as Record<string, unknown>;
      assert.equal(stored['team_id'], 'team-beta');
      const who = await runCliInProcess(['whoami'], env);
      assert.match(who.stdout, /^Team: +team-beta$/m);
    } finally {
      await own.remove();
    }
  });
});
