/**
 * Splitting a run's scenarios over n machines (`--shard i/n`): every machine computes the same plan
 * from the same scenarios and runs its own share, so that the n shards together run each scenario
 * exactly once.
 *
 * The plan depends only on what the scenarios are (their place `uri:line`, their steps), never on
 * the order in which Cucumber found them: the same features give the same plan whatever order the
 * files are listed or read in.
 *
 * Scenarios that would start the same gateway stay together where balance allows: each worker's
 * gateway pool starts one gateway per configuration (features/drivers/gateway.ts), so a
 * configuration split over two shards is started twice. The examples of a Scenario Outline stay
 * together too (they differ in one value, and are read side by side in the reports). Groups larger
 * than half a shard's fair share are split; the scenarios with the default configuration are
 * spread freely, since every shard starts that gateway anyway.
 *
 * Balance is by expected cost: the durations of an earlier run when given, else one per scenario.
 * Groups are placed largest first on the least loaded shard (longest processing time first), which
 * keeps each shard within one group's cost of the fair share.
 */
import { createHash } from 'node:crypto';
import type { GherkinDocument, Pickle } from '@cucumber/messages';

export interface ShardSpec {
  /** From 1. */
  index: number;
  count: number;
}

/** `i/n` as typed after `--shard`; the error names the rule broken. */
export function parseShard(text: string): ShardSpec {
  const match = /^([1-9][0-9]*)\/([1-9][0-9]*)$/.exec(text.trim());
  if (!match) throw new Error(`must be i/n with whole numbers from 1 (e.g. 2/3), got "${text}"`);
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (index > count) throw new Error(`shard ${index} of ${count} does not exist: i must be between 1 and n`);
  return { index, count };
}

/** What the plan knows of one scenario (an Outline's example is a scenario of its own). */
export interface PlannedScenario {
  /** `uri:line`, the line of the Scenario or of the example's row: unique within a run. */
  id: string;
  /** `uri:line` of the Scenario Outline the scenario is an example of. */
  outline: string | undefined;
  /**
   * The gateway settings the scenario's steps declare, as one text; '' for the default
   * configuration; undefined when the scenario starts a gateway no other scenario shares.
   */
  gatewaySettings: string | undefined;
}

/**
 * Steps that set the gateway's configuration (features/steps: they write the world's
 * gatewayOverrides / gatewayUnset). Two scenarios with the same such steps get the same gateway
 * from the pool. shards.test.ts checks this list against the step definitions.
 */
export const GATEWAY_SETTING_STEPS: readonly RegExp[] = [
  /^the gateway is configured with:$/,
  /^the gateway is configured without /,
  /^the gateway maps claims with /,
  /^the gateway captures the IdP claims /,
  /^the gateway reads its claim map from /,
  /^the gateway's public base URL is /,
  /^the gateway signs CLI keys with /,
  /^CLI keys are configured with /,
  /^[A-Z_]+ is (not set|empty)$/,
];

/** Steps that start gateways no other scenario shares (a fresh port, a Redis of their own, ...). */
export const OWN_GATEWAY_STEPS: readonly RegExp[] = [
  /^a gateway of its own for this scenario$/,
  /^the IdP's token endpoint cannot be reached$/,
  /^two gateway replicas that share /,
  /^the gateway is started$/,
  /^the key is presented to a gateway of the same configuration but /,
  /^the CLI finds the PKCE-native login the gateway advertises$/,
  /^a gateway served under the path "[^"]*" by a reverse proxy/,
  /^the CLI redeems the code at another gateway, with secrets of its own/,
];

