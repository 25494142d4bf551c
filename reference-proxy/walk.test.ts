/**
 * The walking skeleton's check, the smallest whole login: the mock IdP in auto-login mode and the reference
 * proxy on port 0; start -> browser login over HTTP -> poll ready with attribution metadata ->
 * /models and /v1/models with the key.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { completeLoginOverHttp } from '../common/browserless-login.ts';
import { type MockIdp, startMockIdp } from '../mock-idp/index.ts';
import {
  browserLoginUrl,
  CLI_SSO_PATHS,
  joinUrl,
  POLL_SECRET_HEADER,
  parsePollAnswer,
  parseStartAnswer,
} from '../protocol/cli-sso.ts';
import { loadProxyConfig, type RunningProxy, startReferenceProxy } from './index.ts';
import { proxyEnv } from './test-support/proxy-env.ts';

let idp: MockIdp;
let proxy: RunningProxy;

before(async () => {
  idp = await startMockIdp({ host: '127.0.0.1', port: 0, autoLogin: 'cli-test-user' });
  const config = loadProxyConfig(
    proxyEnv(idp.endpoints, {
      CLI_SSO_CLAIM_MAP: 'employment_type->acme_employment_type,org_info.department->department',
      GENERIC_USER_EXTRA_ATTRIBUTES: 'employment_type,org_info.department',
      CONFIG_FILE_PATH: fileURLToPath(new URL('./test-support/models.yaml', import.meta.url)),
    }),
    { port: 0 },
  );
  proxy = await startReferenceProxy(config, { host: '127.0.0.1', port: 0 });
});

after(async () => {
  await proxy?.close();
  await idp?.close();
});

test('a CLI login walks from start to a key that opens /models', async () => {
  const started = await fetch(joinUrl(proxy.url, CLI_SSO_PATHS.start), { method: 'POST' });
  assert.equal(started.status, 200);
  const start = parseStartAnswer(await started.json());
  assert.match(start.userCode, /^[A-Z2-9]{4}-[A-Z2-9]{4}$/);

  const poll = async () => {
    const response = await fetch(joinUrl(proxy.url, CLI_SSO_PATHS.poll(start.loginId)), {
      headers: { [POLL_SECRET_HEADER]: start.pollSecret },
    });
    const body: unknown = await response.json();
    return { status: response.status, body };
  };
  assert.deepEqual(await poll(), { status: 200, body: { status: 'pending' } });

  const { formPage, completion } = await completeLoginOverHttp({
    loginUrl: browserLoginUrl(proxy.url, start.loginId),
    userCode: start.userCode,
  });
  assert.match(formPage.body, /<title>LiteLLM CLI Login<\/title>/);
  assert.match(formPage.body, /Complete CLI Login/);
  assert.equal(completion.status, 200);
  assert.match(completion.body, /Authentication Successful!/);

  const ready = await poll();
  assert.equal(ready.status, 200);
  const answer = parsePollAnswer(ready.body);
  assert.equal(answer.status, 'ready');
  if (answer.status !== 'ready') return;
  assert.equal(answer.userId, 'cli-test-user');
  assert.equal(answer.teamId, null);
  assert.deepEqual(answer.attributionMetadata, { acme_employment_type: 'contractor', department: 'Engineering' });
  assert.equal(answer.expiresInSeconds, 24 * 3600);

  // One time only: the flow is gone.
  assert.equal((await poll()).status, 400);

  for (const path of [CLI_SSO_PATHS.models, CLI_SSO_PATHS.v1Models]) {
    const response: Response = await fetch(joinUrl(proxy.url, path), {
      headers: { authorization: `Bearer ${answer.key}` },
    });
    assert.equal(response.status, 200);
    const list = modelListSchema.parse(await response.json());
    assert.deepEqual(
      list.data.map((m) => [m.id, m.object, m.owned_by]),
      [
        ['gpt-4o', 'model', 'openai'],
        ['claude-sonnet', 'model', 'anthropic'],
      ],
    );
  }
});

const modelListSchema = z.object({
  object: z.literal('list'),
  data: z.array(z.object({ id: z.string(), object: z.string(), created: z.number().int(), owned_by: z.string() })),
});
