/**
 * One conformance run from checked options (run-options.ts): the system tools, the bundle of the
 * harness (and of the embedded default), the targets, the harness parameters, the suite, and the
 * processes it left behind. Resolves to the run's exit code.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { processRecordDir, stopRecordedProcesses } from '../drivers/child-process.ts';
import type { CliTarget } from '../drivers/cli.ts';
import type { GatewayTarget, ModelEntry } from '../drivers/gateway.ts';
import { ensureSystemTools } from '../drivers/system-packages.ts';
import { timings } from '../drivers/timings.ts';
import type { HarnessParameters } from '../support/parameters.ts';
import { buildRun } from './build-run.ts';
import { EXIT_CODES } from './exit-codes.ts';
import { featuresLongestFirst } from './feature-order.ts';
import { loadCatalogue, profileRequirementIds } from './requirements.ts';
import type { RunOptions } from './run-options.ts';
import { readDurations } from './run-record.ts';

/** Models the embedded gateways serve (written to the LiteLLM config.yaml the harness makes). */
const DEFAULT_MODELS: ModelEntry[] = [
  { modelName: 'gpt-4o-mini', model: 'openai/gpt-4o-mini' },
  { modelName: 'claude-3-haiku', model: 'anthropic/claude-3-haiku-20240307' },
];

export interface ConformanceRun {
  /** The project's root: features/, the requirement catalogue, the sources to bundle. */
  rootDir: string;
  options: RunOptions;
  /** Feature files or folders (`file:line` for one scenario); empty = every feature. */
  paths: readonly string[];
  /** The environment the harness was started in (CHROMIUM_PATH, PATH, LANG, TMPDIR). */
  shell: Readonly<Record<string, string | undefined>>;
  print: (line: string) => void;
  warn: (line: string) => void;
  /**
   * Where the processes the run starts are recorded, as soon as it exists: the caller stops them
   * when the run is interrupted (drivers/child-process.ts, stopRecordedProcesses).
   */
  onProcessRecord: (recordDir: string) => void;
}

/**
 * Every feature, longest first by the previous run's scenarios.json in the same reports folder
 * (feature-order.ts); a sharded run plans its own share and keeps the folder as it is.
 */
async function everyFeature(rootDir: string, reportsDir: string, options: RunOptions): Promise<string[]> {
  const featuresDir = join(rootDir, 'features');
  if (options.shard) return [featuresDir];
  const previous = await readDurations(reportsDir).catch(() => new Map<string, number>());
  return featuresLongestFirst(rootDir, featuresDir, previous);
}

export async function runConformance(run: ConformanceRun): Promise<{ exitCode: number; reportsDir: string }> {
  const { options, rootDir, shell } = run;
  timings.add('start-up (node, tsx, the command line checked)', performance.now());
  const tools = await timings.time('system tools found (Chromium, libfaketime, Redis, PostgreSQL)', () =>
    ensureSystemTools({
      chromiumPath: shell['CHROMIUM_PATH'],
      isRoot: process.getuid?.() === 0,
      log: run.warn,
    }),
  );

  // Cucumber and Playwright take about a second to load: they load while esbuild, in a process of
  // its own, bundles the run. (A failure to load is reported where it is awaited.)
  const suiteModule = import('./run-suite.ts');
  suiteModule.catch(() => undefined);
  const built = await timings.time('bundling (esbuild: the harness, the embedded gateway and CLI)', () =>
    buildRun(rootDir, {
      embeddedTargets: options.gateway.kind === 'embedded' || options.cliCommand === undefined,
      stepTimeoutMs: options.stepTimeoutMs,
      shardPlugin: options.shard !== undefined,
    }),
  );
  try {
    const named = options.gateway;
    const gateway: GatewayTarget =
      named.kind === 'url'
        ? { kind: 'url', url: named.url, declaredEnv: named.declaredEnv, label: named.url }
        : named.kind === 'command'
          ? { kind: 'command', command: named.command, label: named.command }
          : {
              kind: 'command',
              command: `${built.referenceProxyCommand ?? ''} --port {port} --config {config}`,
              label: 'reference-proxy (embedded default)',
            };
    // The reference CLI writes LiteLLM's token file (docs/contract.md section 8); another CLI says so itself.
    const cli: CliTarget = options.cliCommand
      ? { command: options.cliCommand, label: options.cliCommand, writesTokenFile: options.cliWritesTokenFile }
      : { command: built.cliCommand ?? '', label: 'cli-sso (reference CLI)', writesTokenFile: true };

    // A running gateway was configured by someone else: the harness's IdP must listen where that
    // gateway's GENERIC_AUTHORIZATION_ENDPOINT points, and the master key is the declared one.
    const idpAddress = named.kind === 'url' ? named.idp : { host: '127.0.0.1', port: 0 };
    const masterKey =
      named.kind === 'url'
        ? (named.declaredEnv['LITELLM_MASTER_KEY'] ?? '')
        : `sk-conformance-${randomBytes(16).toString('hex')}`;

    const reportsDir = resolve(options.reports);
    const workDir = join(reportsDir, 'work');
    await rm(workDir, { recursive: true, force: true });
    await mkdir(workDir, { recursive: true });
    run.onProcessRecord(processRecordDir(workDir));
    const catalogue = await loadCatalogue(join(rootDir, 'features', 'requirements.yaml'));
    const parameters: Omit<HarnessParameters, 'browserEndpoint'> = {
      gateway,
      profile: options.profile,
      profileRequirements: profileRequirementIds(catalogue, options.profile),
      cli,
      chromiumPath: tools.chromiumPath,
      faketimeLibrary: tools.faketimeLibrary,
      redisServer: tools.redisServer,
      postgres: tools.postgres,
      baseEnv: {
        PATH: `${dirname(process.execPath)}:${shell['PATH'] ?? '/usr/bin:/bin'}`,
        LANG: shell['LANG'] ?? 'C.UTF-8',
        ...(shell['TMPDIR'] ? { TMPDIR: shell['TMPDIR'] } : {}),
      },
      cliEnv: options.cliEnv,
      gatewayEnv: options.gatewayEnv,
      workDir,
      evidenceDir: join(reportsDir, 'evidence'),
      idpHost: idpAddress.host,
      idpPort: idpAddress.port,
      masterKey,
      models: DEFAULT_MODELS,
      gatewayStartTimeoutMs: options.gatewayStartTimeoutMs,
      maxGateways: options.maxGateways,
      verbose: options.verbose,
      isolateScenarios: options.isolateScenarios,
    };
    const { runSuite } = await timings.time('Cucumber and Playwright loaded (beyond the bundling)', () => suiteModule);
    const outcome = await runSuite({
      rootDir,
      supportCode: built.supportCode,
      paths: run.paths.length > 0 ? [...run.paths] : await everyFeature(rootDir, reportsDir, options),
      tags: options.tags,
      name: options.name,
      reportsDir,
      parameters,
      expectedFailures: options.expectedFailures,
      parallel: options.parallel,
      timings: options.timings,
      ...(options.shard && built.shardPlugin
        ? { shard: { ...options.shard, pluginFile: built.shardPlugin, durations: options.durations } }
        : {}),
      print: run.print,
    });
    const leftovers = stopRecordedProcesses(processRecordDir(workDir));
    if (leftovers > 0) run.warn(`stopped ${leftovers} process(es) the run left running`);
    return { exitCode: outcome.ok ? EXIT_CODES.conformant : EXIT_CODES.failed, reportsDir };
  } finally {
    await built.dispose();
  }
}
