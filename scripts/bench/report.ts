/**
 * What `npm run bench` prints and writes: per figure a table (what | ours | peer | ratio | goal |
 * met), "N of M goals met", the machine it ran on; reports/bench.json (everything, numbers as
 * measured) and reports/bench.md (the same tables in Markdown, for docs/performance.md as they are).
 */
import { availableParallelism, cpus, loadavg, release, totalmem, type } from 'node:os';
import type { BenchRow } from './figure.ts';

export interface FigureResult {
  id: string;
  title: string;
  status: 'ok' | 'failed';
  /** Why it failed: the figure's own message. */
  error?: string;
  durationS: number;
  rows: BenchRow[];
}

/** Above this 1-minute load average before the run, the machine was not quiet and the figures say so. */
export const QUIET_LOAD_AVERAGE = 0.5;

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
  /** The core servers were pinned to and the one the bench (the load generator) ran on. */
  serverCpu: number | undefined;
  loadCpu: number | undefined;
  /** 1-minute load average just before the first figure and just after the last. */
  loadAverageBefore: number;
  loadAverageAfter: number;
  commit: string | undefined;
}

export interface BenchReport {
  machine: Machine;
  /** ISO 8601. */
  started: string;
  durationS: number;
  /** `only`: the figures chosen with --only; null for all. */
  options: { quick: boolean; only: string[] | null; strict: boolean };
  goals: { met: number; total: number };
  figures: FigureResult[];
}

/** The machine's facts that do not change during a run (the load average after is filled in at the end). */
export function machineFacts(
  cores: { serverCpu: number | undefined; loadCpu: number | undefined },
  commit: string | undefined,
): Machine {
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Number((totalmem() / 1024 ** 3).toFixed(1)),
    node: process.version,
    os: `${type()} ${release()}`,
    serverCpu: cores.serverCpu,
    loadCpu: cores.loadCpu,
    loadAverageBefore: oneMinuteLoad(),
    loadAverageAfter: Number.NaN,
    commit,
  };
}

export function oneMinuteLoad(): number {
  return Number((loadavg()[0] ?? 0).toFixed(2));
}

/** Goals judged over every row of every figure that ran. */
export function goalsOf(figures: readonly FigureResult[]): { met: number; total: number } {
  const judged = figures.flatMap((f) => f.rows).filter((row) => row.met !== undefined);
  return { met: judged.filter((row) => row.met).length, total: judged.length };
}

/** 0 when every figure ran (missed goals are printed, not an error); 1 when one failed, or with
 * `strict` when a goal was missed. */
export function exitCodeOf(figures: readonly FigureResult[], strict: boolean): number {
  if (figures.some((f) => f.status === 'failed')) return 1;
  if (strict && figures.some((f) => f.rows.some((row) => row.met === false))) return 1;
  return 0;
}

/** 4,345 / 229 / 12.5 / 0.0229: whole numbers from 100 up, else three significant digits. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 100
    ? value.toLocaleString('en-US', { maximumFractionDigits: 0 })
    : value.toLocaleString('en-US', { maximumSignificantDigits: 3 });
}

function withUnit(value: number, unit: string): string {
  return unit === '' ? formatNumber(value) : `${formatNumber(value)} ${unit}`;
}

/** The ratio as printed: 1.00x is as good as the peer, more is better (BenchRow.ratio). */
export function formatRatio(ratio: number | undefined): string {
  return ratio === undefined ? '—' : `${ratio.toFixed(2)}x`;
}

const HEADER = ['what', 'ours', 'peer', 'ratio', 'goal', 'met'] as const;

/** The cells of one row, in HEADER's order. */
export function cellsOf(row: BenchRow): string[] {
  return [
    row.what,
    withUnit(row.ours, row.unit),
    row.peer ? `${row.peer.name}: ${withUnit(row.peer.value, row.unit)}` : '—',
    formatRatio(row.ratio),
    row.goal ?? '—',
    row.met === undefined ? '—' : row.met ? 'yes' : 'NO',
  ];
}

/** A plain-text table with aligned columns. */
export function textTable(rows: readonly BenchRow[]): string {
  const lines = [[...HEADER], ...rows.map(cellsOf)];
  const widths = HEADER.map((_, column) => Math.max(...lines.map((cells) => (cells[column] ?? '').length)));
  const format = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join(' | ')
      .trimEnd();
  return [
    format(lines[0] as string[]),
    widths.map((w) => '-'.repeat(w)).join('-|-'),
    ...lines.slice(1).map(format),
  ].join('\n');
}

function describeCores(machine: Machine): string {
  return machine.serverCpu === undefined
    ? 'servers and load generator unpinned (one core, or no taskset)'
    : `servers pinned to core ${machine.serverCpu}, the load generator to core ${machine.loadCpu}`;
}

