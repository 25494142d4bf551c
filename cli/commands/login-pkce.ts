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
import { type CommandContext, say } from '../command-context.ts';
import { CliError, EXIT_CODES } from '../exit-codes.ts';
import { GatewayHttpError, isSendableSecret, SENDABLE_SECRET_RULE } from '../gateway-client.ts';
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

export async function loginWithPkce(ctx: CommandContext, options: PkceLoginOptions): Promise<number> {
  const baseUrl = ctx.settings.explicitBaseUrl ?? DEFAULT_BASE_URL;
  const request = { signal: ctx.signal, timeoutMs: REQUEST_TIMEOUT_MS };
  let discovery: Discovery;
  try {
    discovery = await discover(baseUrl, request);
  } catch (error) {
    if (error instanceof GatewayHttpError && (error.status === 404 || error.status === 405)) {
      throw new CliError(
        'refused',
        `the gateway at ${baseUrl} offers no PKCE login (GET ${DISCOVERY_PATH} answered HTTP ${error.status})`,
        'Log in with `cli-sso login` (without --pkce), or check --base-url / LITELLM_PROXY_URL.',
      );
    }
    throw error;
  }

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
