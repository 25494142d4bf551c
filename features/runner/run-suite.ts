/**
 * Runs the Cucumber features in-process with the harness parameters, prints one line per scenario as
 * it finishes and a summary with the wall time, and writes the reports (HTML, JUnit XML, Cucumber
 * JSON, the messages stream) under the reports folder.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfiguration, runCucumber } from '@cucumber/cucumber/api';
import type { Envelope, TestStepResultStatus } from '@cucumber/messages';
import { launchBrowserServer } from '../drivers/browser.ts';
import type { HarnessParameters } from '../support/parameters.ts';
import { SKIP_REASON_PREFIX } from '../support/skip-reason.ts';
import { buildMatrix, checkCoverage, failsTheRun, loadCatalogue, writeMatrix } from './requirements.ts';

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
  print: (line: string) => void;
}

export type ScenarioVerdict = 'passed' | 'failed' | 'skipped';

export interface ScenarioResult {
  name: string;
  uri: string;
  tags: string[];
  verdict: ScenarioVerdict;
  /** First failure message or skip reason. */
  message: string | undefined;
  durationMs: number;
}

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
  const browser = await launchBrowserServer(options.parameters.chromiumPath);
  try {
    return await runWithBrowser(options, { ...options.parameters, browserEndpoint: browser.wsEndpoint() }, startedAt);
  } finally {
    await browser.close();
  }
}

async function runWithBrowser(
  options: SuiteOptions,
  parameters: HarnessParameters,
  startedAt: number,
): Promise<SuiteOutcome> {
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
      formatOptions: { junit: { suiteName: 'cli-sso-conformance' } },
      // World parameters travel as JSON (Cucumber may hand them to worker processes).
      worldParameters: JSON.parse(JSON.stringify(parameters)),
      strict: true,
      parallel: options.parallel > 1 ? options.parallel : 0,
      ...(options.tags ? { tags: options.tags } : {}),
      ...(options.name ? { name: [options.name] } : {}),
    },
  });
  const catalogue = await loadCatalogue(join(options.rootDir, 'features', 'requirements.yaml'));
  const coverage = await checkCoverage(catalogue, join(options.rootDir, 'features'));
  for (const r of coverage.uncovered) options.print(`requirement without a scenario: ${r.id} (${r.level}) ${r.text}`);
  for (const u of coverage.unknown) options.print(`unknown requirement tag @${u.id} in ${u.file}`);
  const collector = new ResultCollector(options.print);
  options.print(`gateway: ${options.parameters.gateway.label}`);
  options.print(`cli:     ${options.parameters.cli.label}`);
  const { success } = await withoutTypeScriptLoader(() =>
    runCucumber(runConfiguration, undefined, (envelope) => collector.onMessage(envelope)),
  );
  const wallMs = Math.round(Date.now() - startedAt);
  const scenarios = collector.results();
  const counts = count(scenarios);
  const target = { gateway: options.parameters.gateway.label, cli: options.parameters.cli.label };
  await writeMatrix(options.reportsDir, catalogue, buildMatrix(catalogue, scenarios), target);
  const blocking = scenarios.filter((s) => failsTheRun(s, catalogue));
  for (const s of scenarios.filter((x) => x.verdict === 'failed' && !failsTheRun(x, catalogue))) {
    options.print(`warning: a SHOULD is not met: ${s.name}`);
  }
  let ok = options.expectedFailures
    ? checkExpectedFailures(scenarios, options.expectedFailures, options.print)
    : // Cucumber reports failure for failed SHOULDs too; with no failed scenario at all, its
      // "not successful" means a hook or the run itself broke.
      blocking.length === 0 && (success || counts.failed > 0);
  if (coverage.uncovered.length > 0 || coverage.unknown.length > 0) {
    options.print('the requirement catalogue and the scenarios disagree (see above): the run fails');
    ok = false;
  }
  if (scenarios.length === 0) {
    options.print('no scenario ran: check the paths, --tags and --name');
    ok = false;
  }
  options.print(
    `${scenarios.length} scenarios: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped in ${(wallMs / 1000).toFixed(1)} s`,
  );
  // A failed SHOULD is a warning: counted apart, so that "failed" means a MUST failed.
  const warned = counts.failed - blocking.length;
  options.print(
    `conformance: ${counts.passed} passed, ${blocking.length} failed, ${counts.skipped} skipped, ${warned} warned`,
  );
  return { ok, scenarios, wallMs };
}

