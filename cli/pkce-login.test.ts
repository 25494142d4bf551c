/**
 * `cli-sso login --pkce` against the real reference gateway's PKCE-native login (docs/contract.md
 * section 10.6) and the mock IdP (auto-login), over HTTP. The test plays the browser: it opens the
 * authorize URL the CLI printed, goes through the gateway's sign-in and the IdP, and answers the
 * consent page, whose redirect lands on the CLI's loopback listener. Then `token` renews the key
 * near its expiry (the CLI's clock is moved, no waiting) and `logout` revokes the refresh token.
 */
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseHtml } from 'node-html-parser';
import { completeLoginOverHttp, HttpBrowser, type HttpPage } from '../common/browserless-login.ts';
import { ManualClock } from '../common/clock.ts';
import { type MockIdp, startMockIdp } from '../mock-idp/index.ts';
import { loadProxyConfig, type RunningProxy, startReferenceProxy } from '../reference-proxy/index.ts';
import { EXIT_CODES } from './index.ts';
import { REPLIES } from './loopback-listener.ts';
import { cleanEnv, closedPort, makeTempHome, startCli, type TempHome } from './test-support/cli-process.ts';
import { runCliInProcess, startCliInProcess } from './test-support/in-process.ts';
import { waitFor } from './test-support/wait-for.ts';

const AUTHORIZE_LINE = /^(http\S+\/authorize\?\S+)$/m;

let idp: MockIdp;
let proxy: RunningProxy;

before(async () => {
  idp = await startMockIdp({ host: '127.0.0.1', port: 0, autoLogin: 'cli-test-user' });
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
  proxy = await startReferenceProxy(config, { host: '127.0.0.1', port: 0 });
});
after(async () => {
  await proxy?.close();
  await idp?.close();
});

interface Consent {
  browser: HttpBrowser;
  authorizeUrl: URL;
  page: HttpPage;
}

/** The browser: from the authorize URL the CLI printed, through the sign-in, to the consent page. */
async function openConsent(stderr: () => string): Promise<Consent> {
  await waitFor(() => AUTHORIZE_LINE.test(stderr()), 30_000, 'the authorize URL on stderr');
  const authorizeUrl = new URL(stderr().match(AUTHORIZE_LINE)?.[1] ?? '');
  const browser = new HttpBrowser();
  const page = await browser.get(authorizeUrl.toString());
  assert.equal(page.status, 200, `${page.url}: ${page.body.slice(0, 300)}`);
  return { browser, authorizeUrl, page };
}

/** Press Approve or Deny; returns the page the CLI's loopback listener answered. */
async function decide(consent: Consent, decision: 'approve' | 'deny'): Promise<HttpPage> {
  const root = parseHtml(consent.page.body);
  const form = root.querySelector('form');
  assert.ok(form, 'a consent form');
  const fields: Record<string, string> = {
    flow: root.querySelector('input[name="flow"]')?.getAttribute('value') ?? '',
    decision,
  };
  const team = root.querySelector('input[name="team_id"]')?.getAttribute('value');
  if (team !== undefined) fields['team_id'] = team;
  return consent.browser.postForm(new URL(form.getAttribute('action') ?? '', consent.page.url).toString(), fields);
}

async function refresh(clientId: string, refreshToken: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${proxy.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId }),
  });
  return { status: response.status, body: await response.json() };
}

async function storedFile(home: TempHome): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(home.tokenFile, 'utf8')) as Record<string, unknown>;
}

/** A whole `login --pkce` in this process, approved in the browser. */
async function loggedIn(home: TempHome): Promise<Record<string, unknown>> {
  const env = cleanEnv(home.home, { LITELLM_PROXY_URL: proxy.url });
  const run = startCliInProcess(['login', '--pkce', '--no-browser'], env);
  const landed = await decide(await openConsent(run.stderr), 'approve');
  assert.equal(landed.body.trim(), REPLIES.signedIn);
  const result = await run.result;
  assert.equal(result.code, 0, result.stderr);
  return storedFile(home);
}

