/**
 * `cli-sso login --pkce`: the PKCE-native login (docs/contract.md sections 10.1 and 10.6).
 *
 *   discovery (checked) -> loopback listener -> register -> authorize URL in the browser
 *   -> consent -> redirect to the listener -> code + verifier at the token endpoint -> store
 *
 * The code, the verifier, the refresh token and the key are added to the command's secrets as soon
 * as they are known, so nothing the CLI prints can show them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { nowSeconds } from '../../common/clock.ts';
import { WireFormatError } from '../../protocol/cli-sso.ts';
import { type CommandContext, say } from '../command-context.ts';
import { CliError, EXIT_CODES } from '../exit-codes.ts';
import {
  GatewayHttpError,
  GatewayTimeoutError,
  GatewayUnreachableError,
  isSendableSecret,
  SENDABLE_SECRET_RULE,
} from '../gateway-client.ts';
import { readKeyClaims } from '../key-expiry.ts';
import { type Callback, startLoopbackListener } from '../loopback-listener.ts';
import {
  authorizeUrl,
  DISCOVERY_PATH,
  type Discovery,
  discover,
  newPkcePair,
  newState,
  redeemCode,
  registerClient,
} from '../native-login.ts';
import { revokeReplaced } from '../pkce-renewal.ts';
import { DEFAULT_BASE_URL } from '../settings.ts';
import { shown } from '../terminal-safe.ts';
import { formatDuration, formatInstant, relativeTo } from '../time-format.ts';
import { openTheBrowser, REQUEST_TIMEOUT_MS } from './login.ts';

export interface PkceLoginOptions {
  browser: boolean;
  timeoutSeconds: number;
}

/** The discovery answer waited for this long when PKCE is only preferred: a classic login is the fallback. */
export const PROBE_TIMEOUT_MS = 10_000;

/** `login --pkce`: the PKCE-native login, or an error when the gateway does not offer it. */
export async function loginWithPkce(ctx: CommandContext, options: PkceLoginOptions): Promise<number> {
  const baseUrl = ctx.settings.explicitBaseUrl ?? DEFAULT_BASE_URL;
  let discovery: Discovery;
  try {
    discovery = await discover(baseUrl, { signal: ctx.signal, timeoutMs: REQUEST_TIMEOUT_MS });
  } catch (error) {
    if (error instanceof GatewayHttpError && (error.status === 404 || error.status === 405)) {
      throw new CliError(
        'refused',
        `the gateway at ${baseUrl} offers no PKCE login (GET ${DISCOVERY_PATH} answered HTTP ${error.status})`,
        'Log in with `cli-sso login --classic` (or without --pkce), or check --base-url / LITELLM_PROXY_URL.',
      );
    }
    throw error;
  }
  return loginWithDiscovery(ctx, options, baseUrl, discovery);
}

/**
 * `login` without --pkce or --classic: the PKCE-native login when the gateway advertises it, else
 * the classic one (`classic`). A 404 or 405 to the discovery request is a gateway without it (a
 * v3 gateway): the classic login follows silently. Any other failure (a 5xx, no answer in time, a
 * document that is malformed, of another contract version, or that points anywhere but this
 * gateway) is said on stderr, and the document is not followed: the classic login follows. An
 * unreachable gateway goes straight to the classic login, whose start retries and explains.
 */
export async function loginPreferringPkce(
  ctx: CommandContext,
  options: PkceLoginOptions,
  classic: () => Promise<number>,
): Promise<number> {
  const baseUrl = ctx.settings.explicitBaseUrl ?? DEFAULT_BASE_URL;
  let discovery: Discovery;
  try {
    discovery = await discover(baseUrl, { signal: ctx.signal, timeoutMs: PROBE_TIMEOUT_MS });
  } catch (error) {
    if (error instanceof Error && error.name === 'AbortError') throw error;
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const notOffered = error instanceof GatewayHttpError && (error.status === 404 || error.status === 405);
    if (notOffered || error instanceof GatewayUnreachableError) return classic();
    // Anything else but an answer the CLI will not follow is a bug of its own: not hidden as a warning.
    const unusable = [GatewayHttpError, GatewayTimeoutError, CliError, WireFormatError].some((t) => error instanceof t);
    if (!unusable) throw error;
    say(ctx, `Warning: ${unusableBecause(error)}.`);
    say(ctx, 'Logging in with the classic flow (code confirmation in the browser) instead.');
    say(ctx);
    return classic();
  }
  say(ctx, 'The gateway offers the PKCE login: using it (`cli-sso login --classic` for the code confirmation).');
  return loginWithDiscovery(ctx, options, baseUrl, discovery);
}

/** Why a discovery request failed, for the warning of {@link loginPreferringPkce}. */
function unusableBecause(error: unknown): string {
  const cannot = "the gateway's PKCE login cannot be used";
  if (error instanceof GatewayHttpError) {
    return `${cannot}: GET ${DISCOVERY_PATH} answered HTTP ${error.status}${error.gatewayMessage ? ` (${error.gatewayMessage})` : ''}`;
  }
  if (error instanceof GatewayTimeoutError) {
    return `${cannot}: GET ${DISCOVERY_PATH} was not answered within ${PROBE_TIMEOUT_MS / 1000} s`;
  }
  // A refused document (CliError) already says which field breaks which rule.
  if (error instanceof CliError) return error.message;
  return `${cannot}: ${error instanceof Error ? error.message : String(error)}`;
}

