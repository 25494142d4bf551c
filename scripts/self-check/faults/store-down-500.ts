/**
 * store-down-500 — breaks docs/contract.md section 9: with the shared store down, the CLI SSO
 * endpoints answer 503, not 500.
 *
 * Mechanism: every 503 the gateway sends is turned into `500 {"detail":"Internal server error"}`
 * (and loses its Retry-After), as a gateway that lets the store's connection error escape would.
 */
import { detailBody } from '../../../protocol/errors.ts';
import type { Fault, FaultContext, Variant } from '../fault.ts';
import { type Exchange, withJson } from '../relay.ts';

export const storeDown500: Variant = {
  name: 'store-down-500',
  rule: 'a shared store that is down gives 503, not 500',
  section: '9',
  mechanism: "the relay turns the gateway's 503 answers into 500 Internal server error",
  create: (context) => createStoreDown500(context),
};

function createStoreDown500(context: FaultContext): Fault {
  return {
    async handle(exchange: Exchange): Promise<boolean> {
      // Streaming routes are not where stores fail first; buffer only the CLI and API routes.
      if (exchange.path.startsWith('/health')) return false;
      const answer = await exchange.fetch();
      if (answer.status !== 503) {
        exchange.reply(answer);
        return true;
      }
      context.fired({ route: exchange.path, upstream_status: 503, answered: 500 });
      const headers = { ...answer.headers };
      delete headers['retry-after'];
      exchange.reply(withJson({ ...answer, headers }, 500, detailBody('Internal server error')));
      return true;
    },
  };
}
