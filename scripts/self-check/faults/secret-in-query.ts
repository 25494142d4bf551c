/**
 * secret-in-query — breaks docs/contract.md section 2.5: the poll secret is read from the header
 * `x-litellm-cli-poll-secret` only; one in the query string does not count. Secrets in URLs end up
 * in access logs and proxies.
 *
 * Mechanism: a poll that carries no poll-secret header but has a query parameter whose name
 * contains "secret" (`?poll_secret=...`) is sent on with that value as the header.
 */
import { POLL_SECRET_HEADER } from '../../../protocol/cli-sso.ts';
import type { Fault, FaultContext, Variant } from '../fault.ts';
import type { Exchange } from '../relay.ts';
import { pollLoginId } from './cli-routes.ts';

export const secretInQuery: Variant = {
  name: 'secret-in-query',
  rule: 'the poll secret is read only from the x-litellm-cli-poll-secret header; one in the query string is ignored',
  section: '2, GET /sso/cli/poll',
  mechanism: 'a poll without the header but with ?poll_secret=... (any parameter named *secret*) gets it as the header',
  create: (context) => createSecretInQuery(context),
};

function createSecretInQuery(context: FaultContext): Fault {
  return {
    async handle(exchange: Exchange): Promise<boolean> {
      if (pollLoginId(exchange) === undefined || exchange.req.headers[POLL_SECRET_HEADER] !== undefined) return false;
      const fromQuery = [...exchange.query.entries()].find(([name]) => name.toLowerCase().includes('secret'));
      if (!fromQuery) return false;
      context.fired({ route: 'poll', secret_taken_from: `query parameter ${fromQuery[0]}` });
      await exchange.forward({ headers: { ...exchange.req.headers, [POLL_SECRET_HEADER]: fromQuery[1] } });
      return true;
    },
  };
}
