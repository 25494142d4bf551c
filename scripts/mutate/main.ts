/**
 * `npm run mutate`: how strong is the conformance suite? Small faults (mutants) are planted in the
 * reference gateway (reference-proxy/, protocol/) and the reference CLI (cli/, protocol/), and the
 * suite judges each one as it would judge anyone's gateway or CLI (judge.ts). Prints the mutation
 * score, every survivor with file and line, and for each MUST requirement whether a mutant proved
 * that one of its scenarios can fail; writes reports/mutation/report.json and summary.md.
 *
 *   npm run mutate                                  # every target, every mutant
 *   npm run mutate -- --target gateway --files reference-proxy/routes/cli-poll.ts
 *   npm run mutate -- --incremental                 # re-judge only what changed since the last run
 *
 * Exit codes: 0 the run finished (whatever the score), 1 the suite could not judge (no results),
 * 2 usage error.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { build } from 'esbuild';
import { positiveInt } from '../../common/command-line.ts';
import { belongsToProfile, loadCatalogue, newestProfile, profileNames } from '../../features/runner/requirements.ts';
import type { ScenarioResult } from '../../features/runner/scenario-results.ts';
import { type Coverage, type Judgement, judgeMutants, measureCoverage, mutantsForRequirements } from './judge.ts';
import { OPERATORS, type OperatorName } from './operators.ts';
import { type MutationReport, previousResults, type ReportedMutant, renderSummary, resultKey } from './report.ts';
import {
  buildTarget,
  COVERAGE_DIR_VARIABLE,
  collectMutants,
  isMutatedFile,
  type NumberedMutant,
  PLAN_VARIABLE,
  TARGETS,
  type TargetMutants,
  type TargetName,
} from './targets.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = fileURLToPath(import.meta.resolve('tsx'));
const HERE = dirname(fileURLToPath(import.meta.url));

function targetList(value: string): TargetName[] {
  const names = value === 'all' ? (Object.keys(TARGETS) as TargetName[]) : value.split(',').map((v) => v.trim());
  for (const name of names) {
    if (!(name in TARGETS)) {
      throw new InvalidArgumentError(`unknown target "${name}"; targets: ${Object.keys(TARGETS).join(', ')}, all`);
    }
  }
  return names as TargetName[];
}

/** Comma-separated requirement IDs; which are MUSTs of the catalogue is checked once it is read. */
function idList(value: string): string[] {
  const ids = value
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  if (ids.length === 0) throw new InvalidArgumentError('give one or more requirement IDs, e.g. CLISSO-POLL-04');
  return ids;
}

function operatorList(value: string): OperatorName[] {
  const names = value.split(',').map((v) => v.trim());
  for (const name of names) {
    if (!(name in OPERATORS)) {
      throw new InvalidArgumentError(`unknown operator "${name}"; operators: ${Object.keys(OPERATORS).join(', ')}`);
    }
  }
  return names as OperatorName[];
}

