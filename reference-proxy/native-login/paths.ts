/** The PKCE-native login's paths, under the gateway's public base URL. */
export const NATIVE_LOGIN_PATHS = {
  discovery: '/.well-known/litellm-cli-auth',
  register: '/register',
  authorize: '/authorize',
  complete: '/authorize/complete',
  token: '/token',
  revoke: '/revoke',
} as const;

/** What every authorization code starts with (LiteLLM's prefix, so the two read alike in logs). */
export const CODE_PREFIX = 'llm_gcode_';
/** What every refresh token starts with (LiteLLM's prefix, as above). */
export const REFRESH_TOKEN_PREFIX = 'llm_srefresh_';
