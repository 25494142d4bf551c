/**
 * The conformance suite as the judge of mutants, in rounds.
 *
 * 1. **Coverage.** One run of the whole suite against the probed builds, each scenario on gateways
 *    of its own (`--isolate-scenarios`): every gateway and CLI process writes which mutants it
 *    reached and which scenario it served. Scenarios that fail or skip here cannot judge anything.
 * 2. **Rounds.** A round is one suite run of some scenarios, each with one mutant switched on in the
 *    processes that serve it (the plan file maps scenario -> mutant; the build reads it at start).
 *    A mutant is tried on the scenarios that reach it, fastest first, one scenario in its first
 *    round and more in later ones, until one fails: a failed scenario with a MUST requirement
 *    kills it; one with SHOULDs only warns, and the mutant is tried further for a MUST.
 *
 * Running many mutants in one suite run spares the ~5 s that each run spends before its first
 * scenario (bundling, browser, IdP): a mutant costs the scenarios it takes to decide it.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Catalogue, requirementIdsOf } from '../../features/runner/requirements.ts';
import { firstLine, readScenarioResults, type ScenarioResult } from '../../features/runner/scenario-results.ts';
import { runConformanceSuite } from '../self-check/suite-run.ts';

export type MutantStatus = 'killed' | 'warned' | 'survived' | 'no-coverage' | 'undecided';

export interface Judgement {
  status: MutantStatus;
  /** The scenario that killed (or warned about) the mutant, and the requirement IDs it carries. */
  decidedBy?: { scenario: string; name: string; requirements: string[]; message: string | undefined };
  /** Scenarios that ran with the mutant on and passed. */
  passedScenarios: number;
  /** Scenarios that reach the mutant and could judge (they passed with no mutant on). */
  coveringScenarios: number;
}

export interface SuiteInvocation {
  nodePath: string;
  tsxPath: string;
  rootDir: string;
  /** Flags that point the suite at the mutated builds (targets.ts suiteFlags). */
  targetFlags: readonly string[];
  workers: number;
  /**
   * The step time limit of a confirmation run (seconds): a scenario that failed by running out of
   * time with a mutant on is run again with this much, and kills only if it fails again. On a busy
   * machine a step can pass the round's limit with no mutant at all; a mutant that really makes a
   * request hang fails the second time too.
   */
  confirmStepTimeout: number;
  log: (line: string) => void;
}

export interface Coverage {
  /** Scenarios that passed with no mutant on, by label (`uri:line`). */
  judges: Map<string, ScenarioResult>;
  /** Every scenario of the coverage run, by label. */
  all: Map<string, ScenarioResult>;
  /** Mutant id -> labels of the scenarios whose processes reached it. */
  reached: Map<number, Set<string>>;
  wallMs: number;
}

/** One suite run against the mutated builds, each scenario on processes of its own. */
function isolatedRun(suite: SuiteInvocation, reportsDir: string, paths: readonly string[], extraFlags: string[] = []) {
  return runConformanceSuite({
    nodePath: suite.nodePath,
    tsxPath: suite.tsxPath,
    rootDir: suite.rootDir,
    gatewayCommand: undefined,
    reportsDir,
    // The last --step-timeout given wins: a confirmation run's comes after the target's.
    extraArgs: [
      ...suite.targetFlags,
      ...extraFlags,
      '--isolate-scenarios',
      '--parallel',
      String(suite.workers),
      ...paths,
    ],
    env: process.env,
  });
}

/**
 * A mutant the source declares equivalent is still tried, on its likeliest killers only: a kill
 * shows the mark too wide, and trying every scenario that reaches code run by every login (the
 * admission gate at the start) would cost minutes for each mutant the mark already answers.
 */
const EQUIVALENT_TRIES = 3;

/** Cucumber's message for a step that ran out of time. */
const STEP_TIMED_OUT = /function timed out/;