describe('login --pkce against the reference gateway', () => {
  test('the whole walk as a user runs it: discovery, register, consent, loopback, token; the key works', async () => {
    const home = await makeTempHome();
    try {
      const env = cleanEnv(home.home, { LITELLM_PROXY_URL: `${proxy.url}/` });
      const run = startCli(['login', '--pkce', '--no-browser'], env);
      try {
        const consent = await openConsent(run.stderr);
        const query = consent.authorizeUrl.searchParams;
        assert.equal(query.get('response_type'), 'code');
        assert.equal(query.get('code_challenge_method'), 'S256');
        assert.match(query.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
        assert.equal(query.get('resource'), proxy.url);
        const redirectUri = new URL(query.get('redirect_uri') ?? '');
        assert.equal(redirectUri.hostname, '127.0.0.1');
        assert.equal(redirectUri.pathname, '/callback');
        assert.match(consent.page.body, /cli-test-user/);

        // A redirect that is not this sign-in's: 400 text, and the CLI keeps waiting.
        const forged = new URL(redirectUri);
        forged.searchParams.set('code', 'llm_gcode_forged');
        forged.searchParams.set('state', 'not-the-state');
        const wrongState = await fetch(forged);
        assert.equal(wrongState.status, 400);
        assert.match(wrongState.headers.get('content-type') ?? '', /^text\/plain/);
        assert.equal((await wrongState.text()).trim(), REPLIES.wrongState);
        const forgedDenial = await fetch(new URL('/callback?error=access_denied&state=other', redirectUri));
        assert.equal(forgedDenial.status, 400);
        const noState = await fetch(new URL('/callback?code=x', redirectUri));
        assert.equal(noState.status, 400);
        assert.equal((await fetch(new URL('/elsewhere', redirectUri))).status, 404);

        const landed = await decide(consent, 'approve');
        assert.equal(landed.status, 200);
        assert.equal(landed.body.trim(), REPLIES.signedIn);
        const { code } = await run.exited;
        assert.equal(code, 0, run.stderr());
      } finally {
        await run.stop();
      }
      assert.match(run.stderr(), /Logged in to http:\/\/127\.0\.0\.1:\d+ as cli-test-user\./);

      assert.equal((await stat(home.tokenFile)).mode & 0o777, 0o600);
      const stored = await storedFile(home);
      assert.equal(stored['base_url'], proxy.url);
      assert.equal(stored['user_id'], 'cli-test-user');
      assert.equal(stored['jwt_token'], stored['key']);
      assert.equal(stored['token_endpoint'], `${proxy.url}/token`);
      assert.equal(stored['revocation_endpoint'], `${proxy.url}/revoke`);
      assert.equal(stored['resource'], proxy.url);
      assert.match(String(stored['client_id']), /^llm_dcrc_/);
      assert.match(String(stored['refresh_token']), /^llm_srefresh_/);
      assert.equal(typeof stored['expires_at'], 'number');
      for (const secret of [stored['key'], stored['refresh_token']]) {
        assert.ok(!run.stderr().includes(String(secret)), 'a secret reached the terminal');
        assert.ok(!run.stdout().includes(String(secret)), 'a secret reached stdout');
      }

      const models = await fetch(`${proxy.url}/v1/models`, { headers: { authorization: `Bearer ${stored['key']}` } });
      assert.equal(models.status, 200);
      const listed = await runCliInProcess(['models', 'list'], env);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /^gpt-4o\s/m);
    } finally {
      await home.remove();
    }
  });

  test('Deny on the consent page: "not approved", exit 4, nothing stored', async () => {
    const home = await makeTempHome();
    try {
      const env = cleanEnv(home.home, { LITELLM_PROXY_URL: proxy.url });
      const run = startCliInProcess(['login', '--pkce', '--no-browser'], env);
      const landed = await decide(await openConsent(run.stderr), 'deny');
      assert.equal(landed.body.trim(), REPLIES.denied);
      const result = await run.result;
      assert.equal(result.code, EXIT_CODES.refused, result.stderr);
      assert.match(result.stderr, /Error: the sign-in was not approved in the browser \(access_denied\)/);
      await assert.rejects(stat(home.tokenFile), { code: 'ENOENT' });
    } finally {
      await home.remove();
    }
  });

  test('token renews the key when fewer than 360 s remain; the refresh token rotates', async () => {
    const home = await makeTempHome();
    try {
      const env = cleanEnv(home.home, { LITELLM_PROXY_URL: proxy.url });
      const first = await loggedIn(home);
      const expiresAt = Number(first['expires_at']);

      // Ten minutes left: the stored key is printed as it is.
      const early = await runCliInProcess(['token'], env, { clock: new ManualClock((expiresAt - 600) * 1000) });
      assert.equal(early.code, 0, early.stderr);
      assert.equal(early.stdout, `${first['key']}\n`);
      assert.equal((await storedFile(home))['refresh_token'], first['refresh_token']);

      // Five minutes left: renewed first.
      const late = await runCliInProcess(['token'], env, { clock: new ManualClock((expiresAt - 300) * 1000) });
      assert.equal(late.code, 0, late.stderr);
      const second = await storedFile(home);
      assert.notEqual(second['key'], first['key']);
      assert.notEqual(second['refresh_token'], first['refresh_token']);
      assert.equal(second['client_id'], first['client_id']);
      assert.equal(late.stdout, `${second['key']}\n`);
      assert.equal((await stat(home.tokenFile)).mode & 0o777, 0o600);
      const models = await fetch(`${proxy.url}/v1/models`, { headers: { authorization: `Bearer ${second['key']}` } });
      assert.equal(models.status, 200);

      // The old refresh token is spent. Put the old login back: the renewal is refused, the key
      // still valid is used with a warning; once it has expired, exit 9.
      await writeFile(home.tokenFile, JSON.stringify(first), { mode: 0o600 });
      const refused = await runCliInProcess(['token'], env, { clock: new ManualClock((expiresAt - 100) * 1000) });
      assert.equal(refused.code, 0, refused.stderr);
      assert.equal(refused.stdout, `${first['key']}\n`);
      assert.match(refused.stderr, /Warning: the gateway refused to renew the key \(HTTP 400 invalid_grant/);
      assert.match(refused.stderr, /Run `cli-sso login --pkce` before then\./);
      const gone = await runCliInProcess(['token'], env, { clock: new ManualClock((expiresAt + 10) * 1000) });
      assert.equal(gone.code, EXIT_CODES.expired, gone.stderr);
      assert.equal(gone.stdout, '');
      assert.match(gone.stderr, /Error: the gateway refused to renew the key/);
      for (const secret of [first['refresh_token'], second['refresh_token']]) {
        assert.ok(!`${refused.stderr}${gone.stderr}`.includes(String(secret)), 'a refresh token was printed');
      }
    } finally {
      await home.remove();
    }
  });

  test('a new login revokes the refresh token of the login it replaces, after saving', async () => {
    const home = await makeTempHome();
    try {
      const first = await loggedIn(home);
      const second = await loggedIn(home);
      assert.notEqual(second['refresh_token'], first['refresh_token']);
      const old = await refresh(String(first['client_id']), String(first['refresh_token']));
      assert.equal(old.status, 400);
      assert.equal((old.body as { error: string }).error, 'invalid_grant');
      assert.equal((await storedFile(home))['refresh_token'], second['refresh_token']);
    } finally {
      await home.remove();
    }
  });

  test('Ctrl-C while waiting for the browser: exit 130, the loopback listener closed', async () => {
    const home = await makeTempHome();
    try {
      const env = cleanEnv(home.home, { LITELLM_PROXY_URL: proxy.url });
      const controller = new AbortController();
      const run = startCliInProcess(['login', '--pkce', '--no-browser'], env, { signal: controller.signal });
      await waitFor(() => /Waiting/.test(run.stderr()), 30_000, 'the wait');
      const redirectUri = new URL(run.stderr().match(AUTHORIZE_LINE)?.[1] ?? '').searchParams.get('redirect_uri');
      controller.abort();
      const result = await run.result;
      assert.equal(result.code, EXIT_CODES.cancelled, result.stderr);
      await assert.rejects(fetch(redirectUri ?? ''), 'nothing listens any more');
      await assert.rejects(stat(home.tokenFile), { code: 'ENOENT' });
    } finally {
      await home.remove();
    }
  });

  test('nobody answers in the browser: --timeout ends the wait with exit 5', async () => {
    const home = await makeTempHome();
    try {
      const env = cleanEnv(home.home, { LITELLM_PROXY_URL: proxy.url });
      const result = await runCliInProcess(['login', '--pkce', '--no-browser', '--timeout', '1'], env);
      assert.equal(result.code, EXIT_CODES.timedOut, result.stderr);
      assert.match(result.stderr, /the sign-in was not completed in the browser within 1 s/);
    } finally {
      await home.remove();
    }
  });

  test('login without a flag prefers the PKCE login the gateway advertises: the key comes from /token', async () => {
    const home = await makeTempHome();
    try {
      const env = cleanEnv(home.home, { LITELLM_PROXY_URL: proxy.url });
      const run = startCliInProcess(['login', '--no-browser', '--timeout', '40'], env);
      const landed = await decide(await openConsent(run.stderr), 'approve');
      assert.equal(landed.body.trim(), REPLIES.signedIn);
      const result = await run.result;
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /The gateway offers the PKCE login: using it/);
      assert.doesNotMatch(result.stderr, /Verification code:|Warning/);
      const stored = await storedFile(home);
      assert.match(String(stored['refresh_token']), /^llm_srefresh_/);
      const renewed = await refresh(String(stored['client_id']), String(stored['refresh_token']));
      assert.equal(renewed.status, 200, 'the stored refresh token is one /token issued');
    } finally {
      await home.remove();
    }
  });

  test('--classic, and --team, ask for the classic login although the gateway advertises the PKCE one', async () => {
    const home = await makeTempHome();
    try {
      const env = cleanEnv(home.home, { LITELLM_PROXY_URL: proxy.url });
      const run = startCliInProcess(['login', '--classic', '--no-browser', '--timeout', '40'], env);
      await waitFor(() => /^Session id: /m.test(run.stderr()), 30_000, 'the classic instructions');
      const loginUrl = run.stderr().match(/^(http\S+\/sso\/key\/generate\?\S+)$/m)?.[1] ?? '';
      const userCode = run.stderr().match(/^Verification code: (\S+)$/m)?.[1] ?? '';
      await completeLoginOverHttp({ loginUrl, userCode });
      const result = await run.result;
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /PKCE|authorize/);
      const stored = await storedFile(home);
      assert.equal(stored['refresh_token'], undefined, 'a classic login has no refresh token');
      assert.equal(stored['user_id'], 'cli-test-user');

      const controller = new AbortController();
      const withTeam = startCliInProcess(['login', '--team', 'team-a', '--no-browser'], env, {
        signal: controller.signal,
      });
      await waitFor(() => /^Session id: /m.test(withTeam.stderr()), 30_000, 'the classic instructions');
      controller.abort();
      assert.equal((await withTeam.result).code, EXIT_CODES.cancelled);
      assert.doesNotMatch(withTeam.stderr(), /PKCE|authorize/);
    } finally {
      await home.remove();
    }
  });

  test('logout revokes the refresh token: /token then refuses it', async () => {
    const home = await makeTempHome();
    try {
      const env = cleanEnv(home.home, { LITELLM_PROXY_URL: proxy.url });
      const stored = await loggedIn(home);
      const out = await runCliInProcess(['logout'], env);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stderr, /The gateway revoked the refresh token/);
      await assert.rejects(stat(home.tokenFile), { code: 'ENOENT' });
      const answer = await refresh(String(stored['client_id']), String(stored['refresh_token']));
      assert.equal(answer.status, 400);
      assert.equal((answer.body as { error: string }).error, 'invalid_grant');
    } finally {
      await home.remove();
    }
  });
});

