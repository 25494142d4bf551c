/**
 * metadata-numbers-as-strings — breaks docs/contract.md section 5.1: strings that look like numbers
 * are stored on the user's metadata as numbers (`"42"` -> 42).
 *
 * Mechanism: the relay turns every number inside `user_info.metadata` of `/user/info` into a
 * string, as a gateway that stores the claim values unchanged would show them.
 */
import type { Fault, FaultContext, Variant } from '../fault.ts';
import { type Exchange, jsonOf, withJson } from '../relay.ts';
import { isUserInfo } from './cli-routes.ts';

export const metadataNumbersAsStrings: Variant = {
  name: 'metadata-numbers-as-strings',
  rule: 'attribution metadata is stored on the user with numeric strings as numbers ("42" -> 42)',
  section: '5',
  mechanism: 'the relay turns every number in user_info.metadata of /user/info back into a string',
  create: (context) => createMetadataNumbersAsStrings(context),
};

function createMetadataNumbersAsStrings(context: FaultContext): Fault {
  return {
    async handle(exchange: Exchange): Promise<boolean> {
      if (!isUserInfo(exchange)) return false;
      const answer = await exchange.fetch();
      const body = jsonOf(answer);
      const metadata = metadataOf(body);
      const changed = metadata ? stringifyNumbers(metadata) : 0;
      if (changed === 0) {
        exchange.reply(answer);
        return true;
      }
      context.fired({ route: 'user_info', numbers_turned_into_strings: changed });
      exchange.reply(withJson(answer, answer.status, body));
      return true;
    },
  };
}

function metadataOf(body: unknown): Record<string, unknown> | undefined {
  if (!isRecord(body) || !isRecord(body.user_info)) return undefined;
  const metadata = body.user_info.metadata;
  return isRecord(metadata) ? metadata : undefined;
}

/** Replaces numbers by their decimal text, in place; returns how many were replaced. */
function stringifyNumbers(node: Record<string, unknown>): number {
  let changed = 0;
  for (const [key, value] of Object.entries(node)) {
    if (typeof value === 'number') {
      node[key] = String(value);
      changed += 1;
    } else if (isRecord(value)) changed += stringifyNumbers(value);
  }
  return changed;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