/** Whether a scenario failed only by running out of time (confirmed before it may kill). */
export function failedByTimeout(outcome: Pick<ScenarioResult, 'verdict' | 'message'>): boolean {
  return outcome.verdict === 'failed' && STEP_TIMED_OUT.test(outcome.message ?? '');
}

/** A scenario's label in plans and coverage files: its id, `uri:line`. */
export const labelOf = (outcome: Pick<ScenarioResult, 'id'>) => outcome.id;

export async function measureCoverage(
  suite: SuiteInvocation,
  reportsDir: string,
  coverageDir: string,
  featurePaths: readonly string[],
): Promise<Coverage> {
  suite.log('coverage: the whole suite, each scenario on processes of its own, no mutant on');
  const run = await isolatedRun(suite, reportsDir, featurePaths);
  const outcomes = await readScenarioResults(run.messagesFile).catch(() => []);
  if (outcomes.length === 0) {
    throw new Error(`the coverage run produced no results (exit ${run.exitCode}); see ${run.outputFile}`);
  }
  const all = new Map(outcomes.map((o) => [labelOf(o), o]));
  // A scenario whose step ran out of the round's time on a busy machine is run again with more, as
  // in the rounds: otherwise the slowest scenarios (a whole CLI login) could never judge.
  const timedOut = outcomes.filter(failedByTimeout).map(labelOf);
  if (timedOut.length > 0) {
    const again = await isolatedRun(suite, `${reportsDir}-confirm`, timedOut, [
      '--step-timeout',
      String(suite.confirmStepTimeout),
    ]);
    const confirmed = await readScenarioResults(again.messagesFile).catch(() => []);
    for (const outcome of confirmed) all.set(labelOf(outcome), outcome);
    suite.log(
      `coverage: ${timedOut.length} scenarios ran out of time; run again with ${suite.confirmStepTimeout} s a step, ${confirmed.filter((o) => o.verdict === 'passed').length} passed`,
    );
  }
  const judges = new Map([...all].filter(([, o]) => o.verdict === 'passed'));
  const reached = new Map<number, Set<string>>();
  for (const name of await readdir(coverageDir)) {
    const record = JSON.parse(await readFile(join(coverageDir, name), 'utf8')) as { scenario: string; ids: number[] };
    for (const id of record.ids) {
      const scenarios = reached.get(id) ?? new Set<string>();
      scenarios.add(record.scenario);
      reached.set(id, scenarios);
    }
  }
  suite.log(
    `coverage: ${all.size} scenarios, ${judges.size} passed and can judge, ${reached.size} mutants reached, in ${(run.wallMs / 1000).toFixed(1)} s`,
  );
  return { judges, all, reached, wallMs: run.wallMs };
}

interface Pending {
  id: number;
  file: string;
  hint: string | undefined;
  /** How many scenarios it may try: all for most, a few for one the source declares equivalent. */
  budget: number;
  /** Scenarios still to try, in order. */
  remaining: string[];
  covering: number;
  passed: number;
  /** Scenarios planned for this mutant that a run did not report, with how often. */
  unreported: Map<string, number>;
  warnedBy?: Judgement['decidedBy'];
}

/** What the rounds so far have shown about the scenarios, to try the likeliest killers first. */
interface Experience {
  /** How close a scenario's requirements are to a file's topic (see topicAffinity). */
  affinity: (file: string, label: string) => number;
  /** File -> scenario -> mutants of that file it killed. */
  killsInFile: Map<string, Map<string, number>>;
  /** Scenario -> how often it ran with a mutant on, and how often it killed. */
  record: Map<string, { tries: number; kills: number }>;
}

/**
 * The order in which a mutant tries its scenarios: the one that killed it last time; then those whose
 * requirements are about the file's topic (routes/cli-poll.ts and the "GET /sso/cli/poll" section);
 * then those that killed other mutants of its file (a file's mutants tend to die by the same few scenarios: the
 * rate-limit scenario for the start route's limiter, the configuration scenarios for the settings
 * parser); then those that have killed most often for their tries (a whole login through the CLI
 * notices more than a single refused request); then the fastest.
 */
