/**
 * Test support: the environment a test proxy needs to talk to an IdP (docs/contract.md section 3).
 * Takes the IdP's endpoint URLs as plain values, so it imports no other component.
 */
export interface IdpEndpoints {
  authorization: string;
  token: string;
  userinfo: string;
}

export const TEST_MASTER_KEY = 'sk-test-master-key-0123456789abcdef';
export const TEST_CLIENT_ID = 'litellm-cli-test';
export const TEST_CLIENT_SECRET = 'litellm-cli-test-secret';

export function proxyEnv(endpoints: IdpEndpoints, extra: Record<string, string> = {}): Record<string, string> {
  return {
    LITELLM_MASTER_KEY: TEST_MASTER_KEY,
    EXPERIMENTAL_UI_LOGIN: 'true',
    GENERIC_CLIENT_ID: TEST_CLIENT_ID,
    GENERIC_CLIENT_SECRET: TEST_CLIENT_SECRET,
    GENERIC_AUTHORIZATION_ENDPOINT: endpoints.authorization,
    GENERIC_TOKEN_ENDPOINT: endpoints.token,
    GENERIC_USERINFO_ENDPOINT: endpoints.userinfo,
    REFERENCE_PROXY_SQLITE_PATH: ':memory:',
    // Admission (admission.ts) is the subject of admission.test.ts, which sets its own bounds; the
    // other tests start dozens of logins from one address and leave them unfinished on purpose
    // (the per-IP start limit, bad input), which is not overload.
    CLI_SSO_MAX_LOGINS_IN_FLIGHT: '0',
    ...extra,
  };
}
