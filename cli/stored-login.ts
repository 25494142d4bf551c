/**
 * The login the commands after `login` work with: the stored one, or a key given with --api-key /
 * LITELLM_PROXY_API_KEY (docs/contract.md section 8). Also the words for a key the gateway refused,
 * shared by `models list` and `whoami --verify`.
 */
import { nowSeconds } from '../common/clock.ts';
import type { StoredLogin } from '../protocol/token-file.ts';
import type { CommandContext } from './command-context.ts';
import { CliError } from './exit-codes.ts';
import { GatewayHttpError, isSendableSecret, SENDABLE_SECRET_RULE } from './gateway-client.ts';
import { expiryOf, isExpired } from './key-expiry.ts';
import { freshLogin } from './pkce-renewal.ts';
import { DEFAULT_BASE_URL, normalizeBaseUrl } from './settings.ts';
import { formatInstant, relativeTo } from './time-format.ts';
import type { CliLogin } from './token-store.ts';

export async function requireStoredLogin(ctx: CommandContext): Promise<CliLogin> {
  const login = await ctx.store.read();
  if (!login) {
    throw new CliError('notLoggedIn', `not logged in (no token file at ${ctx.store.path})`, 'Run `cli-sso login`.');
  }
  return login;
}

export interface Credentials {
  baseUrl: string;
  key: string;
  authHeaderName: string;
  /** The stored login the key came from; undefined for --api-key / LITELLM_PROXY_API_KEY. */
  login: StoredLogin | undefined;
}

/**
 * The gateway and key for an API call. A stored key is only sent to the gateway it was issued by:
 * sending it to another URL would hand a bearer credential to a server that never issued it.
 */
export async function credentialsFor(ctx: CommandContext): Promise<Credentials> {
  const { apiKey, explicitBaseUrl, baseUrlSource } = ctx.settings;
  if (apiKey !== undefined) {
    return {
      baseUrl: explicitBaseUrl ?? DEFAULT_BASE_URL,
      key: apiKey,
      authHeaderName: 'Authorization',
      login: undefined,
    };
  }
  const stored = await requireStoredLogin(ctx);
  ctx.secrets.add(stored.key);
  if (!isSendableSecret(stored.key)) {
    throw new CliError(
      'notLoggedIn',
      `the key stored in ${ctx.store.path} cannot be used: a key ${SENDABLE_SECRET_RULE}`,
      'Run `cli-sso login` to get a new key.',
    );
  }
  const storedBaseUrl = normalizeBaseUrl(stored.baseUrl);
  if (explicitBaseUrl !== undefined && explicitBaseUrl !== storedBaseUrl) {
    throw new CliError(
      'notLoggedIn',
      `you are logged in to ${storedBaseUrl}, not to ${explicitBaseUrl} (from ${baseUrlSource})`,
      `Run \`cli-sso login --base-url ${explicitBaseUrl}\`, or unset ${baseUrlSource} to use ${storedBaseUrl}.`,
    );
  }
  // A PKCE login close to its expiry is renewed before its key is sent.
  const login = await freshLogin(ctx, stored);
  ctx.secrets.add(login.key);
  return { baseUrl: storedBaseUrl, key: login.key, authHeaderName: login.authHeaderName, login };
}

/**
 * A 4xx from an API route: LiteLLM answers 400 `expired_key` for an expired key and 401 for an
 * unknown one (section 2, /models). Say when it expired, if anyone knows, and what to do.
 */
export function explainKeyRefusal(ctx: CommandContext, error: GatewayHttpError, credentials: Credentials): CliError {
  const said = error.gatewayMessage ? `: ${error.gatewayMessage}` : '';
  const now = nowSeconds(ctx.clock);
  const expiry = credentials.login ? expiryOf(credentials.login) : { expiresAt: null, source: 'unknown' as const };
  const expired = error.errorType === 'expired_key' || isExpired(expiry, now);
  if (!credentials.login) {
    return new CliError(
      expired ? 'expired' : 'refused',
      `the gateway refused the key from ${ctx.settings.apiKeySource} (HTTP ${error.status}${said})`,
      `Check ${ctx.settings.apiKeySource}, or unset it and run \`cli-sso login\`.`,
    );
  }
  if (expired) {
    const when =
      expiry.expiresAt === null ? '' : ` at ${formatInstant(expiry.expiresAt)} (${relativeTo(expiry.expiresAt, now)})`;
    return new CliError(
      'expired',
      `your login to ${credentials.baseUrl} expired${when}`,
      'Run `cli-sso login` to log in again.',
    );
  }
  return new CliError(
    'refused',
    `the gateway at ${credentials.baseUrl} refused the stored key (HTTP ${error.status}${said})`,
    'Run `cli-sso login` to get a new key.',
  );
}

export function isKeyRefusal(error: unknown): error is GatewayHttpError {
  return error instanceof GatewayHttpError && error.status >= 400 && error.status < 500 && error.status !== 429;
}
