/**
 * `sso-conformance` (npm start): runs the CLI SSO conformance suite against a gateway target and a
 * CLI target (architecture.md, "Targets"). With no flags it starts the embedded default — the
 * reference proxy, through the same command path as any other gateway — and the reference CLI.
 *
 * Exit codes: 0 conformant, 1 a scenario failed, 2 usage or set-up error.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { positiveInt } from '../common/command-line.ts';
import { processRecordDir, stopRecordedProcesses } from './drivers/child-process.ts';
import type { CliTarget } from './drivers/cli.ts';
import type { GatewayTarget, ModelEntry } from './drivers/gateway.ts';
import { ensureSystemTools, MissingSystemPackageError } from './drivers/system-packages.ts';
import { buildRun } from './runner/build-run.ts';
import { MergeInputError, mergeReports } from './runner/merge-reports.ts';
import { readDurations } from './runner/run-record.ts';
import { parseShard, type ShardSpec } from './runner/shards.ts';
import type { HarnessParameters } from './support/parameters.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Models the embedded gateways serve (written to the LiteLLM config.yaml the harness makes). */
const DEFAULT_MODELS: ModelEntry[] = [
  { modelName: 'gpt-4o-mini', model: 'openai/gpt-4o-mini' },
  { modelName: 'claude-3-haiku', model: 'anthropic/claude-3-haiku-20240307' },
];

const declaredConfigSchema = z.object({
  env: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)),
});

async function readDeclaredConfig(file: string): Promise<Record<string, string>> {
  const text = await readFile(file, 'utf8').catch((error: Error) => {
    throw new InvalidArgumentError(`--gateway-config ${file}: ${error.message}`);
  });
  const parsed = declaredConfigSchema.safeParse(parseYaml(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArgumentError(
      `--gateway-config ${file}: ${issue?.path.join('.') || '(file)'} ${issue?.message ?? 'is invalid'}; expected "env:" with NAME: value lines`,
    );
  }
  return parsed.data.env;
}

function declaredIdpAddress(env: Readonly<Record<string, string>>): { host: string; port: number } {
  const endpoint = env.GENERIC_AUTHORIZATION_ENDPOINT;
  const problems: string[] = [];
  if (!endpoint) problems.push('GENERIC_AUTHORIZATION_ENDPOINT (where the harness runs its mock IdP)');
  if (!env.LITELLM_MASTER_KEY) problems.push('LITELLM_MASTER_KEY (for GET /user/info)');
  if (problems.length > 0) throw new InvalidArgumentError(`--gateway-config must declare ${problems.join(' and ')}`);
  const url = new URL(endpoint as string);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    throw new InvalidArgumentError(
      `GENERIC_AUTHORIZATION_ENDPOINT must be on this machine (loopback), got host ${url.hostname}`,
    );
  }
  return {
    host: url.hostname === 'localhost' ? '127.0.0.1' : url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || 80),
  };
}

/**
 * Variables the harness itself sets for a CLI or a gateway, per scenario: the user may not override
 * them with --cli-env / --gateway-env (the scenario would then judge another configuration than the
 * one it states).
 */
const HARNESS_CLI_VARIABLES = /^(HOME|LITELLM_PROXY_URL|BROWSER|LD_PRELOAD|FAKETIME\w*|SSO_CONFORMANCE_\w+)$/;
const HARNESS_GATEWAY_VARIABLES =
  /^(HOME|PORT|HOST|PROXY_BASE_URL|CONFIG_FILE_PATH|LD_PRELOAD|FAKETIME\w*|SSO_CONFORMANCE_\w+|GENERIC_\w+|LITELLM_MASTER_KEY|LITELLM_SALT_KEY|EXPERIMENTAL_UI_LOGIN|(LITELLM_)?CLI_SSO_CLAIM_MAP|(LITELLM_)?CLI_JWT_EXPIRATION_HOURS|LITELLM_UI_SESSION_DURATION|ALLOWED_EMAIL_DOMAINS|REDIS_URL)$/;

/**
 * `NAME=VALUE`, or `NAME` alone to pass on the value the variable has in this shell. Repeatable:
 * each call adds to the map commander hands back.
 */
