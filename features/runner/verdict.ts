/**
 * A run's verdict from its scenarios, with the same rules for a single run and for merged shards:
 * a failed MUST fails the run, a failed SHOULD warns; with expected failures, any other failure
 * and any expected failure that passed fail the run; a disagreement between the requirement
 * catalogue and the scenarios fails it; so does a run in which no scenario ran.
 */
import { type Catalogue, type Coverage, failsTheRun } from './requirements.ts';
import type { ScenarioResult, ScenarioVerdict } from './run-suite.ts';

export interface VerdictInput {
  scenarios: readonly ScenarioResult[];
  catalogue: Catalogue;
  coverage: Coverage;
  /** Scenario names expected to fail (--expected-failures); undefined: none given. */
  expectedFailures: readonly string[] | undefined;
  /** Cucumber said the run did not succeed although no scenario failed: a hook or the run broke. */
  runBroken: boolean;
  /** A shard may get no scenario; a whole run with none fails. */
  noScenarioIsFine: boolean;
  wallMs: number;
}

export interface Verdict {
  ok: boolean;
  /** What to tell the person, in order, ending with the two summary lines. */
  lines: string[];
}

export function judgeRun(input: VerdictInput): Verdict {
  const { scenarios, catalogue } = input;
  const lines: string[] = [];
  const counts = count(scenarios);
  const blocking = scenarios.filter((s) => failsTheRun(s, catalogue));
  for (const s of scenarios.filter((x) => x.verdict === 'failed' && !failsTheRun(x, catalogue))) {
    lines.push(`warning: a SHOULD is not met: ${s.name}`);
  }
  let ok = input.expectedFailures
    ? checkExpectedFailures(scenarios, input.expectedFailures, lines)
    : blocking.length === 0 && !input.runBroken;
  if (input.coverage.uncovered.length > 0 || input.coverage.unknown.length > 0) {
    lines.push('the requirement catalogue and the scenarios disagree (see above): the run fails');
    ok = false;
  }
  if (scenarios.length === 0 && !input.noScenarioIsFine) {
    lines.push('no scenario ran: check the paths, --tags and --name');
    ok = false;
  }
  lines.push(
    `${scenarios.length} scenarios: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped in ${(input.wallMs / 1000).toFixed(1)} s`,
  );
  // A failed SHOULD is a warning: counted apart, so that "failed" means a MUST failed.
  const warned = counts.failed - blocking.length;
  lines.push(
    `conformance: ${counts.passed} passed, ${blocking.length} failed, ${counts.skipped} skipped, ${warned} warned`,
  );
  return { ok, lines };
}

/** The lines that name what the catalogue and the scenarios disagree on. */
export function coverageLines(coverage: Coverage): string[] {
  return [
    ...coverage.uncovered.map((r) => `requirement without a scenario: ${r.id} (${r.level}) ${r.text}`),
    ...coverage.unknown.map((u) => `unknown requirement tag @${u.id} in ${u.file}`),
  ];
}

export function count(scenarios: readonly ScenarioResult[]): Record<ScenarioVerdict, number> {
  const totals: Record<ScenarioVerdict, number> = { passed: 0, failed: 0, skipped: 0 };
  for (const s of scenarios) totals[s.verdict] += 1;
  return totals;
}

function checkExpectedFailures(
  scenarios: readonly ScenarioResult[],
  expected: readonly string[],
  lines: string[],
): boolean {
  const expectedSet = new Set(expected);
  let ok = true;
  for (const s of scenarios) {
    if (s.verdict === 'failed' && !expectedSet.has(s.name)) {
      lines.push(`unexpected failure: ${s.name}`);
      ok = false;
    }
    if (s.verdict === 'passed' && expectedSet.has(s.name)) {
      lines.push(`expected to fail but passed (remove it from the expected failures): ${s.name}`);
      ok = false;
    }
  }
  return ok;
}
