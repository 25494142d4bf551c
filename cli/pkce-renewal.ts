/**
 * Keeping a PKCE login's key fresh (docs/contract.md section 10.1): when fewer than
 * RENEW_BEFORE_SECONDS remain, the refresh token is spent at the token endpoint for a new key and a
 * new refresh token (rotation), and the new pair is stored at once, since the old refresh token no
 * longer works. A classic login has no refresh token and is returned as it is.
 */
import { nowSeconds } from '../common/clock.ts';
import { type CommandContext, say } from './command-context.ts';
import { CliError } from './exit-codes.ts';
import { GatewayHttpError, isSendableSecret, SENDABLE_SECRET_RULE } from './gateway-client.ts';
import { expiryOf, isExpired, readKeyClaims } from './key-expiry.ts';
import { refreshTokens, revokeRefreshToken } from './native-login.ts';
import { shown } from './terminal-safe.ts';
import { formatInstant } from './time-format.ts';
import type { CliLogin } from './token-store.ts';

/** LiteLLM's CLI renews when fewer than 360 s remain (CLI_TOKEN_FRESHNESS_BUFFER_SECONDS). */
export const RENEW_BEFORE_SECONDS = 360;
const RENEW_TIMEOUT_MS = 15_000;
const REVOKE_TIMEOUT_MS = 15_000;

/** The login to use now: renewed first when it is a PKCE login close to its expiry. */
export async function freshLogin(ctx: CommandContext, login: CliLogin): Promise<CliLogin> {
  const grant = login.pkce;
  if (!grant) return login;
  ctx.secrets.add(grant.refreshToken);
  const now = nowSeconds(ctx.clock);
  const expiry = expiryOf(login);
  // An unknown expiry is not renewed: rotating at every call would spend refresh tokens for nothing.
  if (expiry.expiresAt === null || expiry.expiresAt - now >= RENEW_BEFORE_SECONDS) return login;

  const stillValid = !isExpired(expiry, now);
  let tokens: Awaited<ReturnType<typeof refreshTokens>>;
  try {
    tokens = await refreshTokens(
      { baseUrl: login.baseUrl, ...grant },
      { signal: ctx.signal, timeoutMs: RENEW_TIMEOUT_MS },
    );
  } catch (error) {
    if (error instanceof Error && error.name === 'AbortError') throw error;
    // Another cli-sso process (a script, an apiKeyHelper run in parallel) may have renewed the same
    // login a moment before: its key is in the file now, and is the one to use.
    const sibling = await ctx.store.read().catch(() => undefined);
    if (sibling?.pkce && sibling.pkce.refreshToken !== grant.refreshToken && sibling.baseUrl === login.baseUrl) {
      ctx.secrets.add(sibling.pkce.refreshToken);
      return sibling;
    }
    const refused = error instanceof GatewayHttpError && error.status >= 400 && error.status < 500;
    const why = refused
      ? `the gateway refused to renew the key (HTTP ${error.status}${error.oauthError ? ` ${shown(error.oauthError)}` : ''}${error.gatewayMessage ? `: ${error.gatewayMessage}` : ''})`
      : `the key could not be renewed (${error instanceof Error ? error.message : String(error)})`;
    if (stillValid) {
      // The key still works for a few minutes: use it, and say that a new login is due.
      say(ctx, `Warning: ${why}; using the current key, valid until ${formatInstant(expiry.expiresAt)}.`);
      say(ctx, 'Run `cli-sso login --pkce` before then.');
      return login;
    }
    throw new CliError(refused ? 'expired' : 'gatewayError', why, 'Run `cli-sso login --pkce` to log in again.');
  }
  // Not the key: `token` prints it on purpose; credentialsFor() adds it for the other commands.
  ctx.secrets.add(tokens.refreshToken);
  if (!isSendableSecret(tokens.accessToken) || !isSendableSecret(tokens.refreshToken)) {
    throw new CliError(
      'gatewayError',
      `the gateway renewed the key with a key or refresh token that cannot be used: it ${SENDABLE_SECRET_RULE}`,
      'This is a problem on the gateway; tell its operator.',
    );
  }
  const claims = readKeyClaims(tokens.accessToken);
  const renewed: CliLogin = {
    ...login,
    key: tokens.accessToken,
    userId: tokens.userId ?? login.userId,
    userEmail: claims.email ?? login.userEmail,
    userRole: claims.role ?? login.userRole,
    teamId: tokens.teamId,
    timestamp: now,
    expiresAt: claims.expiresAt ?? (tokens.expiresInSeconds !== undefined ? now + tokens.expiresInSeconds : null),
    pkce: { ...grant, refreshToken: tokens.refreshToken },
  };
  await ctx.store.write(renewed);
  return renewed;
}

/**
 * Revoke a stored PKCE login's refresh token (RFC 7009), for `logout` and for a new login that
 * replaces it. True when the gateway took it; false, said on stderr with `andThen` (what happens
 * anyway), when it could not be told.
 */
export async function revokeStoredGrant(ctx: CommandContext, login: CliLogin, andThen: string): Promise<boolean> {
  const grant = login.pkce;
  if (!grant) return false;
  ctx.secrets.add(login.key);
  ctx.secrets.add(grant.refreshToken);
  try {
    await revokeRefreshToken(
      { baseUrl: login.baseUrl, ...grant },
      { signal: ctx.signal, timeoutMs: REVOKE_TIMEOUT_MS },
    );
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === 'AbortError') throw error;
    const why =
      error instanceof GatewayHttpError
        ? `the gateway answered HTTP ${error.status}${error.oauthError ? ` ${shown(error.oauthError)}` : ''}${error.gatewayMessage ? `: ${error.gatewayMessage}` : ''}`
        : error instanceof Error
          ? error.message
          : String(error);
    say(ctx, `Warning: revoking the refresh token failed (${why}); ${andThen}.`);
    return false;
  }
}

/** A new login replaced `previous`: its refresh token, if it had one, is revoked (best effort). */
export async function revokeReplaced(ctx: CommandContext, previous: CliLogin | undefined): Promise<void> {
  if (!previous?.pkce) return;
  if (await revokeStoredGrant(ctx, previous, 'the new login is stored all the same')) {
    say(ctx, 'The previous login was replaced and its refresh token revoked.');
  }
}
