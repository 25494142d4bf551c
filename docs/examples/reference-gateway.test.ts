// A CLI SSO login against the reference gateway and the mock IdP, both in this process, without a
// browser: run with `node --test`.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { completeLoginOverHttp, type MockIdp, startMockIdp } from 'cli-sso-harness/mock-idp';
import {
  browserLoginUrl,
  CLI_SSO_PATHS,
  joinUrl,
  POLL_SECRET_HEADER,
  parsePollAnswer,
  parseStartAnswer,
} from 'cli-sso-harness/protocol';
import { loadProxyConfig, type RunningProxy, startReferenceProxy } from 'cli-sso-harness/reference-proxy';

let idp: MockIdp;
let gateway: RunningProxy;

before(async () => {
  // Auto-login: every authorization signs in as alice at once, so no login page needs a browser.
  idp = await startMockIdp({ autoLogin: 'alice' });
  // The gateway reads LiteLLM's variables; idp.gatewayEnv() has the GENERIC_* ones for this IdP.
  const config = loadProxyConfig({
    ...idp.gatewayEnv(),
    LITELLM_MASTER_KEY: `sk-${randomBytes(32).toString('hex')}`,
    EXPERIMENTAL_UI_LOGIN: 'true', // CLI keys open the API routes
    REFERENCE_PROXY_SQLITE_PATH: ':memory:', // no users file left in the working directory
    GENERIC_USER_EXTRA_ATTRIBUTES: 'org_info.department',
    CLI_SSO_CLAIM_MAP: 'org_info.department->department',
  });
  gateway = await startReferenceProxy(config, { port: 0 }); // a free port on 127.0.0.1
});

after(async () => {
  await gateway?.close();
  await idp?.close();
});

test('a CLI login ends with a key that opens /models', async () => {
  // The CLI's part: start a login session.
  const started = await fetch(joinUrl(gateway.url, CLI_SSO_PATHS.start), { method: 'POST' });
  const session = parseStartAnswer(await started.json());
  const poll = async () => {
    const answer = await fetch(joinUrl(gateway.url, CLI_SSO_PATHS.poll(session.loginId)), {
      headers: { [POLL_SECRET_HEADER]: session.pollSecret },
    });
    return parsePollAnswer(await answer.json());
  };
  assert.deepEqual(await poll(), { status: 'pending' });

  // The browser's part: the login URL the CLI prints, the IdP, and the code the CLI shows.
  const { completion } = await completeLoginOverHttp({
    loginUrl: browserLoginUrl(gateway.url, session.loginId),
    userCode: session.userCode,
  });
  assert.equal(completion.status, 200);

  // The CLI's next poll gets the key, with alice's department mapped into its metadata.
  const ready = await poll();
  assert.equal(ready.status, 'ready');
  if (ready.status !== 'ready') return;
  assert.equal(ready.userId, 'alice');
  assert.deepEqual(ready.attributionMetadata, { department: 'Research' });

  const models = await fetch(joinUrl(gateway.url, CLI_SSO_PATHS.models), {
    headers: { authorization: `Bearer ${ready.key}` },
  });
  assert.equal(models.status, 200);

  // The IdP saw one code exchange by the gateway's client.
  const exchanges = idp.journal.requests({ endpoint: 'token', status: 200 });
  assert.equal(exchanges.length, 1);
  assert.equal(exchanges[0]?.clientId, 'litellm-cli-test');
});
