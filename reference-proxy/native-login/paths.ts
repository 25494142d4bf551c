export { NATIVE_LOGIN_PATHS } from '../../protocol/native-login.ts';

/** What every authorization code starts with (LiteLLM's prefix, so the two read alike in logs). */
export const CODE_PREFIX = 'llm_gcode_';
/** What every refresh token starts with (LiteLLM's prefix, as above). */
export const REFRESH_TOKEN_PREFIX = 'llm_srefresh_';