describe('login --pkce: what the CLI refuses', () => {
  let fake: Server;
  let fakeUrl: string;
  let discovery: Record<string, unknown> = {};
  before(async () => {
    fake = createServer((req, res) => {
      if (req.url === '/.well-known/litellm-cli-auth' || req.url === '/llm/.well-known/litellm-cli-auth') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(discovery));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => fake?.close(resolve));
  });

  function document(overrides: Record<string, unknown>): Record<string, unknown> {
    return {
      contract_version: 1,
      issuer: fakeUrl,
      authorization_endpoint: `${fakeUrl}/authorize`,
      token_endpoint: `${fakeUrl}/token`,
      registration_endpoint: `${fakeUrl}/register`,
      revocation_endpoint: `${fakeUrl}/revoke`,
      resource: fakeUrl,
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
      revocation_endpoint_auth_methods_supported: ['none'],
      ...overrides,
    };
  }

  const cases: Array<[string, () => Record<string, unknown>, RegExp]> = [
    [
      'a token endpoint on another origin',
      () => ({ token_endpoint: 'https://collector.example/token' }),
      /field "token_endpoint" must be on the gateway's origin http:\/\/127\.0\.0\.1:\d+ and under its path/,
    ],
    [
      'an issuer that is not the gateway URL',
      () => ({ issuer: 'https://other.example' }),
      /field "issuer" must be the gateway URL the CLI was given/,
    ],
    ['contract version 2', () => ({ contract_version: 2 }), /field "contract_version" must be 1/],
    [
      'no S256',
      () => ({ code_challenge_methods_supported: ['plain'] }),
      /field "code_challenge_methods_supported" must include "S256"/,
    ],
    [
      'no public clients',
      () => ({ token_endpoint_auth_methods_supported: ['client_secret_basic'] }),
      /field "token_endpoint_auth_methods_supported" must include "none"/,
    ],
  ];
  for (const [name, overrides, message] of cases) {
    test(`a discovery document with ${name}: exit 7 naming the field and the rule`, async () => {
      const home = await makeTempHome();
      try {
        discovery = document(overrides());
        const result = await runCliInProcess(
          ['login', '--pkce', '--no-browser'],
          cleanEnv(home.home, { LITELLM_PROXY_URL: fakeUrl }),
        );
        assert.equal(result.code, EXIT_CODES.gatewayError, result.stderr);
        assert.match(result.stderr, message);
        assert.doesNotMatch(result.stderr, /authorize\?/, 'no authorize URL was shown');
      } finally {
        await home.remove();
      }
    });
  }

  test('a gateway under a path prefix: the issuer and every endpoint must carry it', async () => {
    const home = await makeTempHome();
    try {
      const env = cleanEnv(home.home, { LITELLM_PROXY_URL: `${fakeUrl}/llm/` });
      const prefixed = `${fakeUrl}/llm`;
      const under = {
        issuer: prefixed,
        authorization_endpoint: `${prefixed}/authorize`,
        token_endpoint: `${prefixed}/token`,
        registration_endpoint: `${prefixed}/register`,
        revocation_endpoint: `${prefixed}/revoke`,
        resource: prefixed,
      };
      // Accepted: the CLI goes on to register (which this fake gateway does not serve).
      discovery = document(under);
      const accepted = await runCliInProcess(['login', '--pkce', '--no-browser'], env);
      assert.equal(accepted.code, EXIT_CODES.refused, accepted.stderr);
      assert.match(accepted.stderr, /registering the CLI as a client failed: HTTP 404/);

      discovery = document({ ...under, token_endpoint: `${fakeUrl}/token` });
      const outside = await runCliInProcess(['login', '--pkce', '--no-browser'], env);
      assert.equal(outside.code, EXIT_CODES.gatewayError, outside.stderr);
      assert.match(
        outside.stderr,
        /field "token_endpoint" must be on the gateway's origin .* and under its path \/llm/,
      );

      discovery = document({ ...under, issuer: fakeUrl });
      const noPrefix = await runCliInProcess(['login', '--pkce', '--no-browser'], env);
      assert.equal(noPrefix.code, EXIT_CODES.gatewayError, noPrefix.stderr);
      assert.match(
        noPrefix.stderr,
        /field "issuer" must be the gateway URL the CLI was given, http:\/\/127\.0\.0\.1:\d+\/llm/,
      );
    } finally {
      await home.remove();
    }
  });

  test('a gateway without the PKCE login: exit 4, use login without --pkce', async () => {
    const home = await makeTempHome();
    try {
      const result = await runCliInProcess(
        ['login', '--pkce'],
        cleanEnv(home.home, { LITELLM_PROXY_URL: `${fakeUrl}/prefix` }),
      );
      assert.equal(result.code, EXIT_CODES.refused, result.stderr);
      assert.match(result.stderr, /offers no PKCE login .*HTTP 404/);
      assert.match(result.stderr, /without --pkce/);
    } finally {
      await home.remove();
    }
  });

  test('--team with --pkce is a usage error', async () => {
    const home = await makeTempHome();
    try {
      const result = await runCliInProcess(['login', '--pkce', '--team', 't'], cleanEnv(home.home));
      assert.equal(result.code, EXIT_CODES.usage, result.stderr);
      assert.match(result.stderr, /the team is chosen on the consent page/);
    } finally {
      await home.remove();
    }
  });

  test('logout when the revocation endpoint cannot be reached: said, and the login is removed anyway', async () => {
    const home = await makeTempHome();
    try {
      const port = await closedPort();
      const dead = `http://127.0.0.1:${port}`;
      const { mkdir } = await import('node:fs/promises');
      await mkdir(`${home.home}/.litellm`, { recursive: true, mode: 0o700 });
      await writeFile(
        home.tokenFile,
        JSON.stringify({
          base_url: dead,
          key: 'opaque-key-0123456789',
          user_id: 'ada',
          timestamp: 1_764_000_000,
          expires_at: null,
          refresh_token: 'llm_srefresh_secret-refresh-token',
          client_id: 'llm_dcrc_client',
          token_endpoint: `${dead}/token`,
          revocation_endpoint: `${dead}/revoke`,
          resource: dead,
        }),
        { mode: 0o600 },
      );
      const out = await runCliInProcess(['logout'], cleanEnv(home.home));
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stderr, /Warning: revoking the refresh token failed \(.*cannot reach the gateway/);
      assert.match(out.stderr, /the local login is removed anyway/);
      assert.match(out.stderr, /Logged out: removed the login of ada/);
      assert.doesNotMatch(out.stderr, /secret-refresh-token/);
      await assert.rejects(stat(home.tokenFile), { code: 'ENOENT' });
    } finally {
      await home.remove();
    }
  });
});
