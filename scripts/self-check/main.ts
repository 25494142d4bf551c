/**
 * `npm run self-check` (`node --import tsx scripts/self-check/main.ts`): the suite proves it can fail.
 * Runs the conformance suite on two conformant baselines (the embedded reference
 * proxy; the same proxy behind a fault-free relay), then once per broken gateway variant through
 * `--gateway-cmd`, and prints for each variant which scenarios failed and which requirement IDs they
 * check. Writes the table to <reports>/summary.md (and summary.json).
 *
 * Exit codes: 0 every variant caught and the baselines pass, 1 a variant was not caught (or a baseline
 * failed), 2 usage error.
 */
import { writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { positiveInt } from '../../common/command-line.ts';
import { loadCatalogue, requirementIdsOf } from '../../features/runner/requirements.ts';
import { readScenarioResults, type ScenarioResult } from '../../features/runner/scenario-results.ts';
import { countFaultFirings } from './fault-firings.ts';
import { buildFaultyGateway, checkSourceFaults, SOURCE_FAULTS } from './source-faults.ts';
import { runConformanceSuite, type SuiteRun, shellQuote } from './suite-run.ts';
import {
  type BaselineSummary,
  consoleTable,
  counts,
  markdownSummary,
  seconds,
  statusText,
  type VariantSummary,
} from './summary.ts';
import { NO_FAULT, VARIANTS } from './variants.ts';
import { isCaught, judgeVariant, passedEverywhere } from './verdict.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = fileURLToPath(import.meta.resolve('tsx'));
const BROKEN_GATEWAY = join(ROOT, 'scripts/self-check/broken-gateway-main.ts');

/** Every broken gateway: wire faults in a relay, then logic faults in a copy of the source. */
const CHECKS: ReadonlyArray<{
  name: string;
  rule: string;
  section: string;
  mechanism: string;
  kind: 'relay' | 'source';
}> = [
  ...VARIANTS.map((v) => ({
    name: v.name,
    rule: v.rule,
    section: v.section,
    mechanism: v.mechanism,
    kind: 'relay' as const,
  })),
  ...SOURCE_FAULTS.map((f) => ({
    name: f.name,
    rule: f.rule,
    section: f.section,
    mechanism: `(source) ${f.mechanism}`,
    kind: 'source' as const,
  })),
];

function variantList(value: string): string[] {
  const names = value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const unknown = names.filter((n) => !CHECKS.some((v) => v.name === n));
  if (unknown.length > 0) {
    throw new InvalidArgumentError(
      `unknown variant ${unknown.join(', ')}; known: ${CHECKS.map((v) => v.name).join(', ')}`,
    );
  }
  return names;
}

const program = new Command('self-check')
  .description('Prove the conformance suite can fail: run it against gateways that each break one rule.')
  .option('--variants <names>', 'comma list of variants to run (default: all)', variantList)
  .option('--reports <dir>', 'where each run reports, and summary.md', 'reports/self-check')
  .option('--tags <expression>', 'only scenarios matching this Cucumber tag expression (every run)')
  .option('--keep-going', 'run the variants even when a baseline fails (its failing scenarios never count)')
  .option(
    '--jobs <n>',
    'suite runs at once for the variants (each run starts its own browser and gateways)',
    positiveInt,
    1,
  )
  .option('--baselines-from <dir>', 'reuse the baseline runs of an earlier self-check in <dir> instead of running them')
  .addHelpText(
    'after',
    `\nVariants (relay: broken on the wire; source: broken in a copy of the gateway's code):\n${CHECKS.map((v) => `  ${v.name.padEnd(28)} ${v.kind.padEnd(7)} ${v.rule}`).join('\n')}\n\nExit codes: 0 every variant caught, 1 a variant not caught or a baseline failed, 2 usage error.`,
  );

function brokenGatewayCommand(variant: string): string {
  return [
    process.execPath,
    '--import',
    TSX,
    BROKEN_GATEWAY,
    '--break',
    variant,
    '--port',
    '{port}',
    '--config',
    '{config}',
  ]
    .map(shellQuote)
    .join(' ');
}

/** The relay in front of the reference gateway, or the reference gateway built with the logic fault. */
async function gatewayCommandFor(check: (typeof CHECKS)[number]): Promise<string> {
  if (check.kind === 'relay') return brokenGatewayCommand(check.name);
  const fault = SOURCE_FAULTS.find((f) => f.name === check.name);
  if (!fault) throw new Error(`no source fault ${check.name}`);
  const outfile = join(ROOT, '.tmp', 'self-check', `${fault.name}.cjs`);
  await buildFaultyGateway(ROOT, fault, outfile);
  return [process.execPath, outfile, '--port', '{port}', '--config', '{config}'].map(shellQuote).join(' ');
}

async function main(): Promise<number> {
  program.exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));
  program.parse(process.argv);
  const flags = program.opts<{
    variants?: string[];
    reports: string;
    tags?: string;
    keepGoing?: boolean;
    baselinesFrom?: string;
    jobs: number;
  }>();
  const reportsDir = resolve(flags.reports);
  const chosen = flags.variants ? CHECKS.filter((v) => flags.variants?.includes(v.name)) : CHECKS;
  // A logic fault whose text no longer matches the source stops the run before any suite runs.
  await checkSourceFaults(
    ROOT,
    SOURCE_FAULTS.filter((f) => chosen.some((c) => c.name === f.name)),
  );
  const catalogue = await loadCatalogue(join(ROOT, 'features/requirements.yaml'));
  const isShould = (id: string) => catalogue.byId.get(id)?.level === 'SHOULD';
  const mustRequirements = catalogue.requirements.filter((r) => r.level === 'MUST').map((r) => r.id);
  const startedAt = Date.now();
  const say = (line: string) => process.stdout.write(`${line}\n`);

  const run = async (label: string, folder: string, gatewayCommand: string | undefined) => {
    say(`self-check: running the suite on ${label} ...`);
    const result: SuiteRun = await runConformanceSuite({
      nodePath: process.execPath,
      tsxPath: TSX,
      rootDir: ROOT,
      gatewayCommand,
      reportsDir: join(reportsDir, folder),
      extraArgs: flags.tags ? ['--tags', flags.tags] : [],
      env: process.env,
    });
    const outcomes: ScenarioResult[] = await readScenarioResults(result.messagesFile).catch(() => []);
    say(`  ${label}: suite exit ${result.exitCode}, ${counts(outcomes)} (${seconds(result.wallMs)})`);
    return { result, outcomes };
  };

  /** A baseline run from an earlier self-check (--baselines-from), to iterate on one variant quickly. */
  const reuse = async (label: string, folder: string, from: string) => {
    const messagesFile = join(resolve(from), folder, 'messages.ndjson');
    const outcomes = await readScenarioResults(messagesFile);
    const exitCode = outcomes.some((o) => o.verdict === 'failed') ? 1 : 0;
    say(`  ${label}: reused ${relative(process.cwd(), messagesFile)}, ${counts(outcomes)}`);
    const result: SuiteRun = { exitCode, wallMs: 0, outputFile: '', messagesFile };
    return { result, outcomes };
  };
  const baseline = (label: string, folder: string, gatewayCommand: string | undefined) =>
    flags.baselinesFrom ? reuse(label, folder, flags.baselinesFrom) : run(label, folder, gatewayCommand);

  // 1. Baselines: the check means nothing unless a conformant gateway passes, directly and through the relay.
  const reference = await baseline('the reference proxy (embedded default)', 'baseline-reference', undefined);
  const relayed = await baseline(
    'the reference proxy behind a fault-free relay',
    'baseline-relay',
    brokenGatewayCommand(NO_FAULT.name),
  );
  const reusedNote = flags.baselinesFrom ? ` (reused from ${flags.baselinesFrom}; wall time not measured)` : '';
  const baselines: BaselineSummary[] = [
    {
      label: `reference proxy (embedded default)${reusedNote}`,
      exitCode: reference.result.exitCode,
      wallMs: reference.result.wallMs,
      outcomes: reference.outcomes,
    },
    {
      label: `reference proxy behind the relay, no fault${reusedNote}`,
      exitCode: relayed.result.exitCode,
      wallMs: relayed.result.wallMs,
      outcomes: relayed.outcomes,
    },
  ];
  const baselinePassed = passedEverywhere([reference.outcomes, relayed.outcomes]);
  const baselinesOk = baselines.every(
    (b) => b.exitCode === 0 && b.outcomes.length > 0 && b.outcomes.every((o) => o.verdict !== 'failed'),
  );
  if (!baselinesOk) {
    for (const b of baselines) {
      for (const o of b.outcomes.filter((x) => x.verdict === 'failed'))
        say(`  baseline failure (${b.label}): ${o.name}`);
    }
    for (const o of reference.outcomes) {
      const there = relayed.outcomes.find((r) => r.id === o.id);
      if (o.verdict === 'passed' && there && there.verdict !== 'passed') say(`  the relay alone breaks: ${o.name}`);
    }
    if (!flags.keepGoing) {
      say(
        'self-check: a conformant baseline does not pass, so a failing variant would prove nothing (use --keep-going to run them anyway)',
      );
      await writeSummary(reportsDir, baselines, [], baselinePassed.size, Date.now() - startedAt);
      return 1;
    }
  }

  // 2. One run per variant; only scenarios that passed on both baselines count as catching it.
  const done = new Map<string, VariantSummary>();
  const checkVariant = async (variant: (typeof CHECKS)[number]): Promise<void> => {
    const { result, outcomes } = await run(`variant ${variant.name}`, variant.name, await gatewayCommandFor(variant));
    const faultFirings = await countFaultFirings(join(reportsDir, variant.name, 'work'));
    const verdict = judgeVariant({
      baselinePassed,
      outcomes: result.exitCode === 2 ? undefined : outcomes,
      faultFirings,
      requirementIdsOf,
      isShould,
    });
    say(
      `  ${variant.name}: ${statusText(verdict.status)}; fault fired ${faultFirings} times; caught by ${verdict.requirementIds.join(' ') || 'nothing'}`,
    );
    done.set(variant.name, {
      name: variant.name,
      rule: variant.rule,
      section: variant.section,
      mechanism: variant.mechanism,
      exitCode: result.exitCode,
      wallMs: result.wallMs,
      faultFirings,
      verdict,
    });
    // Written after every variant, so a long self-check that is stopped still leaves its findings.
    await writeSummary(reportsDir, baselines, inOrder(), baselinePassed.size, Date.now() - startedAt, mustRequirements);
  };
  const inOrder = () => chosen.flatMap((v) => done.get(v.name) ?? []);
  const queue = [...chosen];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await checkVariant(next);
  };
  await Promise.all(Array.from({ length: Math.min(flags.jobs, chosen.length) }, worker));
  const variants = inOrder();

  const totalWallMs = Date.now() - startedAt;
  say('');
  say(consoleTable(variants));
  const summaryFile = await writeSummary(
    reportsDir,
    baselines,
    variants,
    baselinePassed.size,
    totalWallMs,
    mustRequirements,
  );
  const caught = variants.filter((v) => isCaught(v.verdict.status)).length;
  say('');
  say(
    `self-check: ${caught} of ${variants.length} variants caught in ${seconds(totalWallMs)} (summary: ${relative(process.cwd(), summaryFile)})`,
  );
  say(`self-check: ${caught} passed, ${variants.length - caught + (baselinesOk ? 0 : 1)} failed`);
  return caught === variants.length && baselinesOk ? 0 : 1;
}

async function writeSummary(
  reportsDir: string,
  baselines: readonly BaselineSummary[],
  variants: readonly VariantSummary[],
  discriminating: number,
  totalWallMs: number,
  mustRequirements?: readonly string[],
): Promise<string> {
  const file = join(reportsDir, 'summary.md');
  await writeFile(file, markdownSummary({ baselines, variants, discriminating, totalWallMs, mustRequirements }));
  await writeFile(
    join(reportsDir, 'summary.json'),
    `${JSON.stringify(
      {
        baselines: baselines.map((b) => ({
          label: b.label,
          exitCode: b.exitCode,
          wallMs: b.wallMs,
          scenarios: counts(b.outcomes),
        })),
        variants,
        totalWallMs,
      },
      null,
      2,
    )}\n`,
  );
  return file;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`self-check: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = error instanceof InvalidArgumentError ? 2 : 1;
  },
);
