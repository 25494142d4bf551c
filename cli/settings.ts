/**
 * The CLI's configuration, read once from flags and the environment it was given (architecture.md,
 * convention 1). Every problem is reported together with exit code 2; the API key is never echoed.
 *
 * Precedence: flag, then environment variable, then (for the gateway URL) the stored login, then
 * the default `http://localhost:4000` (docs/contract.md section 8).
 */
import { type Env, EnvReader, isHttpUrl } from '../common/config.ts';
import { POLL_INTERVAL_MS } from '../protocol/cli-sso.ts';
import { isSendableSecret, SENDABLE_SECRET_RULE } from './gateway-client.ts';
import { defaultTokenFilePath } from './token-store.ts';

export const DEFAULT_BASE_URL = 'http://localhost:4000';
/** Pause before the first retry of a transient failure; doubled each time. */
export const DEFAULT_RETRY_DELAY_MS = 1000;

export interface GlobalFlags {
  baseUrl?: string | undefined;
  apiKey?: string | undefined;
  tokenFile?: string | undefined;
}

export interface CliSettings {
  /** From --base-url or LITELLM_PROXY_URL, trailing slashes removed; undefined when neither is set. */
  explicitBaseUrl: string | undefined;
  /** Where explicitBaseUrl came from, for messages. */
  baseUrlSource: '--base-url' | 'LITELLM_PROXY_URL' | undefined;
  apiKey: string | undefined;
  apiKeySource: '--api-key' | 'LITELLM_PROXY_API_KEY' | undefined;
  tokenFilePath: string;
  /** True for `~/.litellm/token.json` (its directory is ours to keep at 0700). */
  tokenFileIsDefault: boolean;
  pollIntervalMs: number;
  retryDelayMs: number;
}

/** `http://gw:4000///` -> `http://gw:4000`; a path prefix (`/litellm/`) is kept without its slash. */
export function normalizeBaseUrl(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

function hasQueryOrFragment(url: string): boolean {
  const parsed = new URL(url);
  return parsed.search !== '' || parsed.hash !== '' || /[?#]/.test(url);
}

export function resolveSettings(flags: GlobalFlags, env: Env): CliSettings {
  const reader = new EnvReader(env);

  let explicitBaseUrl: string | undefined;
  let baseUrlSource: CliSettings['baseUrlSource'];
  if (flags.baseUrl !== undefined) {
    if (isHttpUrl(flags.baseUrl.trim())) {
      explicitBaseUrl = normalizeBaseUrl(flags.baseUrl);
      baseUrlSource = '--base-url';
    } else {
      reader.problem('--base-url', 'must be an absolute http(s) URL', flags.baseUrl);
    }
  } else {
    const fromEnv = reader.url('LITELLM_PROXY_URL');
    if (fromEnv !== undefined) {
      explicitBaseUrl = normalizeBaseUrl(fromEnv);
      baseUrlSource = 'LITELLM_PROXY_URL';
    }
  }
  // Every route is appended to the base URL's path (CLISSO-CLI-25); a query or a fragment would end
  // up in the middle of each URL.
  if (explicitBaseUrl !== undefined && baseUrlSource !== undefined && hasQueryOrFragment(explicitBaseUrl)) {
    reader.problem(
      baseUrlSource,
      'must have no query (?...) or fragment (#...): routes are added to its path',
      explicitBaseUrl,
    );
    explicitBaseUrl = undefined;
  }

  let apiKey: string | undefined;
  let apiKeySource: CliSettings['apiKeySource'];
  if (flags.apiKey !== undefined) {
    if (flags.apiKey.trim() === '') reader.problem('--api-key', 'must not be empty', '', true);
    else {
      apiKey = flags.apiKey.trim();
      apiKeySource = '--api-key';
    }
  } else {
    apiKey = reader.string('LITELLM_PROXY_API_KEY', { secret: true });
    if (apiKey !== undefined) apiKeySource = 'LITELLM_PROXY_API_KEY';
  }
  if (apiKey !== undefined && apiKeySource !== undefined && !isSendableSecret(apiKey)) {
    reader.problem(apiKeySource, SENDABLE_SECRET_RULE, apiKey, true);
    apiKey = undefined;
  }

  let tokenFilePath: string;
  let tokenFileIsDefault = false;
  const chosenTokenFile = flags.tokenFile ?? reader.string('LITELLM_PROXY_TOKEN_FILE');
  if (chosenTokenFile !== undefined && chosenTokenFile.trim() !== '') {
    tokenFilePath = chosenTokenFile.trim();
  } else {
    const home = reader.string('HOME');
    if (home === undefined) {
      reader.problem(
        'HOME',
        'is required to find ~/.litellm/token.json (or set --token-file / LITELLM_PROXY_TOKEN_FILE)',
        '',
      );
      tokenFilePath = '';
    } else {
      tokenFilePath = defaultTokenFilePath(home);
      tokenFileIsDefault = true;
    }
  }

  const pollIntervalMs = reader.wholeNumber('CLI_SSO_POLL_INTERVAL_MS', POLL_INTERVAL_MS, { max: 60_000 });
  const retryDelayMs = reader.wholeNumber('CLI_SSO_RETRY_DELAY_MS', DEFAULT_RETRY_DELAY_MS, { max: 60_000 });
  reader.finish();
  return {
    explicitBaseUrl,
    baseUrlSource,
    apiKey,
    apiKeySource,
    tokenFilePath,
    tokenFileIsDefault,
    pollIntervalMs,
    retryDelayMs,
  };
}
