/**
 * The PKCE-native login's wire paths (docs/contract.md section 10.6), under the gateway's public
 * base URL: what the reference gateway serves, and what the reference CLI, the suite and the fuzzer
 * send to, from one place.
 */
export const NATIVE_LOGIN_PATHS = {
  discovery: '/.well-known/litellm-cli-auth',
  register: '/register',
  authorize: '/authorize',
  complete: '/authorize/complete',
  token: '/token',
  revoke: '/revoke',
} as const;
