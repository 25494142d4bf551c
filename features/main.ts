/**
 * `sso-conformance` (npm start): runs the CLI SSO conformance suite against a gateway target and a
 * CLI target (README, "Targets"). With no flags it starts the embedded default — the reference
 * proxy, through the same command path as any other gateway — and the reference CLI.
 *
 * This file is the command line only: runner/run-options.ts checks it whole, runner/conformance.ts
 * runs the suite, runner/merge-reports.ts joins a sharded run. Exit codes: runner/exit-codes.ts.
 */
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, Option } from 'commander';
import { stopRecordedProcesses } from './drivers/child-process.ts';
import { MissingSystemPackageError } from './drivers/system-packages.ts';
import { runConformance } from './runner/conformance.ts';
import { EXIT_CODES, exitCodeHelp } from './runner/exit-codes.ts';
import { MergeInputError, mergeReports } from './runner/merge-reports.ts';
import { loadCatalogue, profileNames } from './runner/requirements.ts';
import {
  DEFAULT_GATEWAY_START_TIMEOUT_SECONDS,
  DEFAULT_MAX_GATEWAYS,
  DEFAULT_REPORTS_DIR,
  DEFAULT_STEP_TIMEOUT_SECONDS,
  DEFAULT_WORKERS,
  type RawRunFlags,
  readRunOptions,
  UsageError,
} from './runner/run-options.ts';
import { readExpectedFailures } from './runner/targets.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The contract profiles the catalogue names, oldest first (for --help and the check of --profile). */
const PROFILES = profileNames(await loadCatalogue(join(ROOT, 'features', 'requirements.yaml')));

/** Repeatable flags keep every value as typed; run-options.ts checks them with the rest. */
const collect = (value: string, previous: string[] = []) => [...previous, value];

const program = new Command('sso-conformance')
  .description(
    'Check that a gateway and a CLI implement the LiteLLM-style CLI SSO login, end to end in a real browser.',
  )
  .option(
    '--gateway-cmd <command>',
    'start this gateway per configuration ({port}, {config}, {base_url} are filled in)',
  )
  .option('--gateway-url <url>', 'test a gateway that is already running (see --gateway-config)')
  .option('--gateway-config <file>', 'YAML "env:" map the --gateway-url gateway runs with')
  .option(
    '--gateway-start-timeout <seconds>',
    `how long a started gateway may take to answer (default ${DEFAULT_GATEWAY_START_TIMEOUT_SECONDS})`,
  )
  .option('--cli-cmd <command>', 'the CLI under test (default: the reference CLI)')
  .option(
    '--cli-writes-token-file',
    "the CLI under test writes LiteLLM's ~/.litellm/token.json with the key in it: judge that file's fields",
  )
  .option(
    '--cli-env <NAME=VALUE>',
    "set a variable for every CLI run (repeatable; NAME alone passes on this shell's value)",
    collect,
  )
  .option(
    '--gateway-env <NAME=VALUE>',
    "set a variable for every gateway the harness starts (repeatable; NAME alone passes on this shell's value)",
    collect,
  )
  .option(
    '--step-timeout <seconds>',
    `how long one step may take before it fails (default ${DEFAULT_STEP_TIMEOUT_SECONDS})`,
  )
  .option(
    '--profile <name>',
    `the contract profile to judge: ${PROFILES.join(', ')} (oldest first; default ${PROFILES.at(-1)}); scenarios of no requirement of it are skipped`,
  )
  .option('--tags <expression>', 'only scenarios matching this Cucumber tag expression')
  .option('--name <regexp>', 'only scenarios whose name matches')
  .option('--reports <dir>', `where reports and evidence go (default ${DEFAULT_REPORTS_DIR})`)
  .option('--expected-failures <file>', 'scenarios expected to fail, one name per line')
  .option(
    '--parallel <workers>',
    `scenarios run in this many worker processes, each with its own IdP and gateways, one browser for all (default ${DEFAULT_WORKERS})`,
  )
  .option(
    '--max-gateways <count>',
    `gateways one worker keeps running at once; more: fewer restarts, more memory (default ${DEFAULT_MAX_GATEWAYS})`,
  )
  .option(
    '--isolate-scenarios',
    'no gateway serves two scenarios, and each gateway and CLI run is told its scenario (SSO_CONFORMANCE_SCENARIO=<feature>:<line>); slower, for attributing what a process did (npm run mutate)',
  )
  .option(
    '--shard <i/n>',
    'run only shard i of n: n machines together run every scenario once (join them with merge-reports)',
  )
  .option(
    '--shard-durations <file>',
    "balance the shards by an earlier run's durations: its scenarios.json, or the reports folder holding it",
  )
  .addOption(new Option('--verbose', 'print what the harness starts'))
  .option(
    '--timings',
    'print where the time went: start-up, bundling, browser, gateway starts, CLI runs, IdP resets, scenarios by feature, reports, CPU by process',
  )
  .argument('[features...]', 'feature files or folders, FILE:LINE for one scenario (default: every feature)')
  .addHelpText(
    'after',
    `\n${exitCodeHelp()}\nSharded runs: sso-conformance --shard 1/3 --reports r1 (and 2/3, 3/3), then\n` +
      '  sso-conformance merge-reports --out reports r1 r2 r3   (see docs/sharding.md)',
  )
  .showHelpAfterError()
  // Options after `merge-reports` are its own (--expected-failures is both the run's and its own).
  .enablePositionalOptions()
  // Commander ends a mistyped command line with 1; here 1 means a MUST failed, so a usage error is
  // 2 (help stays 0). Set before .command(): subcommands inherit it.
  .exitOverride((error) => {
    process.exit(error.exitCode === 1 ? EXIT_CODES.usage : error.exitCode);
  })
  .action(async () => {
    const options = await readRunOptions(program.opts<RawRunFlags>(), process.env, PROFILES);
    const { exitCode, reportsDir } = await runConformance({
      rootDir: ROOT,
      options,
      paths: program.args,
      shell: process.env,
      print: (line) => process.stdout.write(`${line}\n`),
      warn: (line) => process.stderr.write(`sso-conformance: ${line}\n`),
      onProcessRecord: stopOnInterrupt,
    });
    process.stderr.write(`reports: ${relative(process.cwd(), reportsDir) || '.'}/\n`);
    process.exitCode = exitCode;
  });