async function loginWithDiscovery(
  ctx: CommandContext,
  options: PkceLoginOptions,
  baseUrl: string,
  discovery: Discovery,
): Promise<number> {
  const request = { signal: ctx.signal, timeoutMs: REQUEST_TIMEOUT_MS };
  const pkce = newPkcePair();
  ctx.secrets.add(pkce.verifier);
  const state = newState();
  const listener = await startLoopbackListener(state);
  try {
    const clientId = await registerClient(discovery, listener.redirectUri, request);
    const url = authorizeUrl(discovery, {
      clientId,
      redirectUri: listener.redirectUri,
      state,
      challenge: pkce.challenge,
    });
    say(ctx, 'To log in, open this URL in a browser on this machine:');
    say(ctx);
    say(ctx, shown(url));
    say(ctx);
    await openTheBrowser(ctx, url, options.browser);
    say(ctx, `Approve the sign-in in your browser. Waiting (up to ${formatDuration(options.timeoutSeconds)})...`);

    const callback = await waitForCallback(ctx, listener.callback, options.timeoutSeconds);
    if ('error' in callback) {
      if (callback.error === 'access_denied') {
        throw new CliError(
          'refused',
          'the sign-in was not approved in the browser (access_denied)',
          'Run `cli-sso login --pkce` again and choose Approve if you started this sign-in.',
        );
      }
      const said = callback.description ? `: ${shown(callback.description)}` : '';
      throw new CliError(
        'refused',
        `the gateway ended the sign-in with error ${shown(callback.error)}${said}`,
        'Run `cli-sso login --pkce` again.',
      );
    }
    ctx.secrets.add(callback.code);

    const tokens = await redeemCode(
      discovery,
      { clientId, code: callback.code, verifier: pkce.verifier, redirectUri: listener.redirectUri },
      request,
    ).catch((error: unknown) => {
      throw explainTokenFailure(error);
    });
    ctx.secrets.add(tokens.accessToken);
    ctx.secrets.add(tokens.refreshToken);
    if (!isSendableSecret(tokens.accessToken) || !isSendableSecret(tokens.refreshToken)) {
      throw new CliError(
        'gatewayError',
        `the gateway handed out a key or refresh token that cannot be used: it ${SENDABLE_SECRET_RULE}; nothing was stored`,
        'This is a problem on the gateway; tell its operator.',
      );
    }
    const claims = readKeyClaims(tokens.accessToken);
    const now = nowSeconds(ctx.clock);
    const expiresAt =
      claims.expiresAt ?? (tokens.expiresInSeconds !== undefined ? now + tokens.expiresInSeconds : null);
    const userId = tokens.userId ?? '';
    // LiteLLM's order: the new login is saved first, then the one it replaces is revoked.
    const previous = await ctx.store.read().catch(() => undefined);
    await ctx.store.write({
      baseUrl,
      key: tokens.accessToken,
      userId,
      userEmail: claims.email,
      userRole: claims.role,
      teamId: tokens.teamId,
      authHeaderName: 'Authorization',
      timestamp: now,
      expiresAt,
      pkce: {
        refreshToken: tokens.refreshToken,
        clientId,
        tokenEndpoint: discovery.tokenEndpoint,
        revocationEndpoint: discovery.revocationEndpoint,
        resource: discovery.resource,
      },
    });
    await revokeReplaced(ctx, previous);
    say(
      ctx,
      `Logged in to ${baseUrl} as ${userId ? shown(userId) : 'an unnamed user'}${tokens.teamId ? ` (team ${shown(tokens.teamId)})` : ''}.`,
    );
    say(
      ctx,
      expiresAt === null
        ? 'The gateway did not say when the key expires; it is renewed when needed.'
        : `The key expires at ${formatInstant(expiresAt)} (${relativeTo(expiresAt, now)}); it is renewed when needed.`,
    );
    say(ctx, `Saved to ${ctx.store.path}.`);
    return EXIT_CODES.ok;
  } finally {
    await listener.close();
  }
}

/** The listener's first answer for this sign-in, or a timeout; Ctrl-C rejects with the signal's reason. */
async function waitForCallback(
  ctx: CommandContext,
  callback: Promise<Callback>,
  timeoutSeconds: number,
): Promise<Callback> {
  const stopTimer = new AbortController();
  const timedOut = sleep(timeoutSeconds * 1000, 'timeout' as const, { signal: stopTimer.signal }).catch(
    () => 'stopped' as const,
  );
  const cancelled = new Promise<never>((_resolve, reject) => {
    if (ctx.signal.aborted) reject(ctx.signal.reason);
    ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true, signal: stopTimer.signal });
  });
  try {
    const first = await Promise.race([callback, timedOut, cancelled]);
    if (first === 'timeout' || first === 'stopped') {
      throw new CliError(
        'timedOut',
        `the sign-in was not completed in the browser within ${formatDuration(timeoutSeconds)}`,
        'Run `cli-sso login --pkce` again and approve in the browser (or give more time with --timeout <seconds>).',
      );
    }
    return first;
  } finally {
    stopTimer.abort();
  }
}

/** What a refusal at the token endpoint means for the person. */
function explainTokenFailure(error: unknown): unknown {
  if (!(error instanceof GatewayHttpError) || error.status >= 500 || error.status === 429) return error;
  const said = error.gatewayMessage ? `: ${error.gatewayMessage}` : '';
  return new CliError(
    'refused',
    `the gateway refused the authorization code (HTTP ${error.status}${error.oauthError ? ` ${shown(error.oauthError)}` : ''}${said})`,
    'Run `cli-sso login --pkce` again; the code lives only two minutes.',
  );
}
