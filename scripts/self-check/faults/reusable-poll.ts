/**
 * reusable-poll — breaks docs/contract.md section 2.5, poll step 6: handing out the key deletes the
 * flow, so a second poll gets 400 Invalid CLI login session.
 *
 * Mechanism: the relay keeps each login's ready answer and, when the gateway answers a later poll
 * for that login with 400, answers 200 with the kept answer (key included) instead.
 */
import type { Fault, FaultContext, Variant } from '../fault.ts';
import type { Exchange, UpstreamAnswer } from '../relay.ts';
import { jsonOf } from '../relay.ts';
import { pollLoginId } from './cli-routes.ts';

export const reusablePoll: Variant = {
  name: 'reusable-poll',
  rule: 'the ready answer is given once: the flow is deleted and a second poll gets 400',
  section: '2, GET /sso/cli/poll (step 6)',
  mechanism: "the relay keeps each login's ready answer and replays it when the gateway answers a later poll with 400",
  create: (context) => createReusablePoll(context),
};

function createReusablePoll(context: FaultContext): Fault {
  const readyAnswers = new Map<string, UpstreamAnswer>();
  return {
    async handle(exchange: Exchange): Promise<boolean> {
      const loginId = pollLoginId(exchange);
      if (loginId === undefined) return false;
      const answer = await exchange.fetch();
      const kept = readyAnswers.get(loginId);
      if (answer.status === 400 && kept) {
        context.fired({ route: 'poll', upstream_status: answer.status, replayed_status: kept.status });
        exchange.reply(kept);
        return true;
      }
      if (answer.status === 200 && carriesKey(jsonOf(answer))) readyAnswers.set(loginId, answer);
      exchange.reply(answer);
      return true;
    },
  };
}

function carriesKey(body: unknown): boolean {
  return typeof body === 'object' && body !== null && 'key' in body && typeof body.key === 'string';
}
