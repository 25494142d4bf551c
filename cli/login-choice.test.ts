/**
 * Which login `cli-sso login` runs, and which link it opens, against a LiteLLM-like gateway over
 * real HTTP: the PKCE login's discovery document is probed first (docs/contract.md section 10.6),
 * a 404 falls back to the classic login silently, a broken or foreign document is not followed
 * and the fallback is said; the start answer's `verification_uri_complete` (section 10.8) is opened
 * only when it is this login's URL on this gateway (CLISSO-CLI-29). The PKCE side, against the
 * reference gateway that advertises it, is in pkce-login.test.ts.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { listen } from '../common/http-server.ts';
import { formatUserCode } from '../protocol/cli-sso.ts';
import { cleanEnv } from './test-support/cli-process.ts';
import { runCliInProcess } from './test-support/in-process.ts';
import {
  type GatewayFault,
  gatewayAndHome,
  type LiteLlmLikeGatewayOptions,
} from './test-support/litellm-like-gateway.ts';

const FAKE_BROWSER = join(import.meta.dirname, 'test-support', 'fake-browser.mjs');
const LOGIN = ['login', '--timeout', '20'];

describe('login: which flow, which browser link', { concurrency: 4 }, () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  /** A gateway, a HOME, and BROWSER set to the fake browser, which records the URL and visits it. */
  async function setUp(options: LiteLlmLikeGatewayOptions = {}) {
    const { gateway, home } = await gatewayAndHome(cleanups, options);
    const browserLog = join(home.home, 'browser.log');
    const env = cleanEnv(home.home, {
      LITELLM_PROXY_URL: gateway.url,
      BROWSER: `${process.execPath} ${FAKE_BROWSER} %s`,
      FAKE_BROWSER_LOG: browserLog,
    });
    const opened = async () =>
      (await readFile(browserLog, 'utf8'))
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as string[])[0]);
    const stored = async () => JSON.parse(await readFile(home.tokenFile, 'utf8')) as Record<string, unknown>;
    return { gateway, home, env, opened, stored };
  }

  /** The plain browser URL the CLI printed on a line of its own. */
  function printedLoginUrl(stderr: string): string {
    const line = stderr.split('\n').find((l) => /^http\S+\/sso\/key\/generate\?/.test(l) && !l.includes('user_code'));
    assert.ok(line, `no login URL printed:\n${stderr}`);
    return line;
  }

  test('a gateway without the PKCE login (404): the classic login follows, without a word about it', async () => {
    const { gateway, env, opened, stored } = await setUp();
    const result = await runCliInProcess(LOGIN, env);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      gateway.journal.slice(0, 2).map((e) => `${e.route} ${e.status}`),
      ['discovery 404', 'start 200'],
      'the discovery document is asked for first, then the classic start',
    );
    assert.doesNotMatch(result.stderr, /PKCE|Warning/);
    assert.deepEqual(await opened(), [printedLoginUrl(result.stderr)]);
    assert.equal((await stored())['refresh_token'], undefined, 'a classic login has no refresh token');
  });

  test('--classic: no discovery request at all', async () => {
    const { gateway, env } = await setUp();
    const result = await runCliInProcess([...LOGIN, '--classic'], env);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      gateway.journal.filter((e) => e.route === 'discovery'),
      [],
    );
  });

  test('--pkce and --classic together: a usage error, nothing sent', async () => {
    const { gateway, env } = await setUp();
    const result = await runCliInProcess([...LOGIN, '--pkce', '--classic'], env);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /'--pkce' cannot be used with option '--classic'/);
    assert.equal(gateway.journal.length, 0);
  });

  for (const [what, fault, said] of [
    ['a 503', { kind: 'status', status: 503, body: { detail: 'down for a moment' } }, /answered HTTP 503/],
    ['an answer that is not JSON', { kind: 'malformed' }, /discovery document: field "\(body\)" must be JSON/],
    [
      'a document of another contract version',
      { kind: 'status', status: 200, body: (req: IncomingMessage) => ({ ...documentFor(req), contract_version: 2 }) },
      /field "contract_version" must be 1/,
    ],
  ] as Array<[string, GatewayFault, RegExp]>) {
    test(`discovery answered with ${what}: a warning says why, then the classic login`, async () => {
      const { gateway, env, stored } = await setUp({ faults: { discovery: fault } });
      const result = await runCliInProcess(LOGIN, env);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /^Warning: .*PKCE login.*$/m);
      assert.match(result.stderr, said);
      assert.match(result.stderr, /Logging in with the classic flow/);
      assert.ok(gateway.journal.some((e) => e.route === 'start'));
      assert.equal((await stored())['refresh_token'], undefined);
    });
  }

  test('a discovery document whose endpoints are on another server is not followed: nothing is sent there', async () => {
    const elsewhere: string[] = [];
    const other = await listen(
      (req, res) => {
        elsewhere.push(`${req.method} ${req.url}`);
        res.writeHead(500).end();
      },
      '127.0.0.1',
      0,
    );
    cleanups.push(() => other.close());
    const foreign = (req: IncomingMessage) => {
      const document = documentFor(req);
      for (const field of [
        'authorization_endpoint',
        'token_endpoint',
        'registration_endpoint',
        'revocation_endpoint',
      ]) {
        document[field] = `${other.url}${new URL(String(document[field])).pathname}`;
      }
      return document;
    };
    const { gateway, env, stored } = await setUp({
      faults: { discovery: { kind: 'status', status: 200, body: foreign } },
    });
    const result = await runCliInProcess(LOGIN, env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /^Warning: .*field "authorization_endpoint" must be on the gateway's origin/m);
    assert.deepEqual(elsewhere, [], 'requests sent to the server the document named');
    assert.ok(gateway.journal.some((e) => e.route === 'start'));
    assert.equal((await stored())['refresh_token'], undefined);
  });

  test('verification_uri_complete of this login on this gateway: opened; the plain URL and the code still printed', async () => {
    const { env, opened } = await setUp({
      verificationUriComplete: ({ baseUrl, loginId, userCode }) =>
        `${baseUrl}/sso/key/generate?source=litellm-cli&key=${loginId}&user_code=${formatUserCode(userCode)}`,
    });
    const result = await runCliInProcess(LOGIN, env);
    assert.equal(result.code, 0, result.stderr);
    const plain = printedLoginUrl(result.stderr);
    assert.match(result.stderr, /^Verification code: [A-Z0-9]{4}-[A-Z0-9]{4}$/m);
    const [link] = await opened();
    assert.ok(link, 'the browser was opened');
    assert.equal(new URL(link).searchParams.get('key'), new URL(plain).searchParams.get('key'));
    assert.match(link, /&user_code=[A-Z0-9]{4}-[A-Z0-9]{4}$/, 'the link with the code filled in was opened');
    assert.ok(result.stderr.indexOf('Verification code:') < result.stderr.indexOf('Opening the browser'));
    assert.doesNotMatch(result.stderr, /Warning/);
  });

  for (const [what, link, said] of [
    [
      'another origin',
      () => 'http://127.0.0.1:9/sso/key/generate?source=litellm-cli&key=cli-elsewhere&user_code=ABCD-EFGH',
      /verification_uri_complete must be on the gateway's origin/,
    ],
    [
      'a script URL',
      () => 'javascript:alert(document.cookie)',
      /verification_uri_complete must be on the gateway's origin/,
    ],
    [
      "another login's URL on the gateway",
      ({ baseUrl }: { baseUrl: string }) =>
        `${baseUrl}/sso/key/generate?source=litellm-cli&key=cli-someone-elses-login&user_code=ABCD-EFGH`,
      /verification_uri_complete must be this login's browser URL/,
    ],
  ] as Array<[string, LiteLlmLikeGatewayOptions['verificationUriComplete'], RegExp]>) {
    test(`verification_uri_complete leading to ${what}: a warning, and the plain URL is opened instead`, async () => {
      const { env, opened } = await setUp({ ...(link ? { verificationUriComplete: link } : {}) });
      const result = await runCliInProcess(LOGIN, env);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /^Warning: the gateway's start answer offers a browser link that is not used/m);
      assert.match(result.stderr, said);
      assert.deepEqual(await opened(), [printedLoginUrl(result.stderr)]);
    });
  }
});

/** A valid discovery document for the gateway the request reached. */
function documentFor(req: IncomingMessage): Record<string, unknown> {
  const base = `http://${req.headers.host}`;
  return {
    contract_version: 1,
    issuer: base,
    authorization_endpoint: `${base}/authorize`,
    token_endpoint: `${base}/token`,
    registration_endpoint: `${base}/register`,
    revocation_endpoint: `${base}/revoke`,
    resource: base,
    response_types_supported: ['code'],
    grant_types_supported: ['authorization_code', 'refresh_token'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['none'],
    revocation_endpoint_auth_methods_supported: ['none'],
  };
}