/** The plan's view of a pickle Cucumber found (with the document it comes from). */
export function plannedScenarioOf(pickle: Pickle, document: GherkinDocument | undefined): PlannedScenario {
  const lines = astLines(document);
  const lineOf = (id: string | undefined) => (id === undefined ? undefined : lines.get(id));
  const ids = pickle.astNodeIds;
  const scenarioLine = lineOf(ids[0]);
  const ownLine = lineOf(ids[ids.length - 1]) ?? scenarioLine ?? 0;
  const settings: string[] = [];
  let own = false;
  for (const step of pickle.steps) {
    if (OWN_GATEWAY_STEPS.some((p) => p.test(step.text))) own = true;
    else if (GATEWAY_SETTING_STEPS.some((p) => p.test(step.text))) settings.push(stepWithArgument(step));
  }
  return {
    id: `${pickle.uri}:${ownLine}`,
    outline: ids.length > 1 ? `${pickle.uri}:${scenarioLine}` : undefined,
    gatewaySettings: own ? undefined : settings.sort().join('\n'),
  };
}

function stepWithArgument(step: Pickle['steps'][number]): string {
  const table = step.argument?.dataTable?.rows.map((r) => r.cells.map((c) => c.value).join('|')).join('\n');
  const doc = step.argument?.docString?.content;
  return [step.text, table, doc].filter((x) => x !== undefined).join('\n');
}

/** Line of every scenario and example row of a Gherkin document, by AST node id. */
function astLines(document: GherkinDocument | undefined): Map<string, number> {
  const lines = new Map<string, number>();
  type Child = NonNullable<GherkinDocument['feature']>['children'][number];
  const visit = (children: readonly Child[]) => {
    for (const child of children) {
      if (child.rule) visit(child.rule.children as Child[]);
      const scenario = child.scenario;
      if (!scenario) continue;
      lines.set(scenario.id, scenario.location.line);
      for (const examples of scenario.examples) {
        for (const row of examples.tableBody) lines.set(row.id, row.location.line);
      }
    }
  };
  visit(document?.feature?.children ?? []);
  return lines;
}

export interface ShardPlan {
  count: number;
  /** Scenario ids of each shard, shard 1 first, each sorted. */
  shards: string[][];
  /** Expected cost of each shard (seconds when durations were given, else scenarios). */
  costs: number[];
  /** Identifies n, the scenarios planned and their costs: every shard of one run has the same. */
  fingerprint: string;
}

/**
 * Splits the scenarios over `count` shards. `durations` (seconds by scenario id, from an earlier
 * run) sets each scenario's cost; a scenario it does not know costs the median of those it knows.
 */
export function planShards(
  scenarios: readonly PlannedScenario[],
  count: number,
  durations: ReadonlyMap<string, number> = new Map(),
): ShardPlan {
  const sorted = [...scenarios].sort((a, b) => compareIds(a.id, b.id));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]?.id === sorted[i - 1]?.id) throw new Error(`two scenarios have the place ${sorted[i]?.id}`);
  }
  const cost = costFunction(sorted, durations);
  const groups = groupsOf(sorted);
  const total = sorted.reduce((sum, s) => sum + cost(s.id), 0);
  // A group larger than half a fair share is split into pieces of at most that: the pieces still
  // share their gateway within a shard, and no shard is left far above the others.
  const cap = total / count / 2;
  const pieces = groups.flatMap((g) => split(g, cost, cap));
  pieces.sort((a, b) => b.cost - a.cost || compareIds(a.ids[0] ?? '', b.ids[0] ?? ''));
  const shards: string[][] = Array.from({ length: count }, () => []);
  const costs: number[] = Array.from({ length: count }, () => 0);
  for (const piece of pieces) {
    let target = 0;
    for (let i = 1; i < count; i++) {
      if ((costs[i] as number) < (costs[target] as number) - 1e-9) target = i;
    }
    shards[target]?.push(...piece.ids);
    costs[target] = (costs[target] as number) + piece.cost;
  }
  for (const shard of shards) shard.sort(compareIds);
  return {
    count,
    shards,
    costs: costs.map((c) => Math.round(c * 10) / 10),
    fingerprint: fingerprintOf(
      sorted.map((s) => s.id),
      count,
      cost,
    ),
  };
}

/**
 * Identifies a plan: n, the scenarios and what each was expected to cost. Shards that planned with
 * other durations (a cache restored differently on two machines) split differently, and
 * merge-reports refuses them by this.
 */
