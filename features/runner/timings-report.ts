/**
 * The breakdown `--timings` prints at the end of a run: the coordinating process's phases in
 * order (start-up, bundling, browser, Cucumber, scenarios, reports), what the workers spent their
 * scenarios on (gateway starts, CLI runs, browser contexts, IdP resets...), the CPU each kind of
 * process used, and the scenario time by feature. docs/speed.md reads it.
 */
import type { PhaseTotal, PhaseTotals, WorkerTimings } from '../drivers/timings.ts';
import { mergeTotals, WORKER_START_UP } from '../drivers/timings.ts';

export interface RunTimings {
  /** The whole run, from the moment the process started. */
  wallMs: number;
  cores: number;
  /** The coordinating process's phases, in the order they happened. */
  coordinator: PhaseTotals;
  coordinatorCpuMs: number;
  /** Every process of the run together (undefined without /proc). */
  totalCpuMs: number | undefined;
  /** Chromium and every process under it (undefined without /proc). */
  chromiumCpuMs: number | undefined;
  /** The worker processes' timings. */
  workers: WorkerTimings[];
  /** The scenarios' own timings when they ran in the coordinating process (one worker). */
  inProcess: WorkerTimings | undefined;
  scenarios: ReadonlyArray<{ uri: string; durationMs: number }>;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const PROCESS_PREFIX = 'process: ';

export function timingLines(run: RunTimings): string[] {
  const lines: string[] = [];
  const width = 66;
  const row = (label: string, value: string) => `  ${label.padEnd(width)} ${value}`;
  lines.push(`where the time went (--timings): ${seconds(run.wallMs)} of wall time on ${run.cores} cores`);

  lines.push(' the coordinating process, phase by phase (wall time):');
  for (const [name, total] of Object.entries(run.coordinator)) lines.push(row(name, seconds(total.wallMs)));

  const everyWorker = [...run.workers, ...(run.inProcess ? [run.inProcess] : [])];
  const phases = everyWorker.reduce<PhaseTotals>((sum, w) => mergeTotals(sum, w.phases), {});
  const workerCount = run.inProcess ? 'in the coordinating process' : `${run.workers.length} workers, added up`;
  lines.push(` inside the scenarios (${workerCount}; count, wall time, CPU where known):`);
  const scenarioPhases = Object.entries(phases)
    .filter(([name]) => !name.startsWith(PROCESS_PREFIX))
    // Run in the coordinating process, the support code's loading is one of its phases above.
    .filter(([name]) => !(run.inProcess && name === WORKER_START_UP))
    .sort(([, a], [, b]) => b.wallMs - a.wallMs);
  for (const [name, total] of scenarioPhases) lines.push(row(name, countAndTime(total)));
  const processes = Object.entries(phases)
    .filter(([name]) => name.startsWith(PROCESS_PREFIX))
    .sort(([, a], [, b]) => b.cpuMs - a.cpuMs);
  for (const [name, total] of processes) {
    lines.push(row(`${name.slice(PROCESS_PREFIX.length)} processes (lifetime, CPU)`, countAndTime(total)));
  }

  lines.push(' CPU by kind of process:');
  const cpu: Array<[string, number]> = [];
  cpu.push(['coordinating process (Cucumber, Playwright browser server, reports)', run.coordinatorCpuMs]);
  if (!run.inProcess) {
    const own = run.workers.reduce((sum, w) => sum + w.ownCpuMs, 0);
    cpu.push([`workers (${run.workers.length}: Cucumber, harness, mock IdP, Playwright client)`, own]);
  }
  if (run.chromiumCpuMs !== undefined) cpu.push(['Chromium (every process of it)', run.chromiumCpuMs]);
  for (const [name, total] of processes) cpu.push([name.slice(PROCESS_PREFIX.length), total.cpuMs]);
  const known = cpu.reduce((sum, [, ms]) => sum + ms, 0);
  // The total is read from /proc as the run ends; a worker that has not been waited for by then is
  // missing from it, and the parts known are then the better total.
  if (run.totalCpuMs !== undefined && run.totalCpuMs > known) {
    cpu.push(['the rest (esbuild, shells, processes that did not end)', run.totalCpuMs - known]);
  }
  const total = Math.max(run.totalCpuMs ?? 0, known);
  for (const [name, ms] of cpu) lines.push(row(name, `${seconds(ms).padStart(8)}  ${percent(ms, total)}`));
  lines.push(
    row(
      'total',
      `${seconds(total).padStart(8)}  (${percent(total, run.cores * run.wallMs)} of ${run.cores} cores over the run)`,
    ),
  );

  lines.push(' scenario time by feature (scenarios, time added up, longest):');
  const byFeature = new Map<string, { count: number; ms: number; longest: number }>();
  for (const scenario of run.scenarios) {
    const feature = byFeature.get(scenario.uri) ?? { count: 0, ms: 0, longest: 0 };
    feature.count += 1;
    feature.ms += scenario.durationMs;
    feature.longest = Math.max(feature.longest, scenario.durationMs);
    byFeature.set(scenario.uri, feature);
  }
  const features = [...byFeature].sort(([, a], [, b]) => b.ms - a.ms);
  for (const [uri, f] of features) {
    lines.push(
      row(uri, `${String(f.count).padStart(4)} x ${seconds(f.ms).padStart(8)}  longest ${seconds(f.longest)}`),
    );
  }
  const all = run.scenarios.reduce((sum, s) => sum + s.durationMs, 0);
  lines.push(row('all features', `${String(run.scenarios.length).padStart(4)} x ${seconds(all).padStart(8)}`));
  return lines;
}

function countAndTime(total: PhaseTotal): string {
  const cpu = total.cpuMs > 0 ? `, CPU ${seconds(total.cpuMs)}` : '';
  return `${String(total.count).padStart(4)} x ${seconds(total.wallMs).padStart(8)}${cpu}`;
}

function percent(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((part / whole) * 100)} %` : '';
}
