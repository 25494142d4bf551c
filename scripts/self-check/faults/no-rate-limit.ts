/**
 * no-rate-limit — breaks docs/contract.md section 2.1: a 31st start from one client IP within 60 s
 * gets 429 and creates no flow.
 *
 * Mechanism: each start reaches the gateway from another loopback source address (127.0.0.2,
 * 127.0.0.3, ... 127.0.0.254, then round again), so the gateway's per-IP window never sees one
 * client over the limit: the gateway behaves like one that keys the limit on something the client
 * controls. Needs the gateway behind the relay on an IPv4 loopback address (it always is here).
 */
import type { Fault, FaultContext, Variant } from '../fault.ts';
import type { Exchange } from '../relay.ts';
import { isStart } from './cli-routes.ts';

export const noRateLimit: Variant = {
  name: 'no-rate-limit',
  rule: 'more than 30 starts from one client IP in 60 s get 429 and make no flow',
  section: '2, POST /sso/cli/start',
  mechanism: 'each start reaches the gateway from a fresh loopback source address (127.0.0.2 ... 127.0.0.254)',
  create: (context) => createNoRateLimit(context),
};

/** The limit the protocol sets; the fault counts as fired only for starts beyond it. */
const LIMIT = 30;
const WINDOW_MS = 60_000;
const FIRST_ALIAS = 2;
const LAST_ALIAS = 254;

function createNoRateLimit(context: FaultContext): Fault {
  let nextAlias = FIRST_ALIAS;
  const recentStartsMs: number[] = [];
  return {
    async handle(exchange: Exchange): Promise<boolean> {
      if (!isStart(exchange)) return false;
      const now = Date.now();
      while (recentStartsMs.length > 0 && (recentStartsMs[0] ?? now) <= now - WINDOW_MS) recentStartsMs.shift();
      recentStartsMs.push(now);
      const localAddress = `127.0.0.${nextAlias}`;
      nextAlias = nextAlias === LAST_ALIAS ? FIRST_ALIAS : nextAlias + 1;
      if (recentStartsMs.length > LIMIT) context.fired({ route: 'start', starts_in_window: recentStartsMs.length });
      await exchange.forward({ localAddress });
      return true;
    },
  };
}