program
  .command('merge-reports')
  .description(
    "join the reports of a sharded run's shards into one requirement matrix, HTML report, JUnit file and verdict",
  )
  .requiredOption('--out <dir>', 'where the merged reports go')
  .option('--expected-failures <file>', 'judge by this list of expected failures instead of the one the shards had')
  .argument('<shard-reports...>', "each shard's reports folder (its --reports)")
  .addHelpText(
    'after',
    '\nExit codes: 0 every scenario passed (or failed as expected), 1 a MUST failed, 2 usage error or shards missing.',
  )
  .showHelpAfterError()
  .action(async (inputs: string[], flags: { out: string; expectedFailures?: string }) => {
    let expectedFailures: string[] | undefined;
    if (flags.expectedFailures) {
      const read = await readExpectedFailures('--expected-failures', flags.expectedFailures);
      if (read.problems.length > 0) throw new UsageError(read.problems);
      expectedFailures = read.names;
    }
    const outcome = await mergeReports({
      inputs,
      out: flags.out,
      catalogueFile: join(ROOT, 'features', 'requirements.yaml'),
      featuresDir: join(ROOT, 'features'),
      expectedFailures,
      print: (line) => process.stdout.write(`${line}\n`),
    });
    process.stderr.write(`reports: ${relative(process.cwd(), resolve(flags.out)) || '.'}/\n`);
    process.exitCode = !outcome.complete ? EXIT_CODES.usage : outcome.ok ? EXIT_CODES.conformant : EXIT_CODES.failed;
  });

/**
 * Gateways, CLIs and Redis servers run in process groups of their own, which the terminal's Ctrl-C
 * does not reach: when the run is interrupted, stop every one still recorded, then exit as the
 * signal would have.
 */
function stopOnInterrupt(recordDir: string): void {
  const exitCodes: Partial<Record<NodeJS.Signals, number>> = {
    SIGINT: EXIT_CODES.interrupted,
    SIGTERM: EXIT_CODES.terminated,
    SIGHUP: 129,
  };
  for (const [signal, code] of Object.entries(exitCodes)) {
    process.once(signal, () => {
      const stopped = stopRecordedProcesses(recordDir);
      process.stderr.write(`sso-conformance: interrupted (${signal}); stopped ${stopped} started process(es)\n`);
      process.exit(code);
    });
  }
}

program.parseAsync(process.argv).catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`sso-conformance: ${message}\n`);
  process.exitCode =
    error instanceof MissingSystemPackageError || error instanceof UsageError || error instanceof MergeInputError
      ? EXIT_CODES.usage
      : EXIT_CODES.failed;
});
