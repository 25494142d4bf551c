/**
 * Runs the Cucumber features in-process with the harness parameters, prints one line per scenario as
 * it finishes and a summary with the wall time, and writes the reports (HTML, JUnit XML, Cucumber
 * JSON, the messages stream) under the reports folder.
 */
import { mkdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { loadConfiguration, runCucumber } from '@cucumber/cucumber/api';
import type { Envelope } from '@cucumber/messages';
import { launchBrowserServer } from '../drivers/browser.ts';
import { ownCpuMs, processTreeCpuMs, readWorkerTimings, timings, workerTimingsDir } from '../drivers/timings.ts';
import type { HarnessParameters } from '../support/parameters.ts';
import { buildMatrix, type Catalogue, checkCoverage, failsTheRun, loadCatalogue, writeMatrix } from './requirements.ts';
import { readShardRecord, SHARD_RECORD_FILE, type ShardRecord, writeRunRecord } from './run-record.ts';
import { firstLine, type ScenarioResult, ScenarioResultReducer } from './scenario-results.ts';
import { SHARD_PLUGIN_OPTIONS_KEY, type ShardPluginOptions } from './shard-plugin.ts';
import type { ShardSpec } from './shards.ts';
import { timingLines } from './timings-report.ts';
import { coverageLines, judgeRun } from './verdict.ts';

export interface SuiteOptions {
  rootDir: string;
  /** The harness's support code, bundled for this run (features/runner/build-run.ts), required in order. */
  supportCode: string[];
  paths: string[];
  tags: string | undefined;
  name: string | undefined;
  reportsDir: string;
  /** Everything but the browser endpoint, which the run fills in when its browser is up. */
  parameters: Omit<HarnessParameters, 'browserEndpoint'>;
  /** Scenario names expected to fail; the run fails on any other failure and on any of these passing. */
  expectedFailures: string[] | undefined;
  /** Worker processes; each has its own mock IdP and gateway pool, and they share the run's browser. */
  parallel: number;
  /** Print where the run's time went when it ends (--timings). */
  timings?: boolean;
  /** Run only this shard's share of the scenarios (shards.ts), through the bundled shard plugin. */
  shard?: ShardSpec & {
    /** The bundled shard-plugin.ts (build-run.ts). */
    pluginFile: string;
    /** Seconds by scenario id from an earlier run, to balance the shards by. */
    durations: ReadonlyMap<string, number>;
  };
  print: (line: string) => void;
  /** Where Cucumber writes its own summary; default this process's standard output. */
  cucumberOutput?: Writable;
}

export type { ScenarioResult, ScenarioVerdict } from './scenario-results.ts';

export interface SuiteOutcome {
  ok: boolean;
  scenarios: ScenarioResult[];
  wallMs: number;
}

export async function runSuite(options: SuiteOptions): Promise<SuiteOutcome> {
  // The wall time printed is the whole run's, from the moment the process started (bundling and
  // finding the browser included), not only Cucumber's part.
  const startedAt = performance.timeOrigin;
  await mkdir(options.reportsDir, { recursive: true });
  const browser = await timings.time('browser launched (Chromium, Playwright browser server)', () =>
    launchBrowserServer(options.parameters.chromiumPath),
  );
  let outcome: SuiteOutcome;
  let chromiumCpuMs: number | undefined;
  try {
    outcome = await runFeatures(options, { ...options.parameters, browserEndpoint: browser.wsEndpoint() }, startedAt);
  } finally {
    const chromium = browser.process().pid;
    chromiumCpuMs = chromium === undefined ? undefined : processTreeCpuMs(chromium);
    await timings.time('browser closed', () => browser.close());
  }
  if (options.timings) {
    const workers = await readWorkerTimings(workerTimingsDir(options.parameters.workDir));
    const lines = timingLines({
      wallMs: Date.now() - startedAt,
      cores: availableParallelism(),
      coordinator: timings.totals(),
      coordinatorCpuMs: ownCpuMs(),
      // Everything the run ran: this process, its ended workers and their processes, the browser, esbuild.
      totalCpuMs: processTreeCpuMs(process.pid),
      chromiumCpuMs,
      workers: workers.filter((w) => w.pid !== process.pid),
      // A run with one worker runs its scenarios in this process (Cucumber's serial mode).
      inProcess: workers.find((w) => w.pid === process.pid),
      scenarios: outcome.scenarios,
    });
    for (const line of lines) options.print(line);
  }
  return outcome;
}

/**
 * Runs the features, writes the reports and judges the run; the browser is already up (runSuite).
 * Exported for the tests of the reports, which run small suites of their own without a browser.
 */
export async function runFeatures(
  options: SuiteOptions,
  parameters: HarnessParameters,
  startedAt: number,
): Promise<SuiteOutcome> {
  const shard = options.shard;
  const shardRecordFile = join(options.reportsDir, SHARD_RECORD_FILE);
  await rm(shardRecordFile, { force: true });
  const shardPlugin: ShardPluginOptions | undefined = shard && {
    index: shard.index,
    count: shard.count,
    durations: Object.fromEntries(shard.durations),
    recordFile: shardRecordFile,
  };
  const configuring = performance.now();
  const { runConfiguration } = await loadConfiguration({
    file: false,
    provided: {
      paths: options.paths,
      require: options.supportCode,
      format: [
        'summary',
        `html:${join(options.reportsDir, 'report.html')}`,
        `junit:${join(options.reportsDir, 'junit.xml')}`,
        `json:${join(options.reportsDir, 'cucumber.json')}`,
        `message:${join(options.reportsDir, 'messages.ndjson')}`,
      ],
      formatOptions: { junit: { suiteName: `cli-sso-conformance (${options.parameters.profile})` } },
      // World parameters travel as JSON (Cucumber may hand them to worker processes).
      worldParameters: JSON.parse(JSON.stringify(parameters)),
      strict: true,
      parallel: options.parallel > 1 ? options.parallel : 0,
      ...(options.tags ? { tags: options.tags } : {}),
      ...(options.name ? { name: [options.name] } : {}),
      ...(shard && shardPlugin
        ? {
            plugin: [pathToFileURL(shard.pluginFile).href],
            pluginOptions: { [SHARD_PLUGIN_OPTIONS_KEY]: { ...shardPlugin } },
          }
        : {}),
    },
  });
  const catalogue = await loadCatalogue(join(options.rootDir, 'features', 'requirements.yaml'));
  const profile = options.parameters.profile;
  const coverage = await checkCoverage(catalogue, join(options.rootDir, 'features'), profile);
  for (const line of coverageLines(coverage)) options.print(line);
  timings.add('Cucumber configured, requirement catalogue read', performance.now() - configuring);
  const collector = new ResultCollector(options.print, catalogue);
  options.print(`gateway: ${options.parameters.gateway.label}`);
  options.print(`cli:     ${options.parameters.cli.label}`);
  options.print(`profile: ${profile}, ${catalogue.profiles[profile] ?? 'not in the catalogue'}`);
  const cucumberBegan = performance.now();
  const { success } = await withoutTypeScriptLoader(() =>
    runCucumber(runConfiguration, options.cucumberOutput ? { stdout: options.cucumberOutput } : undefined, (envelope) =>
      collector.onMessage(envelope),
    ),
  );
  const cucumberEnded = performance.now();
  const { firstBegan = cucumberEnded, lastEnded = cucumberEnded } = collector;
  timings.add('Cucumber: support code loaded, workers started, until the first scenario', firstBegan - cucumberBegan);
  timings.add('scenarios (the first began to the last ended)', lastEnded - firstBegan);
  timings.add('Cucumber: workers ended, its reports written (HTML, JUnit, JSON, messages)', cucumberEnded - lastEnded);
  const recording = performance.now();
  const wallMs = Math.round(Date.now() - startedAt);
  const scenarios = collector.results();
  const target = { gateway: options.parameters.gateway.label, cli: options.parameters.cli.label, profile };
  // The plugin writes the shard's record while Cucumber filters; without it the run stopped
  // before planning (a parse error, say), and the shard ran nothing.
  const shardRecord: ShardRecord | undefined = shard
    ? await readShardRecord(shardRecordFile).catch(() => undefined)
    : undefined;
  if (shard) {
    options.print(
      shardRecord
        ? `shard ${shard.index}/${shard.count}: ${shardRecord.scenarios.length} of ${shardRecord.planned} scenarios (plan ${shardRecord.fingerprint}, expected cost per shard ${shardRecord.costs.join(' / ')})`
        : `shard ${shard.index}/${shard.count}: no plan was made (Cucumber stopped before it)`,
    );
  }
  await writeMatrix(
    options.reportsDir,
    catalogue,
    buildMatrix(catalogue, scenarios, profile),
    target,
    shardRecord
      ? `shard ${shardRecord.index}/${shardRecord.count}: ${shardRecord.scenarios.length} of ${shardRecord.planned} scenarios; requirements whose scenarios ran on another shard are "not run" here (merge-reports joins the shards)`
      : undefined,
  );
  await writeRunRecord(options.reportsDir, {
    target,
    shard: shardRecord ?? null,
    expectedFailures: options.expectedFailures ?? null,
    cucumberSucceeded: success,
    wallMs,
    scenarios,
  });
  timings.add('requirement matrix and run record written', performance.now() - recording);
  const verdict = judgeRun({
    scenarios,
    catalogue,
    coverage,
    expectedFailures: options.expectedFailures,
    runBroken: !success && !scenarios.some((s) => s.verdict === 'failed'),
    // A shard may get no scenario when the plan has fewer groups than shards.
    noScenarioIsFine: shardRecord !== undefined && shardRecord.planned > 0,
    wallMs,
  });
  for (const line of verdict.lines) options.print(line);
  return { ok: verdict.ok, scenarios, wallMs };
}

/**
 * Prints a line per scenario as it finishes: `ok`, `FAIL` for a failure that fails the run, `warn`
 * for a failed SHOULD (which only warns), `skip`.
 */
class ResultCollector {
  private readonly reducer = new ScenarioResultReducer();
  /** When the first scenario began and the last one ended (performance.now()), for the timings. */
  firstBegan: number | undefined;
  lastEnded: number | undefined;

  constructor(
    private readonly print: (line: string) => void,
    private readonly catalogue: Catalogue,
  ) {}

  onMessage(envelope: Envelope): void {
    if (envelope.testCaseStarted) this.firstBegan ??= performance.now();
    if (envelope.testCaseFinished) this.lastEnded = performance.now();
    const result = this.reducer.onMessage(envelope);
    if (!result) return;
    const mark =
      result.verdict === 'passed'
        ? 'ok  '
        : result.verdict === 'skipped'
          ? 'skip'
          : failsTheRun(result, this.catalogue)
            ? 'FAIL'
            : 'warn';
    this.print(`${mark} ${result.name} (${(result.durationMs / 1000).toFixed(1)} s)`);
    if (result.verdict !== 'passed' && result.message) this.print(`     ${firstLine(result.message)}`);
  }

  results(): ScenarioResult[] {
    return this.reducer.results();
  }
}

/**
 * Cucumber forks its workers with this process's execArgv, which carries tsx when the harness runs
 * from source. The workers run the bundled support code, plain JavaScript: without tsx's loader
 * thread each worker starts ~0.3 s of CPU sooner and resolves modules directly.
 */
async function withoutTypeScriptLoader<T>(run: () => Promise<T>): Promise<T> {
  const original = process.execArgv;
  const kept: string[] = [];
  for (let i = 0; i < original.length; i++) {
    const arg = original[i] as string;
    if ((arg === '--import' || arg === '--loader' || arg === '--require') && /^tsx\b/.test(original[i + 1] ?? '')) i++;
    else if (!/^--(import|loader|require)=tsx\b/.test(arg)) kept.push(arg);
  }
  process.execArgv = kept;
  try {
    return await run();
  } finally {
    process.execArgv = original;
  }
}
