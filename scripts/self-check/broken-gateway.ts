/**
 * A non-conformant gateway made of a real one plus one deliberate fault: a relay
 * in front of the real gateway that breaks exactly the rule its variant names (variants.ts).
 *
 * The process side (start the real gateway as a child, stop it with the relay) is in
 * upstream-gateway.ts and broken-gateway-main.ts; this file builds the relay for a given upstream,
 * which is what the tests use.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Env } from '../../common/config.ts';
import type { Logger } from '../../common/logger.ts';
import { FAULT_FIRED_EVENT, type Fault, type Variant } from './fault.ts';
import { createRelayHandler } from './relay.ts';

export interface BrokenGatewayOptions {
  variant: Variant;
  /** The environment the harness gave the gateway (claim map, master key, hours, ...). */
  env: Env;
  logger: Logger;
}

export interface BrokenGateway {
  readonly variant: Variant;
  /** The environment to start the real gateway with (the fault may change it, e.g. filter-skipped). */
  readonly upstreamEnv: Env;
  /** The relay's request handler, forwarding to the real gateway at `upstreamUrl`. */
  handlerFor(upstreamUrl: string): (req: IncomingMessage, res: ServerResponse) => void;
  /** How many times the fault has changed something so far. */
  firedCount(): number;
}

export function createBrokenGateway(options: BrokenGatewayOptions): BrokenGateway {
  const logger = options.logger.child({ variant: options.variant.name });
  let fired = 0;
  const fault: Fault = options.variant.create({
    env: options.env,
    logger,
    fired: (detail) => {
      fired += 1;
      logger.warn(FAULT_FIRED_EVENT, { rule: options.variant.rule, ...detail });
    },
  });
  return {
    variant: options.variant,
    upstreamEnv: fault.upstreamEnv ? fault.upstreamEnv(options.env) : options.env,
    handlerFor: (upstreamUrl) => createRelayHandler({ upstreamUrl, fault: fault.handle, logger }),
    firedCount: () => fired,
  };
}
