/**
 * The CLI's configuration, read once from flags and the environment it was given (architecture.md,
 * convention 1). Every problem is reported together with exit code 2; the API key is never echoed.
 *
 * Precedence: flag, then environment variable, then (for the gateway URL) the stored login, then
 * the default `http://localhost:4000` (docs/contract.md section 8).
 */
import type { Env } from '../common/config.ts';
import { readSettings, secretSetting, textSetting, urlSetting, wholeNumberSetting } from '../common/settings.ts';
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

/**
 * Every setting of the CLI: LiteLLM's `LITELLM_PROXY_*` variables and our own. This table reads
 * them, writes the global flags of `--help`, its variables, and the README's table (cli/README.md).
 */
export const CLI_SETTINGS = {
  baseUrl: urlSetting({
    variable: 'LITELLM_PROXY_URL',
    flag: '--base-url <url>',
    shownDefault: `the stored login's gateway, else \`${DEFAULT_BASE_URL}\``,
    meaning:
      'gateway URL; its path is kept (`http://h/litellm`), trailing slashes are ignored, a query or fragment is refused',
  }),
  apiKey: secretSetting({
    variable: 'LITELLM_PROXY_API_KEY',
    flag: '--api-key <key>',
    shownDefault: 'the stored key',
    meaning: 'key used by `models list` instead of the stored login',
  }),
  tokenFile: textSetting({
    variable: 'LITELLM_PROXY_TOKEN_FILE',
    flag: '--token-file <path>',
    shownDefault: '`$HOME/.litellm/token.json`',
    meaning: 'where the login is stored',
  }),
  pollIntervalMs: wholeNumberSetting({
    variable: 'CLI_SSO_POLL_INTERVAL_MS',
    default: POLL_INTERVAL_MS,
    max: 60_000,
    meaning: 'pause between two polls of a login, in milliseconds (a gateway may hold a poll longer)',
  }),
  retryDelayMs: wholeNumberSetting({
    variable: 'CLI_SSO_RETRY_DELAY_MS',
    default: DEFAULT_RETRY_DELAY_MS,
    max: 60_000,
    meaning: 'pause before the first retry of a transient failure, in milliseconds; doubled each time',
  }),
};

export function resolveSettings(flags: GlobalFlags, env: Env): CliSettings {
  const { values: s, reader } = readSettings(CLI_SETTINGS, env, { ...flags });

  let explicitBaseUrl = s.baseUrl === undefined ? undefined : normalizeBaseUrl(s.baseUrl);
  const baseUrlSource: CliSettings['baseUrlSource'] =
    explicitBaseUrl === undefined ? undefined : flags.baseUrl !== undefined ? '--base-url' : 'LITELLM_PROXY_URL';
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

  let apiKey = s.apiKey;
  const apiKeySource: CliSettings['apiKeySource'] =
    flags.apiKey !== undefined ? '--api-key' : apiKey !== undefined ? 'LITELLM_PROXY_API_KEY' : undefined;
  if (flags.apiKey !== undefined && flags.apiKey.trim() === '')
    reader.problem('--api-key', 'must not be empty', '', true);
  if (apiKey !== undefined && apiKeySource !== undefined && !isSendableSecret(apiKey)) {
    reader.problem(apiKeySource, SENDABLE_SECRET_RULE, apiKey, true);
    apiKey = undefined;
  }

  let tokenFilePath: string;
  let tokenFileIsDefault = false;
  if (s.tokenFile !== undefined) {
    tokenFilePath = s.tokenFile;
  } else {
    const home = env['HOME']?.trim();
    if (!home) {
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

  reader.finish();
  return {
    explicitBaseUrl,
    baseUrlSource,
    apiKey,
    apiKeySource: apiKey === undefined ? undefined : apiKeySource,
    tokenFilePath,
    tokenFileIsDefault,
    pollIntervalMs: s.pollIntervalMs,
    retryDelayMs: s.retryDelayMs,
  };
}