function orderScenarios(mutant: Pending, coverage: Coverage, experience: Experience): void {
  const kills = experience.killsInFile.get(mutant.file);
  const inFile = (label: string) => (label === mutant.hint ? 1e9 : (kills?.get(label) ?? 0));
  const rate = (label: string) => {
    const { tries, kills } = experience.record.get(label) ?? { tries: 0, kills: 0 };
    return (kills + 1) / (tries + 2);
  };
  const duration = (label: string) => coverage.judges.get(label)?.durationMs ?? 0;
  const topic = (label: string) => (label === mutant.hint ? 1e9 : experience.affinity(mutant.file, label));
  mutant.remaining.sort(
    (a, b) =>
      topic(b) - topic(a) ||
      inFile(b) - inFile(a) ||
      rate(b) - rate(a) ||
      duration(a) - duration(b) ||
      a.localeCompare(b),
  );
}

/** Words too common in file names and section titles to say what either is about. */
const COMMON_WORDS = new Set(['cli', 'sso', 'the', 'and', 'its', 'get', 'post', 'from', 'with', 'ts', 'routes']);

function words(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z]+/)
    .filter((word) => word.length >= 3 && !COMMON_WORDS.has(word));
}

/**
 * A prior for the order of scenarios: how many words of a source file's name begin, or are begun
 * by, a word of the sections its scenario's requirements belong to ("config" and "3. Configuration",
 * "poll" and "2. GET /sso/cli/poll", "claim" and "5. Claim mapping").
 */
export function topicAffinity(file: string, sections: readonly string[]): number {
  const fileWords = words(file.split('/').pop() ?? file);
  const sectionWords = new Set(sections.flatMap(words));
  return fileWords.filter((w) => [...sectionWords].some((s) => s.startsWith(w) || w.startsWith(s))).length;
}