function envAssignment(flag: string, reserved: RegExp) {
  return (text: string, previous: Record<string, string> = {}): Record<string, string> => {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/s.exec(text);
    if (!match) throw new InvalidArgumentError(`${flag} takes NAME=VALUE or NAME, got "${text}"`);
    const [, name, value] = match as unknown as [string, string, string | undefined];
    if (reserved.test(name)) {
      throw new InvalidArgumentError(
        `${flag} ${name}: the harness sets ${name} itself for every scenario (the scenarios state its value)`,
      );
    }
    const resolved = value ?? process.env[name];
    if (resolved === undefined) {
      throw new InvalidArgumentError(`${flag} ${name}: ${name} is not set in this shell; write ${name}=VALUE`);
    }
    return { ...previous, [name]: resolved };
  };
}

function shardFlag(value: string): ShardSpec {
  try {
    return parseShard(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

function positiveMs(value: string): number {
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new InvalidArgumentError('must be a positive number of seconds');
  return Math.round(seconds * 1000);
}

/**
 * One worker more than the machine has cores: a worker spends part of each scenario waiting (for a
 * gateway to start, a page to load, the next poll), and a third worker on 2 cores fills those
 * gaps. Measured on 2 cores, seven and eight runs in alternation: the cores were busy 90-93 % of the
 * run with 2 workers and 95-96 % with 3, for about the same CPU time (docs/speed.md).
 */
const DEFAULT_WORKERS = availableParallelism() + 1;

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
  .option('--gateway-start-timeout <seconds>', 'how long a started gateway may take to answer', positiveMs, 60_000)
  .option('--cli-cmd <command>', 'the CLI under test (default: the reference CLI)')
  .option(
    '--cli-writes-token-file',
    "the CLI under test writes LiteLLM's ~/.litellm/token.json with the key in it: judge that file's fields",
  )
  .option(
    '--cli-env <NAME=VALUE>',
    "set a variable for every CLI run (repeatable; NAME alone passes on this shell's value)",
    envAssignment('--cli-env', HARNESS_CLI_VARIABLES),
  )
  .option(
    '--gateway-env <NAME=VALUE>',
    "set a variable for every gateway the harness starts (repeatable; NAME alone passes on this shell's value)",
    envAssignment('--gateway-env', HARNESS_GATEWAY_VARIABLES),
  )
  .option('--step-timeout <seconds>', 'how long one step may take before it fails', positiveMs, 60_000)
  .option('--tags <expression>', 'only scenarios matching this Cucumber tag expression')
  .option('--name <regexp>', 'only scenarios whose name matches')
  .option('--reports <dir>', 'where reports and evidence go', 'reports')
  .option('--expected-failures <file>', 'scenarios expected to fail, one name per line')
  .option(
    '--parallel <workers>',
    'scenarios run in this many worker processes, each with its own IdP and gateways (one browser for all)',
    positiveInt,
    DEFAULT_WORKERS,
  )
  .option(
    '--max-gateways <count>',
    'gateways one worker keeps running at once (more: fewer restarts, more memory)',
    positiveInt,
    8,
  )
  .option(
    '--isolate-scenarios',
    'no gateway serves two scenarios, and each gateway and CLI run is told its scenario (SSO_CONFORMANCE_SCENARIO=<feature>:<line>); slower, for attributing what a process did (npm run mutate)',
  )
  .option(
    '--shard <i/n>',
    'run only shard i of n: n machines together run every scenario once (join them with merge-reports)',
    shardFlag,
  )
  .option(
    '--shard-durations <file>',
    "balance the shards by an earlier run's durations: its scenarios.json, or the reports folder holding it",
  )
  .option('--verbose', 'print what the harness starts')
  .argument('[features...]', 'feature files or folders (default: every feature)')
  .addHelpText(
    'after',
    '\nExit codes: 0 every scenario passed (or failed as expected), 1 a scenario failed, 2 usage or set-up error.\n' +
      'Sharded runs: sso-conformance --shard 1/3 --reports r1 (and 2/3, 3/3), then\n' +
      '  sso-conformance merge-reports --out reports r1 r2 r3   (see docs/sharding.md)',
  )
  .showHelpAfterError()
  // Options after `merge-reports` are its own (--expected-failures is both the run's and its own).
  .enablePositionalOptions()
  // Commander ends a mistyped command line with 1; here 1 means a MUST failed, so a usage error is
  // 2 (help stays 0). Set before .command(): subcommands inherit it.
  .exitOverride((error) => {
    process.exit(error.exitCode === 1 ? 2 : error.exitCode);
  })
  .action(async () => {
    process.exitCode = await runConformance();
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
    '\nExit codes: 0 every scenario passed (or failed as expected), 1 a scenario failed, 2 usage error or shards missing.',
  )
  .showHelpAfterError()
  .action(async (inputs: string[], flags: { out: string; expectedFailures?: string }) => {
    const expectedFailures = flags.expectedFailures ? await readExpectedFailures(flags.expectedFailures) : undefined;
    const outcome = await mergeReports({
      inputs,
      out: flags.out,
      catalogueFile: join(ROOT, 'features', 'requirements.yaml'),
      featuresDir: join(ROOT, 'features'),
      expectedFailures,
      print: (line) => process.stdout.write(`${line}\n`),
    });
    process.stderr.write(`reports: ${relative(process.cwd(), resolve(flags.out)) || '.'}/\n`);
    process.exitCode = !outcome.complete ? 2 : outcome.ok ? 0 : 1;
  });

/** One scenario name a line; blank lines and # comments are left out. */
async function readExpectedFailures(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new InvalidArgumentError(`--expected-failures ${file}: ${error.code ?? error.message}`);
  });
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

async function runConformance(): Promise<number> {
  const flags = program.opts<{
    gatewayCmd?: string;
    gatewayUrl?: string;
    gatewayConfig?: string;
    gatewayStartTimeout: number;
    cliCmd?: string;
    cliWritesTokenFile?: boolean;
    cliEnv?: Record<string, string>;
    gatewayEnv?: Record<string, string>;
    tags?: string;
    name?: string;
    reports: string;
    expectedFailures?: string;
    parallel: number;
    maxGateways: number;
    verbose?: boolean;
    isolateScenarios?: boolean;
    stepTimeout: number;
    shard?: ShardSpec;
    shardDurations?: string;
  }>();
  if (flags.gatewayCmd && flags.gatewayUrl) {
    program.error('--gateway-cmd and --gateway-url cannot be used together', { exitCode: 2 });
  }
  if (flags.gatewayUrl && !flags.gatewayConfig) {
    program.error('--gateway-url needs --gateway-config FILE declaring the environment that gateway runs with', {
      exitCode: 2,
    });
  }
  // The files the user named are read before anything is built or started: a mistake in them
  // costs nothing.
  const declaredEnv = flags.gatewayUrl ? await readDeclaredConfig(flags.gatewayConfig as string) : undefined;
  const expectedFailures = flags.expectedFailures ? await readExpectedFailures(flags.expectedFailures) : undefined;
  if (flags.shardDurations && !flags.shard) {
    program.error('--shard-durations balances shards: give --shard i/n too', { exitCode: 2 });
  }
  const durations = flags.shardDurations
    ? await readDurations(flags.shardDurations).catch((error: Error) => {
        throw new InvalidArgumentError(`--shard-durations ${error.message}`);
      })
    : new Map<string, number>();

  const tools = await ensureSystemTools({
    chromiumPath: process.env.CHROMIUM_PATH,
    isRoot: process.getuid?.() === 0,
    log: (line) => process.stderr.write(`sso-conformance: ${line}\n`),
  });

  // Cucumber and Playwright take about a second to load: they load while esbuild, in a process of
  // its own, bundles the run. (A failure to load is reported where it is awaited.)
  const suiteModule = import('./runner/run-suite.ts');
  suiteModule.catch(() => undefined);
  const embedded = !flags.gatewayCmd && !flags.gatewayUrl;
  const built = await buildRun(ROOT, {
    embeddedTargets: embedded || !flags.cliCmd,
    stepTimeoutMs: flags.stepTimeout,
    shardPlugin: flags.shard !== undefined,
  });
  try {
    const gateway: GatewayTarget = flags.gatewayUrl
      ? {
          kind: 'url',
          url: flags.gatewayUrl,
          declaredEnv: declaredEnv ?? {},
          label: flags.gatewayUrl,
        }
      : flags.gatewayCmd
        ? { kind: 'command', command: flags.gatewayCmd, label: flags.gatewayCmd }
        : {
            kind: 'command',
            command: `${built.referenceProxyCommand ?? ''} --port {port} --config {config}`,
            label: 'reference-proxy (embedded default)',
          };
    // The reference CLI writes LiteLLM's token file (protocol section 8); another CLI says so itself.
    const cli: CliTarget = flags.cliCmd
      ? { command: flags.cliCmd, label: flags.cliCmd, writesTokenFile: flags.cliWritesTokenFile === true }
      : { command: built.cliCommand ?? '', label: 'cli-sso (reference CLI)', writesTokenFile: true };

    // A running gateway was configured by someone else: the harness's IdP must listen where that
    // gateway's GENERIC_AUTHORIZATION_ENDPOINT points, and the master key is the declared one.
    const idpAddress =
      gateway.kind === 'url' ? declaredIdpAddress(gateway.declaredEnv) : { host: '127.0.0.1', port: 0 };
    const masterKey =
      gateway.kind === 'url'
        ? (gateway.declaredEnv.LITELLM_MASTER_KEY ?? '')
        : `sk-conformance-${randomBytes(16).toString('hex')}`;

    const reportsDir = resolve(flags.reports);
    const workDir = join(reportsDir, 'work');
    await rm(workDir, { recursive: true, force: true });
    await mkdir(workDir, { recursive: true });
    stopOnInterrupt(processRecordDir(workDir));
    const parameters: Omit<HarnessParameters, 'browserEndpoint'> = {
      gateway,
      cli,
      chromiumPath: tools.chromiumPath,
      faketimeLibrary: tools.faketimeLibrary,
      redisServer: tools.redisServer,
      postgres: tools.postgres,
      baseEnv: {
        PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        LANG: process.env.LANG ?? 'C.UTF-8',
        ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
      },
      cliEnv: flags.cliEnv ?? {},
      gatewayEnv: flags.gatewayEnv ?? {},
      workDir,
      evidenceDir: join(reportsDir, 'evidence'),
      idpHost: idpAddress.host,
      idpPort: idpAddress.port,
      masterKey,
      models: DEFAULT_MODELS,
      gatewayStartTimeoutMs: flags.gatewayStartTimeout,
      maxGateways: flags.maxGateways,
      verbose: flags.verbose === true,
      isolateScenarios: flags.isolateScenarios === true,
    };
    const { runSuite } = await suiteModule;
    const outcome = await runSuite({
      rootDir: ROOT,
      supportCode: built.supportCode,
      paths: program.args.length > 0 ? program.args : [join(ROOT, 'features')],
      tags: flags.tags,
      name: flags.name,
      reportsDir,
      parameters,
      expectedFailures,
      parallel: flags.parallel,
      ...(flags.shard && built.shardPlugin
        ? { shard: { ...flags.shard, pluginFile: built.shardPlugin, durations } }
        : {}),
      print: (line) => process.stdout.write(`${line}\n`),
    });
    const leftovers = stopRecordedProcesses(processRecordDir(workDir));
    if (leftovers > 0) process.stderr.write(`sso-conformance: stopped ${leftovers} process(es) the run left running\n`);
    process.stderr.write(`reports: ${relative(process.cwd(), reportsDir) || '.'}/\n`);
    return outcome.ok ? 0 : 1;
  } finally {
    await built.dispose();
  }
}

/**
 * Gateways, CLIs and Redis servers run in process groups of their own, which the terminal's Ctrl-C
 * does not reach: when the run is interrupted, stop every one still recorded, then exit as the
 * signal would have.
 */
function stopOnInterrupt(recordDir: string): void {
  const exitCodes: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };
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
    error instanceof MissingSystemPackageError ||
    error instanceof InvalidArgumentError ||
    error instanceof MergeInputError
      ? 2
      : 1;
});