export function fingerprintOf(ids: readonly string[], count: number, cost: (id: string) => number = () => 1): string {
  const hash = createHash('sha256').update(`${count}\n`);
  for (const id of [...ids].sort(compareIds)) hash.update(`${id} ${cost(id).toFixed(3)}\n`);
  return hash.digest('hex').slice(0, 16);
}

/** By file, then by line as a number (so that x.feature:9 comes before x.feature:10). */
export function compareIds(a: string, b: string): number {
  const [fileA, lineA] = splitId(a);
  const [fileB, lineB] = splitId(b);
  if (fileA !== fileB) return fileA < fileB ? -1 : 1;
  return lineA - lineB;
}

function splitId(id: string): [string, number] {
  const colon = id.lastIndexOf(':');
  return colon < 0 ? [id, 0] : [id.slice(0, colon), Number(id.slice(colon + 1)) || 0];
}

function costFunction(
  scenarios: readonly PlannedScenario[],
  durations: ReadonlyMap<string, number>,
): (id: string) => number {
  const known = scenarios
    .map((s) => durations.get(s.id))
    .filter((d): d is number => d !== undefined && Number.isFinite(d) && d >= 0)
    .sort((a, b) => a - b);
  if (known.length === 0) return () => 1;
  const median = known[Math.floor(known.length / 2)] as number;
  // A scenario that took no measurable time still costs something: it is started and reported.
  const floor = Math.max(median / 100, 0.01);
  return (id) => {
    const d = durations.get(id);
    return Math.max(d !== undefined && Number.isFinite(d) && d >= 0 ? d : median, floor);
  };
}

/** Scenarios joined when they are examples of one Outline or declare the same gateway settings. */
function groupsOf(sorted: readonly PlannedScenario[]): string[][] {
  const parent = new Map<string, string>(sorted.map((s) => [s.id, s.id]));
  const find = (id: string): string => {
    let root = id;
    while (parent.get(root) !== root) root = parent.get(root) as string;
    parent.set(id, root);
    return root;
  };
  const union = (a: string, b: string) => {
    const [ra, rb] = [find(a), find(b)];
    if (ra === rb) return;
    // The smaller id becomes the root, so the result does not depend on the order of the unions.
    if (compareIds(ra, rb) < 0) parent.set(rb, ra);
    else parent.set(ra, rb);
  };
  const firstBy = new Map<string, string>();
  const join = (key: string, id: string) => {
    const first = firstBy.get(key);
    if (first === undefined) firstBy.set(key, id);
    else union(first, id);
  };
  for (const s of sorted) {
    if (s.outline !== undefined) join(`outline\n${s.outline}`, s.id);
    if (s.gatewaySettings) join(`settings\n${s.gatewaySettings}`, s.id);
  }
  const groups = new Map<string, string[]>();
  for (const s of sorted) {
    const root = find(s.id);
    const members = groups.get(root) ?? [];
    members.push(s.id);
    groups.set(root, members);
  }
  return [...groups.values()];
}

interface Piece {
  ids: string[];
  cost: number;
}

/** A group whose cost is above `cap` becomes pieces of about equal cost, each at most `cap` where it can. */
function split(ids: readonly string[], cost: (id: string) => number, cap: number): Piece[] {
  const total = ids.reduce((sum, id) => sum + cost(id), 0);
  if (total <= cap || ids.length === 1) return [{ ids: [...ids], cost: total }];
  const pieces: Piece[] = Array.from({ length: Math.min(ids.length, Math.ceil(total / cap)) }, () => ({
    ids: [],
    cost: 0,
  }));
  const byCost = [...ids].sort((a, b) => cost(b) - cost(a) || compareIds(a, b));
  for (const id of byCost) {
    const lightest = pieces.reduce((best, p) => (p.cost < best.cost - 1e-9 ? p : best));
    lightest.ids.push(id);
    lightest.cost += cost(id);
  }
  for (const p of pieces) p.ids.sort(compareIds);
  return pieces;
}
