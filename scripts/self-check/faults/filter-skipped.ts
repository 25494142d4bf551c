/**
 * filter-skipped — breaks docs/contract.md section 5.2: a destination key is dropped unless it
 * matches `^[A-Za-z0-9_.-]+$` and its lower-cased form contains none of access_token, api_key, ...
 *
 * Mechanism: the real gateway is started with a claim map in which every destination the filter
 * would drop is renamed to a harmless placeholder (`selfcheck_unfiltered_0`, ...); the relay renames
 * the placeholders back in the poll answer's `attribution_metadata` and in `/user/info`. The claim
 * values still go through the gateway's value checks, so exactly the key filter is skipped.
 */

import type { Env } from '../../../common/config.ts';
import { checkDestinationKey, parseClaimMap } from '../../../protocol/claim-map.ts';
import type { Fault, FaultContext, Variant } from '../fault.ts';
import { type Exchange, jsonOf, withJson } from '../relay.ts';
import { isUserInfo, pollLoginId } from './cli-routes.ts';

const CLAIM_MAP_NAMES = ['CLI_SSO_CLAIM_MAP', 'LITELLM_CLI_SSO_CLAIM_MAP'] as const;

export const filterSkipped: Variant = {
  name: 'filter-skipped',
  rule: 'secret-looking or malformed destination keys are dropped from the attribution metadata',
  section: '5',
  mechanism:
    'blocked destinations reach the real gateway under placeholder names and are renamed back in the poll answer and /user/info',
  create: (context) => createFilterSkipped(context),
};

function createFilterSkipped(context: FaultContext): Fault {
  const setting = CLAIM_MAP_NAMES.map((name) => ({ name, value: context.env[name] })).find(
    (s) => s.value !== undefined && s.value.trim() !== '',
  );
  const mappings = parseClaimMap(setting?.value);
  /** placeholder -> the blocked destination it stands for */
  const blocked = new Map<string, string>();
  const rewritten = mappings.map(({ source, destination }) => {
    if (checkDestinationKey(destination).allowed) return `${source}->${destination}`;
    const placeholder = `selfcheck_unfiltered_${blocked.size}`;
    blocked.set(placeholder, destination);
    return `${source}->${placeholder}`;
  });

  return {
    upstreamEnv(env: Env): Env {
      if (!setting || blocked.size === 0) return env;
      return { ...env, [setting.name]: rewritten.join(',') };
    },
    async handle(exchange: Exchange): Promise<boolean> {
      if (blocked.size === 0) return false;
      const inPoll = pollLoginId(exchange) !== undefined;
      if (!inPoll && !isUserInfo(exchange)) return false;
      const answer = await exchange.fetch();
      const body = jsonOf(answer);
      const restored = inPoll ? restoreFlat(body, blocked) : restoreNested(body, blocked);
      if (restored.length === 0) {
        exchange.reply(answer);
        return true;
      }
      context.fired({ route: inPoll ? 'poll' : 'user_info', keys_let_through: restored });
      exchange.reply(withJson(answer, answer.status, body));
      return true;
    },
  };
}

/** Poll answer: `attribution_metadata` is flat, dot-joined (section 5). Renames in place. */
function restoreFlat(body: unknown, blocked: ReadonlyMap<string, string>): string[] {
  if (!isRecord(body) || !isRecord(body.attribution_metadata)) return [];
  const metadata = body.attribution_metadata;
  const restored: string[] = [];
  for (const [placeholder, destination] of blocked) {
    if (!Object.hasOwn(metadata, placeholder)) continue;
    metadata[destination] = metadata[placeholder];
    delete metadata[placeholder];
    restored.push(destination);
  }
  return restored;
}

/** `/user/info`: metadata is stored nested (dots make objects). Renames wherever it is found. */
function restoreNested(body: unknown, blocked: ReadonlyMap<string, string>): string[] {
  const restored: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    if (!isRecord(node)) return;
    for (const [placeholder, destination] of blocked) {
      if (!Object.hasOwn(node, placeholder)) continue;
      const value = node[placeholder];
      delete node[placeholder];
      setPath(node, destination.split('.'), value);
      restored.push(destination);
    }
    for (const child of Object.values(node)) visit(child);
  };
  visit(body);
  return restored;
}

function setPath(target: Record<string, unknown>, parts: string[], value: unknown): void {
  const [head, ...rest] = parts;
  if (head === undefined) return;
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  const next = target[head];
  const child: Record<string, unknown> = isRecord(next) ? next : {};
  target[head] = child;
  setPath(child, rest, value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
