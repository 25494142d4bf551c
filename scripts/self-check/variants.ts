/**
 * The catalogue of broken gateways on the wire: each variant breaks exactly one rule of
 * docs/contract.md in a relay in front of the gateway (logic faults are source-faults.ts). `none` is the relay with no fault, to prove the relay itself is
 * transparent (the suite must pass through it).
 */
import type { Variant } from './fault.ts';
import { clientChosenSession } from './faults/client-chosen-session.ts';
import { codeNotChecked } from './faults/code-not-checked.ts';
import { codeStepSkipped } from './faults/code-step-skipped.ts';
import { error500 } from './faults/error-500.ts';
import { expiredKeyAccepted } from './faults/expired-key-accepted.ts';
import { metadataNumbersAsStrings } from './faults/metadata-numbers-as-strings.ts';
import { noRateLimit } from './faults/no-rate-limit.ts';
import { pollSecretIgnored } from './faults/poll-secret-ignored.ts';
import { reusablePoll } from './faults/reusable-poll.ts';
import { secretInQuery } from './faults/secret-in-query.ts';
import { storeDown500 } from './faults/store-down-500.ts';

/** In the order the self-check runs them. */
export const VARIANTS: readonly Variant[] = [
  reusablePoll,
  pollSecretIgnored,
  noRateLimit,
  clientChosenSession,
  codeNotChecked,
  expiredKeyAccepted,
  error500,
  secretInQuery,
  codeStepSkipped,
  storeDown500,
  metadataNumbersAsStrings,
];

/** The relay with no fault: every request streamed through untouched. */
export const NO_FAULT: Variant = {
  name: 'none',
  rule: '(none: the relay is transparent)',
  section: '-',
  mechanism: 'every request is streamed to the real gateway and back untouched',
  create: () => ({ handle: async () => false }),
};

export const VARIANT_NAMES: readonly string[] = [NO_FAULT.name, ...VARIANTS.map((v) => v.name)];

export function findVariant(name: string): Variant | undefined {
  return name === NO_FAULT.name ? NO_FAULT : VARIANTS.find((v) => v.name === name);
}