const program = new Command('mutate')
  .description('Plant small faults in the reference gateway and CLI and let the conformance suite judge each one.')
  .option('--target <names>', 'gateway, cli or all (comma-separated)', targetList, targetList('all'))
  .option('--files <paths>', 'only these source files (comma-separated, repository-relative)')
  .option('--operators <names>', 'only these mutation operators (comma-separated; see --list-operators)', operatorList)
  .option('--incremental', "reuse the last run's verdict of every mutant whose file and judge did not change")
  .option('--reports <dir>', 'where the report and the rounds go', 'reports/mutation')
  .option('--parallel <workers>', 'suite workers per round', positiveInt, 3)
  .option(
    '--profile <name>',
    "the contract profile the suite judges with (as npm start's --profile; default: the newest): its MUST requirements are the ones to prove",
  )
  .option(
    '--step-timeout <seconds>',
    'step time limit in the judge runs (a mutant that hangs a request costs this much; without one the slowest step takes ~5 s)',
    positiveInt,
    10,
  )
  .option(
    '--sample <count>',
    'judge a random sample of this many of the chosen mutants (the same seed picks the same ones); the score is then an estimate, printed with its 95 % interval',
    positiveInt,
  )
  .option('--seed <number>', 'seed of --sample', positiveInt, 1)
  .option(
    '--prove-musts [count]',
    "instead of a sample: for every MUST requirement, the count (default 2) mutants most specific to its scenarios, each tried on them first, to show they can fail (the score is then not the target's)",
    positiveInt,
  )
  .option(
    '--requirements <ids>',
    'with --prove-musts: only these requirements (comma-separated IDs, e.g. CLISSO-POLL-04,CLISSO-CLI-08)',
    idList,
  )
  .option(
    '--max-minutes <minutes>',
    'start no round after this long; mutants still open are reported undecided',
    positiveInt,
  )
  .option('--list', 'list the mutants and stop')
  .option('--list-operators', 'list the mutation operators and stop')
  .argument('[features...]', 'feature files the suite runs (default: every feature)')
  .showHelpAfterError();

/**
 * The target's source files that its bundle really contains (esbuild's metafile): a file of the
 * folder that the entry point never imports would only add mutants nothing can reach.
 */
async function sourceFiles(target: TargetName): Promise<string[]> {
  const spec = TARGETS[target];
  const result = await build({
    entryPoints: [join(ROOT, spec.entry)],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
    metafile: true,
    external: ['better-sqlite3', 'pg-native'],
    logLevel: 'silent',
  });
  return Object.keys(result.metafile.inputs)
    .filter((path) => spec.folders.some((folder) => path.startsWith(`${folder}/`)) && isMutatedFile(path))
    .sort();
}

/**
 * What judges a target's mutants besides the mutant's own file: the suite and every component the
 * target does not include. A mutant's last verdict is reused only while this is unchanged.
 */
async function judgeFingerprint(target: TargetName): Promise<string> {
  const mutated = new Set(TARGETS[target].folders);
  const folders = ['features', 'mock-idp', 'common', 'cli', 'reference-proxy', 'protocol'].filter(
    (f) => !mutated.has(f),
  );
  const hash = createHash('sha256');
  for (const folder of folders) {
    const entries = (await readdir(join(ROOT, folder), { recursive: true })).map(String).sort();
    for (const entry of entries) {
      const text = await readFile(join(ROOT, folder, entry)).catch(() => undefined);
      if (text === undefined) continue;
      hash.update(`${folder}/${entry}\0`).update(text);
    }
  }
  return hash.digest('hex').slice(0, 16);
}

