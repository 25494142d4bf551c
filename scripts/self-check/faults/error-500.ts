/**
 * error-500 — breaks the project rule "bad input always gets a clear 4xx, never a 500" as the
 * protocol applies it to login ids (docs/contract.md section 2: a malformed login id -> 400 Invalid
 * CLI login session, on poll, completion and the browser entry).
 *
 * Mechanism: when a request names a login id that does not match `^cli-[A-Za-z0-9_-]{12,124}$` and
 * the gateway answers 4xx, the relay answers `500 {"detail":"Internal server error"}` instead, as a
 * gateway whose id parsing throws would.
 */
import { isValidLoginId } from '../../../protocol/cli-sso.ts';
import { detailBody } from '../../../protocol/errors.ts';
import type { Fault, FaultContext, Variant } from '../fault.ts';
import { type Exchange, withJson } from '../relay.ts';
import { completeLoginId, isCliBrowserEntry, pollLoginId } from './cli-routes.ts';

export const error500: Variant = {
  name: 'error-500',
  rule: 'a malformed login id gets 400 Invalid CLI login session, never a 500',
  section: '2 (poll step 1, complete, key/generate)',
  mechanism: 'the relay turns the 4xx answer to a malformed login id into 500 Internal server error',
  create: (context) => createError500(context),
};

function createError500(context: FaultContext): Fault {
  return {
    async handle(exchange: Exchange): Promise<boolean> {
      const loginId =
        pollLoginId(exchange) ??
        completeLoginId(exchange) ??
        (isCliBrowserEntry(exchange) ? (exchange.query.get('key') ?? '') : undefined);
      if (loginId === undefined || isValidLoginId(loginId)) return false;
      const answer = await exchange.fetch();
      if (answer.status < 400 || answer.status >= 500) {
        exchange.reply(answer);
        return true;
      }
      context.fired({ route: exchange.path, upstream_status: answer.status, answered: 500 });
      exchange.reply(withJson(answer, 500, detailBody('Internal server error')));
      return true;
    },
  };
}