function count(scenarios: readonly ScenarioResult[]): Record<ScenarioVerdict, number> {
  const totals: Record<ScenarioVerdict, number> = { passed: 0, failed: 0, skipped: 0 };
  for (const s of scenarios) totals[s.verdict] += 1;
  return totals;
}

function checkExpectedFailures(
  scenarios: readonly ScenarioResult[],
  expected: readonly string[],
  print: (l: string) => void,
): boolean {
  const expectedSet = new Set(expected);
  let ok = true;
  for (const s of scenarios) {
    if (s.verdict === 'failed' && !expectedSet.has(s.name)) {
      print(`unexpected failure: ${s.name}`);
      ok = false;
    }
    if (s.verdict === 'passed' && expectedSet.has(s.name)) {
      print(`expected to fail but passed (remove it from the expected failures): ${s.name}`);
      ok = false;
    }
  }
  return ok;
}

/** Follows the message stream: pickles, test cases, step results. */
class ResultCollector {
  private readonly pickles = new Map<string, { name: string; uri: string; tags: string[] }>();
  private readonly testCases = new Map<string, string>();
  private readonly attempts = new Map<
    string,
    { pickleId: string; statuses: TestStepResultStatus[]; message?: string; startedMs: number }
  >();
  private readonly finished: ScenarioResult[] = [];

  constructor(private readonly print: (line: string) => void) {}

  onMessage(envelope: Envelope): void {
    if (envelope.pickle) {
      const p = envelope.pickle;
      this.pickles.set(p.id, { name: p.name, uri: p.uri, tags: p.tags.map((t) => t.name) });
    } else if (envelope.testCase) {
      this.testCases.set(envelope.testCase.id, envelope.testCase.pickleId);
    } else if (envelope.testCaseStarted) {
      const started = envelope.testCaseStarted;
      this.attempts.set(started.id, {
        pickleId: this.testCases.get(started.testCaseId) ?? '',
        statuses: [],
        startedMs: Date.now(),
      });
    } else if (envelope.testStepFinished) {
      const attempt = this.attempts.get(envelope.testStepFinished.testCaseStartedId);
      const result = envelope.testStepFinished.testStepResult;
      if (attempt) {
        attempt.statuses.push(result.status);
        if (!attempt.message && result.message && result.status !== 'PASSED') attempt.message = result.message;
      }
    } else if (envelope.attachment?.testCaseStartedId && envelope.attachment.body.startsWith(SKIP_REASON_PREFIX)) {
      const attempt = this.attempts.get(envelope.attachment.testCaseStartedId);
      if (attempt) attempt.message ??= envelope.attachment.body;
    } else if (envelope.testCaseFinished) {
      const finished = envelope.testCaseFinished;
      const attempt = this.attempts.get(finished.testCaseStartedId);
      if (!attempt || finished.willBeRetried) return;
      const pickle = this.pickles.get(attempt.pickleId);
      const verdict = verdictOf(attempt.statuses);
      const result: ScenarioResult = {
        name: pickle?.name ?? '(unknown scenario)',
        uri: pickle?.uri ?? '',
        tags: pickle?.tags ?? [],
        verdict,
        message: attempt.message,
        durationMs: Date.now() - attempt.startedMs,
      };
      this.finished.push(result);
      const mark = verdict === 'passed' ? 'ok  ' : verdict === 'failed' ? 'FAIL' : 'skip';
      this.print(`${mark} ${result.name} (${(result.durationMs / 1000).toFixed(1)} s)`);
      if (verdict !== 'passed' && result.message) this.print(`     ${firstLine(result.message)}`);
    }
  }

  results(): ScenarioResult[] {
    return this.finished;
  }
}

function verdictOf(statuses: readonly TestStepResultStatus[]): ScenarioVerdict {
  if (statuses.some((s) => s === 'FAILED' || s === 'AMBIGUOUS' || s === 'UNDEFINED' || s === 'PENDING'))
    return 'failed';
  if (statuses.some((s) => s === 'SKIPPED')) return 'skipped';
  return 'passed';
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim()
      .slice(0, 300) ?? ''
  );
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
