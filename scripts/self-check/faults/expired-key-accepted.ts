/**
 * expired-key-accepted — breaks docs/contract.md section 6: a key past its expiry is refused on
 * every API route (LiteLLM: 400 `expired_key`, section 2.6).
 *
 * Mechanism: an authentication cache that never re-checks expiry, the classic way gateways get
 * this wrong. The relay keeps the last 200 answer of `/models` and `/v1/models` per key and, when
 * the gateway later refuses that key as expired, answers 200 with the kept answer.
 */
import { apiErrorTypeOf } from '../../../protocol/errors.ts';
import type { Fault, FaultContext, Variant } from '../fault.ts';
import type { Exchange, UpstreamAnswer } from '../relay.ts';
import { jsonOf } from '../relay.ts';
import { bearerOf, isModelsCall } from './cli-routes.ts';

export const expiredKeyAccepted: Variant = {
  name: 'expired-key-accepted',
  rule: 'a key past its expiry is refused on every API route (400 expired_key)',
  section: '6 (and 2, GET /models)',
  mechanism: 'the relay caches each key\'s last 200 answer of /models and serves it when the gateway says "expired"',
  create: (context) => createExpiredKeyAccepted(context),
};

function createExpiredKeyAccepted(context: FaultContext): Fault {
  /** `${path} ${key}` -> last successful answer */
  const accepted = new Map<string, UpstreamAnswer>();
  return {
    async handle(exchange: Exchange): Promise<boolean> {
      const key = bearerOf(exchange);
      if (!isModelsCall(exchange) || key === undefined) return false;
      const cacheKey = `${exchange.path} ${key}`;
      const answer = await exchange.fetch();
      const cached = accepted.get(cacheKey);
      if (answer.status === 200) accepted.set(cacheKey, answer);
      else if (cached && apiErrorTypeOf(jsonOf(answer)) === 'expired_key') {
        context.fired({ route: exchange.path, upstream_status: answer.status, served: 'cached 200' });
        exchange.reply(cached);
        return true;
      }
      exchange.reply(answer);
      return true;
    },
  };
}