/** The warning printed when the machine was busy before the run; undefined when it was quiet. */
export function busyWarning(machine: Machine): string | undefined {
  if (machine.loadAverageBefore <= QUIET_LOAD_AVERAGE) return undefined;
  return `warning: the machine was not quiet (1-minute load average ${machine.loadAverageBefore} before the run, above ${QUIET_LOAD_AVERAGE}): absolute figures are noisy, ratios less so`;
}

function machineLines(machine: Machine): string[] {
  return [
    `CPU: ${machine.cpuModel}, ${machine.cores} cores; memory ${machine.memoryGiB} GiB; Node ${machine.node}; ${machine.os}`,
    describeCores(machine),
    `1-minute load average: ${machine.loadAverageBefore} before, ${machine.loadAverageAfter} after`,
  ];
}

/** One figure as printed on stdout. */
export function textFigure(figure: FigureResult): string {
  const heading = `== ${figure.title} (${figure.id}, ${figure.durationS} s)`;
  if (figure.status === 'failed') return `${heading}\nFAILED: ${figure.error ?? 'no reason given'}`;
  const details = figure.rows.filter((row) => row.detail).map((row) => `  ${row.what}: ${row.detail}`);
  return [heading, textTable(figure.rows), ...details].join('\n');
}

/** Everything after the figures: the goals, the failures, the machine. */
export function textSummary(report: BenchReport): string {
  const failed = report.figures.filter((f) => f.status === 'failed');
  const missed = report.figures.flatMap((f) =>
    f.rows.filter((row) => row.met === false).map((row) => [f, row] as const),
  );
  const lines = [
    'ratio: ours against the peer measured in the same run; 1.00x = as good as the peer, more is better',
    `${report.goals.met} of ${report.goals.total} goals met`,
    ...missed.map(([f, row]) => `  missed: ${f.id}: ${row.what} (${cellsOf(row)[1]}; goal ${row.goal})`),
    ...(failed.length > 0 ? [`${failed.length} figure(s) failed: ${failed.map((f) => f.id).join(', ')}`] : []),
    ...machineLines(report.machine),
  ];
  const warning = busyWarning(report.machine);
  if (warning) lines.push(warning);
  return lines.join('\n');
}

function markdownCell(text: string): string {
  return text.replaceAll('|', '\\|').replace(/\s*\n\s*/g, ' ');
}

function markdownTable(rows: readonly BenchRow[]): string {
  const line = (cells: readonly string[]) => `| ${cells.map(markdownCell).join(' | ')} |`;
  return [
    line(HEADER),
    line(HEADER.map(() => '---')),
    ...rows.map((row) => {
      const cells = cellsOf(row);
      if (row.met === false) cells[5] = '**no**';
      return line(cells);
    }),
  ].join('\n');
}

/** reports/bench.md: the tables in Markdown, headed by when and where, for docs/performance.md. */
export function markdownReport(report: BenchReport): string {
  const m = report.machine;
  const flags = [
    ...(report.options.only ? ['--only', report.options.only.join(',')] : []),
    ...(report.options.quick ? ['--quick'] : []),
  ];
  const run = `\`npm run bench${flags.length > 0 ? ` -- ${flags.join(' ')}` : ''}\``;
  const parts = [
    `Measured ${report.started.slice(0, 16).replace('T', ' ')} UTC with ${run}${m.commit ? ` at commit ${m.commit}` : ''}, in ${report.durationS} s.`,
    '',
    '| machine | |',
    '| --- | --- |',
    `| CPU | ${markdownCell(m.cpuModel)}, ${m.cores} cores |`,
    `| memory | ${m.memoryGiB} GiB |`,
    `| Node.js | ${m.node} |`,
    `| system | ${markdownCell(m.os)} |`,
    `| pinning | ${describeCores(m)} |`,
    `| 1-minute load average | ${m.loadAverageBefore} before, ${m.loadAverageAfter} after |`,
    '',
    ...(busyWarning(m) ? [`> ${busyWarning(m)}`, ''] : []),
    `**${report.goals.met} of ${report.goals.total} goals met.** The ratio is ours against the peer measured in the same run: 1.00x is as good as the peer, more is better.`,
  ];
  for (const figure of report.figures) {
    parts.push('', `### ${figure.title} (\`${figure.id}\`)`, '');
    if (figure.status === 'failed') {
      parts.push(`Failed: ${markdownCell(figure.error ?? 'no reason given')}`);
      continue;
    }
    parts.push(markdownTable(figure.rows));
    const details = figure.rows.filter((row) => row.detail);
    if (details.length > 0) parts.push('', ...details.map((row) => `- ${row.what}: ${markdownCell(row.detail ?? '')}`));
  }
  return `${parts.join('\n')}\n`;
}

/** reports/bench.json. */
export function jsonReport(report: BenchReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
