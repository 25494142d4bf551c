/**
 * Did the suite catch a broken gateway? Only a scenario that passed on the conformant baselines
 * (the reference proxy, and the same proxy behind a fault-free relay) and failed on the variant is
 * evidence: a scenario that fails on the reference proves nothing about the variant.
 */
import type { ScenarioResult } from '../../features/runner/scenario-results.ts';

export type VariantStatus =
  /** A discriminating scenario failed and it checks a MUST: the suite run fails. */
  | 'caught'
  /** Discriminating scenarios failed, but each checks only SHOULDs: the suite warns and passes. */
  | 'warned'
  | 'not-caught'
  /** Discriminating scenarios failed although the fault never fired: they failed for another reason. */
  | 'unproven'
  /** The suite did not run to the end (set-up error, no messages). */
  | 'error';

export interface CatchingScenario {
  name: string;
  requirementIds: string[];
  message: string | undefined;
}

export interface VariantVerdict {
  status: VariantStatus;
  caughtBy: CatchingScenario[];
  /** Requirement IDs of the catching scenarios, sorted, each once. */
  requirementIds: string[];
}

export interface JudgeInput {
  /** Keys of the scenarios that passed on every baseline. */
  baselinePassed: ReadonlySet<string>;
  outcomes: readonly ScenarioResult[] | undefined;
  faultFirings: number;
  requirementIdsOf(tags: readonly string[]): string[];
  /** True when the requirement is a SHOULD (a failure only warns). */
  isShould(requirementId: string): boolean;
}

export function judgeVariant(input: JudgeInput): VariantVerdict {
  if (!input.outcomes || input.outcomes.length === 0) return { status: 'error', caughtBy: [], requirementIds: [] };
  const catching = input.outcomes.filter((o) => o.verdict === 'failed' && input.baselinePassed.has(o.id));
  const caughtBy = catching.map((o) => ({
    name: o.name,
    requirementIds: input.requirementIdsOf(o.tags),
    message: o.message,
  }));
  const requirementIds = [...new Set(caughtBy.flatMap((c) => c.requirementIds))].sort();
  if (caughtBy.length === 0) return { status: 'not-caught', caughtBy, requirementIds };
  if (input.faultFirings === 0) return { status: 'unproven', caughtBy, requirementIds };
  // Mirrors the suite: a failed scenario fails the run unless every requirement it checks is a SHOULD.
  const blocking = caughtBy.some(
    (c) => c.requirementIds.length === 0 || c.requirementIds.some((id) => !input.isShould(id)),
  );
  return { status: blocking ? 'caught' : 'warned', caughtBy, requirementIds };
}

/** Scenario keys that passed in every baseline run. */
export function passedEverywhere(runs: ReadonlyArray<readonly ScenarioResult[]>): Set<string> {
  const [first, ...rest] = runs;
  if (!first) return new Set();
  const passed = new Set(first.filter((o) => o.verdict === 'passed').map((o) => o.id));
  for (const run of rest) {
    const here = new Set(run.filter((o) => o.verdict === 'passed').map((o) => o.id));
    for (const key of passed) if (!here.has(key)) passed.delete(key);
  }
  return passed;
}

/** A variant counts as caught when the suite failed (MUST) or warned (SHOULD) because of its fault. */
export function isCaught(status: VariantStatus): boolean {
  return status === 'caught' || status === 'warned';
}