export async function judgeMutants(options: {
  suite: SuiteInvocation;
  coverage: Coverage;
  /** Mutants to judge; a scenario label listed in `firstTry` is tried first (the last run's killer). */
  mutants: ReadonlyArray<{ id: number; file: string; equivalent?: string | undefined }>;
  /** No round starts after this time (ms since the epoch); mutants still open are `undecided`. */
  deadline: number;
  firstTry: ReadonlyMap<number, string>;
  catalogue: Catalogue;
  reportsDir: string;
  planFile: string;
  /** Called after every round with the verdicts so far. */
  afterRound: (verdicts: ReadonlyMap<number, Judgement>) => Promise<void>;
}): Promise<Map<number, Judgement>> {
  const { suite, coverage, catalogue } = options;
  const judgements = new Map<number, Judgement>();
  const pending: Pending[] = [];
  for (const { id, file, equivalent } of options.mutants) {
    const remaining = [...(coverage.reached.get(id) ?? [])].filter((label) => coverage.judges.has(label));
    if (remaining.length === 0) {
      judgements.set(id, { status: 'no-coverage', passedScenarios: 0, coveringScenarios: 0 });
    } else {
      const hint = options.firstTry.get(id);
      const budget = equivalent ? EQUIVALENT_TRIES : Number.POSITIVE_INFINITY;
      pending.push({ id, file, hint, budget, remaining, covering: remaining.length, passed: 0, unreported: new Map() });
    }
  }
  const affinities = new Map<string, number>();
  const affinity = (file: string, label: string) => {
    const key = `${file}\0${label}`;
    let value = affinities.get(key);
    if (value === undefined) {
      const tags = coverage.judges.get(label)?.tags ?? [];
      const sections = requirementIdsOf(tags).map((id) => catalogue.byId.get(id)?.section ?? '');
      value = topicAffinity(file, sections);
      affinities.set(key, value);
    }
    return value;
  };
  const experience: Experience = { affinity, killsInFile: new Map(), record: new Map() };

  const levelOf = (tags: readonly string[]) => {
    const levels = requirementIdsOf(tags).map((id) => catalogue.byId.get(id)?.level);
    return levels.some((level) => level !== 'SHOULD') ? 'MUST' : 'SHOULD';
  };

  for (let round = 1; pending.length > 0; round += 1) {
    if (Date.now() > options.deadline) {
      suite.log(`time is up: ${pending.length} mutants left undecided`);
      for (const mutant of pending) {
        judgements.set(mutant.id, {
          status: 'undecided',
          passedScenarios: mutant.passed,
          coveringScenarios: mutant.covering,
        });
      }
      break;
    }
    // Every scenario that some open mutant still has to try gets one, the least-tried mutants
    // served first and then in turns: a round is one suite run, and a full one costs no more start-up.
    // In the first round each mutant gets one scenario only: most die by their first.
    for (const mutant of pending) orderScenarios(mutant, coverage, experience);
    const plan = new Map<string, Pending>();
    const queue = [...pending].sort(
      (a, b) => a.covering - a.remaining.length - (b.covering - b.remaining.length) || a.id - b.id,
    );
    const cursor = new Map<Pending, number>();
    for (let turn = 0, placed = true; placed && (round > 1 || turn === 0); turn += 1) {
      placed = false;
      for (const mutant of queue) {
        let at = cursor.get(mutant) ?? 0;
        while (at < mutant.remaining.length && plan.has(mutant.remaining[at] as string)) at += 1;
        cursor.set(mutant, at + 1);
        const label = mutant.remaining[at];
        if (label === undefined) continue;
        plan.set(label, mutant);
        placed = true;
      }
    }
    await writeFile(options.planFile, JSON.stringify(Object.fromEntries([...plan].map(([label, m]) => [label, m.id]))));
    const run = await isolatedRun(suite, join(options.reportsDir, `round-${round}`), [...plan.keys()]);
    const outcomes = new Map((await readScenarioResults(run.messagesFile).catch(() => [])).map((o) => [labelOf(o), o]));
    if (outcomes.size === 0)
      throw new Error(`round ${round} produced no results (exit ${run.exitCode}); see ${run.outputFile}`);
    const timedOut = [...outcomes.values()].filter(failedByTimeout).map(labelOf);
    if (timedOut.length > 0) {
      // The same scenarios with the same mutants, with more time: their verdicts replace the round's.
      await writeFile(
        options.planFile,
        JSON.stringify(Object.fromEntries(timedOut.map((label) => [label, plan.get(label)?.id]))),
      );
      const again = await isolatedRun(suite, join(options.reportsDir, `round-${round}-confirm`), timedOut, [
        '--step-timeout',
        String(suite.confirmStepTimeout),
      ]);
      const confirmed = await readScenarioResults(again.messagesFile).catch(() => []);
      // A timeout the second run did not report is not a kill: the scenario is tried again later.
      for (const label of timedOut) outcomes.delete(label);
      for (const outcome of confirmed) outcomes.set(labelOf(outcome), outcome);
      const cleared = confirmed.filter((o) => o.verdict === 'passed').length;
      suite.log(
        `round ${round}: ${timedOut.length} scenarios ran out of time; run again with ${suite.confirmStepTimeout} s a step, ${cleared} passed (${(again.wallMs / 1000).toFixed(1)} s)`,
      );
    }
    let killed = 0;
    for (const [label, mutant] of plan) {
      const outcome = outcomes.get(label);
      // A scenario the run did not report is tried again in a later round, and given up after two.
      if (!outcome) {
        const misses = (mutant.unreported.get(label) ?? 0) + 1;
        mutant.unreported.set(label, misses);
        if (misses >= 2) mutant.remaining = mutant.remaining.filter((l) => l !== label);
        continue;
      }
      mutant.remaining = mutant.remaining.filter((l) => l !== label);
      if (judgements.has(mutant.id)) continue;
      const record = experience.record.get(label) ?? { tries: 0, kills: 0 };
      record.tries += 1;
      experience.record.set(label, record);
      if (outcome.verdict === 'failed') {
        const decidedBy = {
          scenario: label,
          name: outcome.name,
          requirements: requirementIdsOf(outcome.tags),
          message: outcome.message && firstLine(outcome.message, 200),
        };
        if (levelOf(outcome.tags) === 'MUST') {
          judgements.set(mutant.id, {
            status: 'killed',
            decidedBy,
            passedScenarios: mutant.passed,
            coveringScenarios: mutant.covering,
          });
          const kills = experience.killsInFile.get(mutant.file) ?? new Map<string, number>();
          kills.set(label, (kills.get(label) ?? 0) + 1);
          experience.killsInFile.set(mutant.file, kills);
          record.kills += 1;
          killed += 1;
          continue;
        }
        mutant.warnedBy ??= decidedBy;
      } else if (outcome.verdict === 'passed') {
        mutant.passed += 1;
      }
    }
    for (const mutant of pending) {
      // A mutant declared equivalent that its likeliest killers did not kill is taken at its word.
      if (mutant.covering - mutant.remaining.length >= mutant.budget) mutant.remaining = [];
      if (judgements.has(mutant.id) || mutant.remaining.length > 0) continue;
      judgements.set(mutant.id, {
        status: mutant.warnedBy ? 'warned' : 'survived',
        decidedBy: mutant.warnedBy,
        passedScenarios: mutant.passed,
        coveringScenarios: mutant.covering,
      });
    }
    const left = pending.filter((m) => !judgements.has(m.id));
    suite.log(
      `round ${round}: ${plan.size} scenarios, ${killed} killed, ${pending.length - left.length - killed} decided otherwise, ${left.length} still open (${(run.wallMs / 1000).toFixed(1)} s)`,
    );
    pending.splice(0, pending.length, ...left);
    await options.afterRound(judgements);
  }
  return judgements;
}

