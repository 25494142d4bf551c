/**
 * `Prefer: wait=N` (RFC 7240 section 4.3) on GET /sso/cli/poll: our extension (docs/contract.md
 * section 2). Preferences the server does not understand are ignored (RFC 7240 section 2), so a
 * malformed header means "no wait", never an error. N above MAX_PREFER_WAIT_SECONDS is applied as
 * the maximum.
 */
import { MAX_PREFER_WAIT_SECONDS } from '../protocol/cli-sso.ts';

/** The wait to apply in whole seconds (1..30), or undefined when none was asked for. */
export function preferredWaitSeconds(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  for (const preference of header.split(',')) {
    // A preference may carry parameters after ';' (RFC 7240 section 2); `wait` takes none.
    const [token] = preference.split(';');
    // mutation-equivalent: a nine-digit wait (over three years) is capped at 30 s; with eight digits allowed it
    // would be ignored instead: the difference shows only to a client asking for that
    const match = /^\s*wait\s*=\s*"?([0-9]{1,9})"?\s*$/i.exec(token ?? '');
    if (!match) continue;
    const seconds = Math.min(Number(match[1]), MAX_PREFER_WAIT_SECONDS);
    return seconds > 0 ? seconds : undefined;
  }
  return undefined;
}
