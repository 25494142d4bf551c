/**
 * The contract profiles over real HTTP (docs/contract.md section 10.4): one reference gateway per
 * profile (CLI_SSO_CONTRACT_PROFILE) against the same recording IdP, and the rules on which
 * litellm-v3 and litellm-v4 differ: the stored metadata's value types, the word `token` in the
 * claim map, the answer to an IdP `error=`, and whether the PKCE-native login is served.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CLI_SESSION_PATHS } from '../protocol/cli-sessions.ts';
import { CLI_STATE_PREFIX, joinUrl } from '../protocol/cli-sso.ts';
import { NATIVE_LOGIN_PATHS } from '../protocol/native-login.ts';
import type { ContractProfile } from '../protocol/profiles.ts';
import { proxyEnv, TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_MASTER_KEY } from './test-support/proxy-env.ts';
import {
  getJson,
  loginUntilVerified,
  type ProxyUnderTest,
  poll,
  startLogin,
  startProxyForTest,
} from './test-support/proxy-under-test.ts';
import { type RecordingIdp, startRecordingIdp } from './test-support/recording-idp.ts';

const USERINFO = {
  sub: 'u-1',
  preferred_username: 'dana',
  email: 'dana@example.com',
  employee_number: '42',
  fte: 0.8,
};

let idp: RecordingIdp;
const proxies = new Map<ContractProfile, ProxyUnderTest>();

before(async () => {
  idp = await startRecordingIdp({ clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, userinfo: USERINFO });
  for (const profile of ['litellm-v3', 'litellm-v4'] as const) {
    proxies.set(
      profile,
      await startProxyForTest(
        proxyEnv(idp.endpoints, {
          CLI_SSO_CONTRACT_PROFILE: profile,
          GENERIC_USER_EXTRA_ATTRIBUTES: 'employee_number,fte',
          CLI_SSO_CLAIM_MAP:
            'employee_number->employee_number, fte->fte, employee_number->token, employee_number->csrf_token, employee_number->my_access_token',
        }),
      ),
    );
  }
});
after(async () => {
  for (const proxy of proxies.values()) await proxy.close();
  await idp?.close();
});

const base = (profile: ContractProfile) => proxies.get(profile)?.url ?? '';

async function storedMetadata(profile: ContractProfile): Promise<{ answer: unknown; stored: unknown }> {
  const start = await loginUntilVerified(base(profile));
  const ready = await poll(base(profile), start);
  const info = await getJson(joinUrl(base(profile), '/user/info?user_id=dana'), {
    authorization: `Bearer ${TEST_MASTER_KEY}`,
  });
  assert.equal(info.status, 200);
  return {
    answer: (ready.body as { attribution_metadata?: unknown }).attribution_metadata,
    stored: (info.body as { user_info: { metadata: unknown } }).user_info.metadata,
  };
}

describe('claim mapping by profile', () => {
  test('litellm-v3: numeric strings are stored as numbers (CLISSO-CLAIMS-07) and `token` is blocked (CLISSO-FILTER-01)', async () => {
    const { answer, stored } = await storedMetadata('litellm-v3');
    assert.deepEqual(answer, { employee_number: '42', fte: 0.8 });
    assert.deepEqual(stored, { employee_number: 42, fte: 0.8 });
  });

  test("litellm-v4: the IdP's value types are kept (CLISSO-CLAIMS-11) and only `token` left the deny-list (CLISSO-FILTER-08)", async () => {
    const { answer, stored } = await storedMetadata('litellm-v4');
    assert.deepEqual(answer, { employee_number: '42', fte: 0.8, token: '42', csrf_token: '42' });
    assert.deepEqual(stored, { employee_number: '42', fte: 0.8, token: '42', csrf_token: '42' });
  });
});

describe('an IdP error at the callback by profile', () => {
  const refused = async (profile: ContractProfile) => {
    const start = await startLogin(base(profile));
    const query = new URLSearchParams({
      error: 'access_denied',
      error_description: 'The person said no',
      state: `${CLI_STATE_PREFIX}${start.loginId}`,
    });
    const answer = await getJson(joinUrl(base(profile), `/sso/callback?${query}`));
    assert.deepEqual((await poll(base(profile), start)).body, { status: 'pending' });
    return answer;
  };

  test('litellm-v3 answers 400, and the flow stays pending', async () => {
    const answer = await refused('litellm-v3');
    assert.equal(answer.status, 400);
    assert.deepEqual(answer.body, { detail: 'SSO login failed at the identity provider: access_denied' });
  });

  test('litellm-v4 answers 401 "OAuth error: ..." with the description, and the flow stays pending', async () => {
    const answer = await refused('litellm-v4');
    assert.equal(answer.status, 401);
    assert.deepEqual(answer.body, { detail: 'OAuth error: access_denied, error_description: The person said no' });
  });
});

describe('the PKCE-native login by profile', () => {
  test('litellm-v3 does not serve it: discovery and registration are 404', async () => {
    assert.equal((await getJson(joinUrl(base('litellm-v3'), NATIVE_LOGIN_PATHS.discovery))).status, 404);
    const register = await fetch(joinUrl(base('litellm-v3'), NATIVE_LOGIN_PATHS.register), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:9/callback'] }),
    });
    assert.equal(register.status, 404);
  });

  test('litellm-v4 serves its discovery document', async () => {
    const answer = await getJson(joinUrl(base('litellm-v4'), NATIVE_LOGIN_PATHS.discovery));
    assert.equal(answer.status, 200);
    assert.equal((answer.body as { contract_version?: unknown }).contract_version, 1);
  });
});

describe('the CLI session registry and the pre-filled code by profile', () => {
  const master = { authorization: `Bearer ${TEST_MASTER_KEY}` };

  test('litellm-v3 keeps no registry: the session list and a revocation are 404', async () => {
    assert.equal((await getJson(joinUrl(base('litellm-v3'), CLI_SESSION_PATHS.list), master)).status, 404);
    const revoke = await fetch(joinUrl(base('litellm-v3'), CLI_SESSION_PATHS.revoke('cli-session-x')), {
      method: 'POST',
      headers: master,
    });
    assert.equal(revoke.status, 404);
  });

  test('litellm-v4 lists the sessions to the master key', async () => {
    assert.equal((await getJson(joinUrl(base('litellm-v4'), CLI_SESSION_PATHS.list), master)).status, 200);
  });

  test('litellm-v3 has no verification_uri_complete, even with the setting on', async () => {
    const proxy = await startProxyForTest(
      proxyEnv(idp.endpoints, {
        CLI_SSO_CONTRACT_PROFILE: 'litellm-v3',
        ALLOW_CLI_SSO_VERIFICATION_URI_COMPLETE: 'true',
      }),
    );
    try {
      const start = await fetch(joinUrl(proxy.url, '/sso/cli/start'), { method: 'POST' });
      assert.equal(start.status, 200);
      assert.equal('verification_uri_complete' in ((await start.json()) as object), false);
    } finally {
      await proxy.close();
    }
  });
});
