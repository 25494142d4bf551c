/**
 * poll-secret-ignored — breaks docs/contract.md section 2.5, poll step 2: a missing or wrong poll
 * secret gets 403 Invalid CLI polling secret.
 *
 * Mechanism: the relay keeps each flow's poll secret from the start answer and puts it in the
 * `x-litellm-cli-poll-secret` header of every poll for that login, whatever the client sent.
 */
import { POLL_SECRET_HEADER } from '../../../protocol/cli-sso.ts';
import type { Fault, FaultContext, Variant } from '../fault.ts';
import type { Exchange } from '../relay.ts';
import { isStart, pollLoginId, relayStart } from './cli-routes.ts';

export const pollSecretIgnored: Variant = {
  name: 'poll-secret-ignored',
  rule: 'a poll without the right x-litellm-cli-poll-secret header gets 403',
  section: '2, GET /sso/cli/poll (step 2)',
  mechanism: "the relay keeps each flow's poll secret and injects it into every poll for that login",
  create: (context) => createPollSecretIgnored(context),
};

function createPollSecretIgnored(context: FaultContext): Fault {
  const secrets = new Map<string, string>();
  return {
    async handle(exchange: Exchange): Promise<boolean> {
      if (isStart(exchange)) {
        const started = await relayStart(exchange);
        if (started) secrets.set(started.loginId, started.pollSecret);
        return true;
      }
      const loginId = pollLoginId(exchange);
      const secret = loginId === undefined ? undefined : secrets.get(loginId);
      if (secret === undefined) return false;
      const presented = exchange.req.headers[POLL_SECRET_HEADER];
      if (presented === secret) return false;
      context.fired({ route: 'poll', presented: presented === undefined ? 'none' : 'wrong' });
      await exchange.forward({ headers: { ...exchange.req.headers, [POLL_SECRET_HEADER]: secret } });
      return true;
    },
  };
}