/**
 * For `--prove-musts`: mutants that can show each MUST requirement's scenarios able to fail. For
 * every MUST requirement whose scenarios can judge, the `perRequirement` mutants reached by one of
 * them that the fewest other scenarios reach (code that is about that rule and little else), each
 * to be tried on that scenario first. Mutants declared equivalent are left out. Requirements whose
 * scenarios all failed or were skipped without a mutant are returned apart: nothing can prove them.
 */
export function mutantsForRequirements(
  candidates: ReadonlyArray<{ id: number; equivalent?: string }>,
  coverage: Pick<Coverage, 'judges' | 'reached'>,
  catalogue: Pick<Catalogue, 'requirements'>,
  perRequirement: number,
): { firstTry: Map<number, string>; unjudgeable: string[] } {
  const firstTry = new Map<number, string>();
  const unjudgeable: string[] = [];
  for (const requirement of catalogue.requirements) {
    if (requirement.level !== 'MUST' || requirement.retired) continue;
    const scenarios = [...coverage.judges.values()]
      .filter((s) => requirementIdsOf(s.tags).includes(requirement.id))
      .map(labelOf);
    if (scenarios.length === 0) {
      unjudgeable.push(requirement.id);
      continue;
    }
    const ranked = candidates
      .filter((m) => !m.equivalent && !firstTry.has(m.id))
      .map((m) => {
        const reached = coverage.reached.get(m.id);
        return { id: m.id, first: scenarios.find((label) => reached?.has(label)), spread: reached?.size ?? 0 };
      })
      .filter((m): m is { id: number; first: string; spread: number } => m.first !== undefined)
      .sort((a, b) => a.spread - b.spread || a.id - b.id)
      .slice(0, perRequirement);
    for (const m of ranked) firstTry.set(m.id, m.first);
  }
  return { firstTry, unjudgeable };
}
