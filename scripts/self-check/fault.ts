/**
 * What one deliberate fault is: the protocol rule it breaks, how, and the code that breaks it.
 * Each variant of the broken gateway carries exactly one fault, so a failing scenario points at it.
 */
import type { Env } from '../../common/config.ts';
import type { Logger } from '../../common/logger.ts';
import type { FaultHandler } from './relay.ts';

export interface FaultContext {
  /** The environment the harness gave the gateway (docs/contract.md section 3). */
  env: Env;
  logger: Logger;
  /**
   * Record that the fault changed something. The self-check counts these lines in the gateway's log:
   * a variant that failed scenarios without its fault ever firing failed for another reason.
   */
  fired(detail: Record<string, unknown>): void;
}

export interface Fault {
  /** Environment for the real gateway behind the relay (default: the relay's own, unchanged). */
  upstreamEnv?(env: Env): Env;
  handle: FaultHandler;
}

export interface Variant {
  name: string;
  /** The rule of docs/contract.md that the variant breaks, in one line. */
  rule: string;
  /** Where that rule is written, e.g. `2, GET /sso/cli/poll`. */
  section: string;
  /** How the relay breaks it. */
  mechanism: string;
  create(context: FaultContext): Fault;
}

/** The event name of a fired fault in the gateway's JSON log (read by the self-check). */
export const FAULT_FIRED_EVENT = 'fault_fired';