async function main(): Promise<number> {
  program.parse(process.argv);
  const flags = program.opts<{
    target: TargetName[];
    files?: string;
    operators?: OperatorName[];
    incremental?: boolean;
    reports: string;
    parallel: number;
    profile?: string;
    stepTimeout: number;
    sample?: number;
    seed: number;
    proveMusts?: number | true;
    requirements?: string[];
    maxMinutes?: number;
    list?: boolean;
    listOperators?: boolean;
  }>();
  if (flags.listOperators) {
    for (const [name, meaning] of Object.entries(OPERATORS)) process.stdout.write(`${name.padEnd(22)} ${meaning}\n`);
    return 0;
  }
  if (flags.sample !== undefined && flags.proveMusts !== undefined) {
    program.error('error: --sample and --prove-musts choose mutants in two ways: give one of them', { exitCode: 2 });
  }
  if (flags.requirements !== undefined && flags.proveMusts === undefined) {
    program.error('error: --requirements says which MUSTs --prove-musts proves: give --prove-musts too', {
      exitCode: 2,
    });
  }
  const perRequirement = flags.proveMusts === true ? 2 : flags.proveMusts;
  const catalogue = await loadCatalogue(join(ROOT, 'features/requirements.yaml'));
  const profile = flags.profile ?? newestProfile(catalogue);
  if (!profileNames(catalogue).includes(profile)) {
    program.error(
      `error: --profile: "${profile}" is not a profile of the contract (${profileNames(catalogue).join(', ')})`,
      {
        exitCode: 2,
      },
    );
  }
  const inProfile = catalogue.requirements.filter((r) => belongsToProfile(r, profile));
  const notMust = (flags.requirements ?? []).filter((id) => !inProfile.some((r) => r.id === id && r.level === 'MUST'));
  if (notMust.length > 0) {
    program.error(
      `error: --requirements: not a MUST requirement of the ${profile} profile in features/requirements.yaml: ${notMust.join(', ')}`,
      {
        exitCode: 2,
      },
    );
  }
  const log = (line: string) => process.stderr.write(`mutate: ${line}\n`);
  const only = flags.files
    ? new Set(
        flags.files
          .split(',')
          .map((f) => f.trim())
          .filter(Boolean),
      )
    : undefined;

  // Every target's mutants get one numbering, so that one plan can switch on a gateway mutant for
  // one scenario and a CLI mutant for another in the same round. The build always holds them all
  // (its coverage then serves any later choice of files); --files and --operators choose which are judged.
  const sets: TargetMutants[] = [];
  const commands = new Map<TargetName, string>();
  const buildDir = join(ROOT, '.tmp', 'mutate');
  await mkdir(buildDir, { recursive: true });
  let nextId = 0;
  for (const target of flags.target) {
    const set = await collectMutants(ROOT, TARGETS[target], await sourceFiles(target), nextId);
    nextId += set.size;
    const { command, built } = await buildTarget(ROOT, set, join(buildDir, `${target}.cjs`));
    set.mutants = set.mutants.filter((m) => built.has(m.id));
    commands.set(target, command);
    sets.push(set);
  }
  if (only) {
    const known = new Set(sets.flatMap((s) => [...s.sources.keys()]));
    const unknown = [...only].filter((f) => !known.has(f));
    if (unknown.length > 0) {
      program.error(`--files: not a source file the chosen targets are built from: ${unknown.join(', ')}`, {
        exitCode: 2,
      });
    }
  }
  const chosen = (m: NumberedMutant) =>
    (!only || only.has(m.file)) && (!flags.operators || flags.operators.includes(m.operator));
  const candidates = sets.flatMap((s) => s.mutants).filter(chosen);
  // With --prove-musts the mutants are chosen once the coverage is known (below).
  let mutants = flags.sample ? sampleOf(candidates, flags.sample, flags.seed) : candidates;
  if (flags.list) {
    for (const m of mutants) {
      process.stdout.write(`${m.id}\t${m.file}:${m.line}:${m.column}\t${m.operator}\t${oneLine(m.description)}\n`);
    }
    return 0;
  }

  const reportsDir = resolve(flags.reports);
  const coverageDir = join(reportsDir, 'coverage');
  const planFile = join(reportsDir, 'plan.json');
  const previous = flags.incremental ? await previousResults(join(reportsDir, 'report.json')) : new Map();
  await rm(coverageDir, { recursive: true, force: true });
  await mkdir(coverageDir, { recursive: true });

  const fingerprints = new Map<TargetName, string>();
  // A verdict under one profile says nothing about another: the profile is part of the judge.
  for (const set of sets) fingerprints.set(set.target.name, `${await judgeFingerprint(set.target.name)}:${profile}`);

  // Reused: same file content, same edit, same judge.
  const reused = new Map<number, Judgement>();
  const firstTry = new Map<number, string>();
  for (const m of sets.flatMap((s) => s.mutants)) {
    const target = setOf(sets, m).target.name;
    const last = previous.get(resultKey(m, target));
    if (!last || last.judgement.status === 'undecided') continue;
    if (last.judge === fingerprints.get(target)) reused.set(m.id, last.judgement);
    else if (last.judgement.decidedBy) firstTry.set(m.id, last.judgement.decidedBy.scenario);
  }
  let toJudge = mutants.filter((m) => !reused.has(m.id)).map((m) => m.id);
  const reusedChosen = mutants.filter((m) => reused.has(m.id)).length;
  log(
    `${mutants.length} mutants in ${sets.map((s) => `${s.target.name} (${s.mutants.length})`).join(', ')}; ` +
      `${mutants.filter((m) => m.equivalent).length} declared equivalent; ${reusedChosen} verdicts reused, ${toJudge.length} to judge`,
  );

  const startedAt = Date.now();
  let coverage: Coverage | undefined;
  let judged = new Map<number, Judgement>();

  /**
   * report.json after every round (what is still open is `undecided`, which --incremental never
   * reuses: an interrupted run resumes), and the summary at the end. With --incremental, verdicts of
   * mutants outside this run's choice are carried over while they still hold, so runs over parts of
   * a target add up to a report of the whole.
   */
  const writeReport = async (verdicts: ReadonlyMap<number, Judgement>, final: boolean) => {
    const carried = sets.flatMap((s) => s.mutants).filter((m) => !chosen(m) && reused.has(m.id));
    const entries: ReportedMutant[] = [...mutants, ...carried]
      .sort((a, b) => a.id - b.id)
      .map((m) => {
        const judgement = verdicts.get(m.id) ??
          reused.get(m.id) ?? { status: 'undecided', passedScenarios: 0, coveringScenarios: 0 };
        return { mutant: m, target: setOf(sets, m).target.name, judgement, reused: reused.has(m.id) };
      });
    const report: MutationReport = {
      createdAt: new Date().toISOString(),
      wallMs: Date.now() - startedAt,
      targets: sets.map((s) => ({
        name: s.target.name,
        files: [...new Set(entries.filter((e) => e.target === s.target.name).map((e) => e.mutant.file))],
        judge: fingerprints.get(s.target.name) ?? '',
      })),
      mutants: entries,
      profile,
      sampledFrom: flags.sample ? candidates.length : undefined,
      provingRequirements: perRequirement,
      coverageRunMs: coverage?.wallMs,
      scenariosThatCouldNotJudge: coverage
        ? [...coverage.all.values()]
            .filter((o) => o.verdict !== 'passed')
            .map((o) => `${o.id} ${o.name} (${o.verdict})`)
        : [],
    };
    await writeFile(join(reportsDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    if (!final) return { summary: undefined };
    const summary = renderSummary(report, catalogue);
    await writeFile(join(reportsDir, 'summary.md'), summary.markdown);
    return { summary };
  };
  if (toJudge.length > 0) {
    const targetFlags: string[] = [];
    for (const set of sets) targetFlags.push(...set.target.suiteFlags(commands.get(set.target.name) ?? ''));
    targetFlags.push('--profile', profile);
    // Both variables reach every gateway and CLI the harness starts: the plan says which mutant a
    // scenario's processes run, the coverage folder takes what they reached.
    for (const flag of ['--gateway-env', '--cli-env']) {
      targetFlags.push(flag, `${PLAN_VARIABLE}=${planFile}`, flag, `${COVERAGE_DIR_VARIABLE}=${coverageDir}`);
    }
    await writeFile(planFile, '{}');
    targetFlags.push('--step-timeout', String(flags.stepTimeout));
    const suite = {
      nodePath: process.execPath,
      tsxPath: TSX,
      rootDir: ROOT,
      targetFlags,
      workers: flags.parallel,
      confirmStepTimeout: flags.stepTimeout * 3,
      log,
    };
    // The coverage of one build is reused while the build and the suite are what they were, and the
    // mutants are numbered as they were (the operators and the instrumentation are part of that).
    const tool = await Promise.all(['operators.ts', 'instrument.ts'].map((f) => readFile(join(HERE, f), 'utf8')));
    const coverageKey = createHash('sha256')
      .update(JSON.stringify([...sets.map((s) => [...s.fileHashes]), [...fingerprints], program.args, tool]))
      .digest('hex');
    coverage = await cachedCoverage(join(reportsDir, 'coverage.json'), coverageKey, () =>
      measureCoverage(suite, join(reportsDir, 'coverage-run'), coverageDir, program.args),
    );
    if (perRequirement !== undefined) {
      const wanted = flags.requirements;
      const chosenForMusts = mutantsForRequirements(
        candidates,
        coverage,
        { requirements: wanted ? inProfile.filter((r) => wanted.includes(r.id)) : inProfile },
        perRequirement,
      );
      mutants = candidates.filter((m) => chosenForMusts.firstTry.has(m.id));
      toJudge = mutants.filter((m) => !reused.has(m.id)).map((m) => m.id);
      for (const [id, label] of chosenForMusts.firstTry) firstTry.set(id, label);
      log(
        `--prove-musts: ${mutants.length} mutants for the MUST requirements` +
          (chosenForMusts.unjudgeable.length > 0
            ? `; no scenario of ${chosenForMusts.unjudgeable.join(', ')} passed without a mutant, so nothing can prove them`
            : ''),
      );
    }
    judged = await judgeMutants({
      suite,
      coverage,
      mutants: mutants.filter((m) => toJudge.includes(m.id)),
      deadline: flags.maxMinutes ? startedAt + flags.maxMinutes * 60_000 : Number.POSITIVE_INFINITY,
      firstTry,
      catalogue,
      reportsDir: join(reportsDir, 'rounds'),
      afterRound: (verdicts) => writeReport(verdicts, false).then(() => undefined),
      planFile,
    });
  }

  const { summary } = await writeReport(judged, true);
  process.stdout.write(summary?.text ?? '');
  log(`report: ${join(flags.reports, 'summary.md')} (and report.json)`);
  return 0;
}

async function cachedCoverage(file: string, key: string, measure: () => Promise<Coverage>): Promise<Coverage> {
  const saved = await readFile(file, 'utf8')
    .then((text) => JSON.parse(text) as SavedCoverage)
    .catch(() => undefined);
  if (saved?.key === key) {
    return {
      judges: new Map(saved.judges),
      all: new Map(saved.all),
      reached: new Map(saved.reached.map(([id, labels]) => [id, new Set(labels)])),
      wallMs: saved.wallMs,
    };
  }
  const coverage = await measure();
  const toSave: SavedCoverage = {
    key,
    judges: [...coverage.judges],
    all: [...coverage.all],
    reached: [...coverage.reached].map(([id, labels]) => [id, [...labels]]),
    wallMs: coverage.wallMs,
  };
  await writeFile(file, JSON.stringify(toSave));
  return coverage;
}

interface SavedCoverage {
  key: string;
  judges: Array<[string, ScenarioResult]>;
  all: Array<[string, ScenarioResult]>;
  reached: Array<[number, string[]]>;
  wallMs: number;
}

/**
 * `count` mutants drawn without replacement: those whose keys hash lowest with the seed (bottom-k
 * sampling). The draw depends only on the seed and the mutants' keys, so a mutant keeps its place
 * in the sample while its file's code is unchanged, and --incremental reuses its verdict.
 */
function sampleOf(list: readonly NumberedMutant[], count: number, seed: number): NumberedMutant[] {
  const rank = (m: NumberedMutant) => createHash('sha256').update(`${seed}\0${m.key}`).digest('hex');
  return list
    .map((m) => ({ m, rank: rank(m) }))
    .sort((a, b) => a.rank.localeCompare(b.rank))
    .slice(0, count)
    .map(({ m }) => m)
    .sort((a, b) => a.id - b.id);
}

function setOf(sets: readonly TargetMutants[], mutant: NumberedMutant): TargetMutants {
  const set = sets.find((s) => s.mutants.includes(mutant));
  if (!set) throw new Error(`mutant ${mutant.id} belongs to no target`);
  return set;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > 100 ? `${flat.slice(0, 97)}...` : flat;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`mutate: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = error instanceof InvalidArgumentError ? 2 : 1;
  },
);
