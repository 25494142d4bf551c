/**
 * verification_uri_complete (docs/contract.md section 10.8) over real HTTP: off by default; on, the
 * start answer carries the browser URL with the code, opening it pre-fills the code page, and the
 * person still confirms (CLISSO-PREFILL-01 to -05).
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse as parseHtml } from 'node-html-parser';
import { HttpBrowser, readCompletionForm } from '../common/browserless-login.ts';
import { CLI_SSO_PATHS, joinUrl, parsePollAnswer } from '../protocol/cli-sso.ts';
import { ConfigError, loadProxyConfig } from './config.ts';
import { proxyEnv, TEST_CLIENT_ID, TEST_CLIENT_SECRET } from './test-support/proxy-env.ts';
import { type ProxyUnderTest, poll, postCode, startProxyForTest } from './test-support/proxy-under-test.ts';
import { type RecordingIdp, startRecordingIdp } from './test-support/recording-idp.ts';

let idp: RecordingIdp;
before(async () => {
  idp = await startRecordingIdp({
    clientId: TEST_CLIENT_ID,
    clientSecret: TEST_CLIENT_SECRET,
    userinfo: { preferred_username: 'dana', email: 'dana@example.com', teams: [] },
  });
});
after(async () => {
  await idp?.close();
});

async function startAnswer(gateway: ProxyUnderTest): Promise<{ text: string; body: Record<string, unknown> }> {
  const response = await fetch(joinUrl(gateway.url, CLI_SSO_PATHS.start), { method: 'POST' });
  assert.equal(response.status, 200);
  const text = await response.text();
  return { text, body: JSON.parse(text) as Record<string, unknown> };
}

/** The state the gateway sent to the IdP when the browser opened `url`. */
async function stateSentToIdp(url: string): Promise<string> {
  const answer = await fetch(url, { redirect: 'manual' });
  assert.equal(answer.status, 303);
  return new URL(answer.headers.get('location') ?? '').searchParams.get('state') ?? '';
}

/** The code page the browser reaches from `url`: the user_code field's value and the page text. */
async function codePage(url: string) {
  const browser = new HttpBrowser();
  const page = await browser.get(url);
  assert.equal(page.status, 200, page.body);
  const field = parseHtml(page.body).querySelector('input[name="user_code"]');
  return { value: field?.getAttribute('value'), text: page.body, form: readCompletionForm(page) };
}

describe('setting off (the default)', () => {
  let gateway: ProxyUnderTest;
  before(async () => {
    gateway = await startProxyForTest(proxyEnv(idp.endpoints));
  });
  after(() => gateway?.close());

  test('the start answer has no verification_uri_complete, and a user_code in the link is ignored', async () => {
    const { body } = await startAnswer(gateway);
    assert.deepEqual(Object.keys(body), ['login_id', 'poll_secret', 'user_code', 'expires_in']);
    const url = `${gateway.url}/sso/key/generate?source=litellm-cli&key=${body['login_id']}&user_code=${body['user_code']}`;
    assert.equal(await stateSentToIdp(url), `litellm-session-token:${body['login_id']}`);
    const page = await codePage(url);
    assert.equal(page.value, undefined, 'nothing pre-filled');
  });
});

describe('setting on', () => {
  let gateway: ProxyUnderTest;
  before(async () => {
    gateway = await startProxyForTest(proxyEnv(idp.endpoints, { ALLOW_CLI_SSO_VERIFICATION_URI_COMPLETE: 'true' }));
  });
  after(() => gateway?.close());

  test('the start answer carries the browser URL with the code, before expires_in', async () => {
    const { body } = await startAnswer(gateway);
    assert.deepEqual(Object.keys(body), [
      'login_id',
      'poll_secret',
      'user_code',
      'verification_uri_complete',
      'expires_in',
    ]);
    assert.equal(
      body['verification_uri_complete'],
      `${gateway.url}/sso/key/generate?source=litellm-cli&key=${body['login_id']}&user_code=${body['user_code']}`,
    );
  });

  test('opening it pre-fills the code; the CLI gets no key until the person confirms', async () => {
    const { body } = await startAnswer(gateway);
    const start = { loginId: String(body['login_id']), pollSecret: String(body['poll_secret']) };
    const uri = String(body['verification_uri_complete']);
    assert.equal(await stateSentToIdp(uri), `litellm-session-token:${start.loginId}:${body['user_code']}`);
    const page = await codePage(uri);
    assert.equal(page.value, body['user_code']);
    assert.match(page.text, /Confirm the verification code below/);
    assert.deepEqual((await poll(gateway.url, start)).body, { status: 'pending' }, 'no key before the confirmation');
    const done = await postCode(page.form.action, {
      user_code: String(page.value),
      browser_complete_token: page.form.browserCompleteToken,
    });
    assert.equal(done.status, 200);
    assert.equal(parsePollAnswer((await poll(gateway.url, start)).body).status, 'ready');
  });

  test('a user_code not of the form XXXX-XXXX in the code alphabet is not pre-filled', async () => {
    for (const code of ['abcd-efgh', 'ABCD-EFG1', 'ABCDEFGH', 'ABCD-EFGHJ', '"><b>x</b>', 'ABCD-EFGH:X']) {
      const { body } = await startAnswer(gateway);
      const url = new URL(`${gateway.url}/sso/key/generate?source=litellm-cli`);
      url.searchParams.set('key', String(body['login_id']));
      url.searchParams.set('user_code', code);
      assert.equal(await stateSentToIdp(url.toString()), `litellm-session-token:${body['login_id']}`, code);
      const page = await codePage(url.toString());
      assert.equal(page.value, undefined, code);
      assert.doesNotMatch(page.text, /<b>x<\/b>/);
    }
  });

  test('a path prefix in PROXY_BASE_URL is kept', async () => {
    const prefixed = await startProxyForTest(
      proxyEnv(idp.endpoints, {
        ALLOW_CLI_SSO_VERIFICATION_URI_COMPLETE: 'true',
        PROXY_BASE_URL: 'https://gateway.example/litellm',
      }),
    );
    try {
      const { body } = await startAnswer(prefixed);
      assert.equal(
        body['verification_uri_complete'],
        `https://gateway.example/litellm/sso/key/generate?source=litellm-cli&key=${body['login_id']}&user_code=${body['user_code']}`,
      );
    } finally {
      await prefixed.close();
    }
  });
});

describe('the setting in the config file', () => {
  async function configWith(yaml: string, env: Record<string, string> = {}) {
    const dir = await mkdtemp(join(tmpdir(), 'prefill-config-'));
    const file = join(dir, 'config.yaml');
    await writeFile(file, yaml);
    return loadProxyConfig(proxyEnv(idp.endpoints, { CONFIG_FILE_PATH: file, ...env }));
  }

  test('general_settings.allow_cli_sso_verification_uri_complete turns it on; the variable wins', async () => {
    const on = 'general_settings:\n  allow_cli_sso_verification_uri_complete: true\n';
    assert.equal((await configWith(on)).verificationUriComplete, true);
    assert.equal((await configWith('model_list: []\n')).verificationUriComplete, false);
    assert.equal(
      (await configWith(on, { ALLOW_CLI_SSO_VERIFICATION_URI_COMPLETE: 'false' })).verificationUriComplete,
      false,
    );
  });

  test('a value that is not a boolean is a configuration error naming the field', async () => {
    await assert.rejects(
      configWith('general_settings:\n  allow_cli_sso_verification_uri_complete: "yes"\n'),
      (error: unknown) =>
        error instanceof ConfigError && /general_settings\.allow_cli_sso_verification_uri_complete/.test(error.message),
    );
  });
});
