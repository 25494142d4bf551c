/**
 * `cli-sso token`: the stored key alone on stdout, for scripts (`curl -H "Authorization: Bearer
 * $(cli-sso token)"`). The only command that prints the key, and only because it is asked to
 * (CLISSO-CLI-28 is about every other output). An expired key is not printed: a script would only get a refusal later.
 * A PKCE login's key is renewed first when it has fewer than six minutes left (pkce-renewal.ts).
 */
import { nowSeconds } from '../../common/clock.ts';
import type { CommandContext } from '../command-context.ts';
import { CliError, EXIT_CODES } from '../exit-codes.ts';
import { expiryOf, isExpired } from '../key-expiry.ts';
import { freshLogin } from '../pkce-renewal.ts';
import { requireStoredLogin } from '../stored-login.ts';
import { formatInstant } from '../time-format.ts';

export async function printToken(ctx: CommandContext): Promise<number> {
  const login = await freshLogin(ctx, await requireStoredLogin(ctx));
  const expiry = expiryOf(login);
  if (isExpired(expiry, nowSeconds(ctx.clock)) && expiry.expiresAt !== null) {
    throw new CliError(
      'expired',
      `the stored key expired at ${formatInstant(expiry.expiresAt)}`,
      'Run `cli-sso login` to log in again.',
    );
  }
  ctx.stdout.write(`${login.key}\n`);
  return EXIT_CODES.ok;
}
