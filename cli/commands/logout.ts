/**
 * `cli-sso logout`: remove the stored login and say what was removed; with nothing stored it still
 * succeeds, so a script can always run it. The protocol has no revocation route, so the key stays valid on the
 * gateway until it expires, and the message says so rather than implying otherwise.
 */
import { nowSeconds } from '../../common/clock.ts';
import { type CommandContext, say } from '../command-context.ts';
import { EXIT_CODES } from '../exit-codes.ts';
import { expiryOf, isExpired } from '../key-expiry.ts';
import { shown } from '../terminal-safe.ts';
import { formatInstant } from '../time-format.ts';

export async function logout(ctx: CommandContext): Promise<number> {
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
  const expiry = expiryOf(login);
  if (expiry.expiresAt !== null && !isExpired(expiry, nowSeconds(ctx.clock))) {
    say(
      ctx,
      `The key itself stays valid on the gateway until ${formatInstant(expiry.expiresAt)}; copies of it keep working until then.`,
    );
  }
  return EXIT_CODES.ok;
}
