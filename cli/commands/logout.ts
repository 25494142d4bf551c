/**
 * `cli-sso logout`: remove the stored login and say what was removed; with nothing stored it still
 * succeeds, so a script can always run it. The classic protocol has no revocation route, so its key
 * stays valid on the gateway until it expires, and the message says so rather than implying
 * otherwise. A PKCE login's refresh token is revoked first (RFC 7009), so the key can no longer be
 * renewed; if the gateway cannot be told, the local login is removed all the same and the message
 * says what is left.
 */
import { nowSeconds } from '../../common/clock.ts';
import { type CommandContext, say } from '../command-context.ts';
import { EXIT_CODES } from '../exit-codes.ts';
import { expiryOf, isExpired } from '../key-expiry.ts';
import { revokeStoredGrant } from '../pkce-renewal.ts';
import { shown } from '../terminal-safe.ts';
import { formatInstant } from '../time-format.ts';

export async function logout(ctx: CommandContext): Promise<number> {
  // Read first: a PKCE login is revoked on the gateway before the file goes.
  const stored = await ctx.store.read().catch(() => undefined);
  const revoked = stored?.pkce ? await revokeStoredGrant(ctx, stored, 'the local login is removed anyway') : undefined;
  const removed = await ctx.store.remove();
  if (!removed) {
    say(ctx, `Not logged in: nothing to remove (no token file at ${ctx.store.path}).`);
    return EXIT_CODES.ok;
  }
  const login = removed.login;
  if (login) ctx.secrets.add(login.key);
  if (!login) {
    say(ctx, `Removed the unreadable token file ${ctx.store.path}.`);
    return EXIT_CODES.ok;
  }
  say(
    ctx,
    `Logged out: removed the login of ${login.userId ? shown(login.userId) : 'an unknown user'} to ${shown(login.baseUrl)} (${ctx.store.path}).`,
  );
  if (revoked === true) say(ctx, 'The gateway revoked the refresh token: the key can no longer be renewed.');
  if (revoked === false) {
    say(ctx, 'The refresh token could not be revoked (see above); it stays usable on the gateway until it expires.');
  }
  const expiry = expiryOf(login);
  if (expiry.expiresAt !== null && !isExpired(expiry, nowSeconds(ctx.clock))) {
    say(
      ctx,
      `The key itself stays valid on the gateway until ${formatInstant(expiry.expiresAt)}; copies of it keep working until then.`,
    );
  }
  return EXIT_CODES.ok;
}
