/**
 * `npm run bench [-- --only id,id] [--quick] [--no-build] [--strict] [--report reports/bench.json]`
 *
 * Runs every figure of `figures/` (docs/performance.md): ours beside its peer or floor, measured in
 * the same run. Builds `dist/` first (`npm run build`; figures measure what the package ships), pins
 * itself, the load generator, to one core (servers go on the other), runs the figures one after
 * another, prints a table per figure with each goal and whether it is met, and writes
 * reports/bench.json and reports/bench.md (the tables in Markdown).
 *
 * Exit codes: 0 when every figure ran (a missed goal is printed, not an error; `--strict` makes it
 * one), 1 when a figure failed (the others still run) or the build did, 2 for a usage error.
 * Not a test: speed is measured and printed here, never asserted.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import type { BenchContext, BenchFigure, BenchRow } from './figure.ts';
import { benchCores, pinTo } from './processes.ts';
import {
  type BenchReport,
  busyWarning,
  exitCodeOf,
  type FigureResult,
  goalsOf,
  jsonReport,
  machineFacts,
  markdownReport,
  oneMinuteLoad,
  textFigure,
  textSummary,
} from './report.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const FIGURES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'figures');

// ---- the figures: loaded, run one by one, their rows checked ----------------------------------

/** A module of `figures/`: its figure, or why it could not be loaded. */
export interface LoadedFigure {
  /** The figure's id, else the file name without `.ts`. */
  id: string;
  file: string;
  figure?: BenchFigure;
  error?: string;
}

const ID_PATTERN = /^[a-z0-9][a-z0-9-]*$/;

const figureShape = z.object({
  id: z.string().regex(ID_PATTERN, 'must be lower-case letters, digits and dashes'),
  title: z.string().min(1),
  run: z.custom<BenchFigure['run']>((value) => typeof value === 'function', 'must be a function'),
});

const rowShape = z
  .object({
    what: z.string().min(1),
    unit: z.string(),
    ours: z.number(),
    peer: z.object({ name: z.string().min(1), value: z.number() }).optional(),
    ratio: z.number().optional(),
    goal: z.string().min(1).optional(),
    met: z.boolean().optional(),
    detail: z.string().optional(),
  })
  .refine((row) => (row.goal === undefined) === (row.met === undefined), {
    message: 'goal and met go together (a goal is judged; a row without a goal is shown for context)',
  })
  .refine((row) => row.ratio === undefined || row.peer !== undefined, {
    message: 'a ratio needs the peer it was taken against',
  });

function issuesOf(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'row'}: ${issue.message}`).join('; ');
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The rows a figure handed back, checked; throws naming the first row that does not hold together. */
export function checkRows(rows: unknown): BenchRow[] {
  if (!Array.isArray(rows)) throw new Error('run() must resolve to an array of rows');
  return rows.map((row: unknown, i) => {
    const parsed = rowShape.safeParse(row);
    if (parsed.success) return parsed.data as BenchRow;
    const what = (row as { what?: unknown } | null)?.what;
    throw new Error(`row ${i + 1}${typeof what === 'string' ? ` (${what})` : ''}: ${issuesOf(parsed.error)}`);
  });
}

/** Every `*.ts` module of `dir` but tests, sorted by file name, imported; each exports `figure`. */
export async function loadFigures(dir: string): Promise<LoadedFigure[]> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts')).sort();
  const loaded: LoadedFigure[] = [];
  const seen = new Map<string, string>();
  for (const name of files) {
    const file = join(dir, name);
    const fallbackId = basename(name, '.ts');
    let exported: unknown;
    try {
      exported = ((await import(pathToFileURL(file).href)) as { figure?: unknown }).figure;
    } catch (error) {
      loaded.push({ id: fallbackId, file, error: `${name} could not be loaded: ${messageOf(error)}` });
      continue;
    }
    const parsed = figureShape.safeParse(exported);
    if (!parsed.success) {
      const why =
        exported === undefined ? 'exports no `figure`' : `its \`figure\` is not one: ${issuesOf(parsed.error)}`;
      loaded.push({ id: fallbackId, file, error: `${name} ${why}` });
      continue;
    }
    const figure = exported as BenchFigure;
    const other = seen.get(figure.id);
    if (other !== undefined) {
      loaded.push({ id: fallbackId, file, error: `${name}: the id "${figure.id}" is already ${other}'s` });
      continue;
    }
    seen.set(figure.id, name);
    loaded.push({ id: figure.id, file, figure });
  }
  return loaded;
}

function secondsSince(startedMs: number): number {
  return Number(((performance.now() - startedMs) / 1000).toFixed(1));
}

/** Runs the figures one after another; a failure is recorded and the next figure runs. */
export async function runFigures(
  figures: readonly LoadedFigure[],
  contextFor: (id: string) => BenchContext,
  onDone: (result: FigureResult) => void = () => undefined,
): Promise<FigureResult[]> {
  const results: FigureResult[] = [];
  for (const loaded of figures) {
    const startedMs = performance.now();
    const { figure } = loaded;
    let result: FigureResult;
    if (!figure) {
      result = { id: loaded.id, title: loaded.id, status: 'failed', error: loaded.error, durationS: 0, rows: [] };
    } else {
      try {
        const rows = checkRows(await figure.run(contextFor(figure.id)));
        result = { id: figure.id, title: figure.title, status: 'ok', durationS: secondsSince(startedMs), rows };
      } catch (error) {
        const durationS = secondsSince(startedMs);
        result = { id: figure.id, title: figure.title, status: 'failed', error: messageOf(error), durationS, rows: [] };
      }
    }
    results.push(result);
    onDone(result);
  }
  return results;
}

// ---- the command --------------------------------------------------------------------------------

function parseOnly(value: string): string[] {
  const ids = value.split(',').map((id) => id.trim());
  if (ids.some((id) => !ID_PATTERN.test(id))) {
    throw new InvalidArgumentError('must be figure ids separated by commas, e.g. gateway-key-check,mock-idp');
  }
  return ids;
}

function parseReport(value: string): string {
  if (!/[^/]\.json$/.test(value)) {
    throw new InvalidArgumentError('must be a file name ending in .json (the Markdown goes beside it, .md)');
  }
  return value;
}

interface Options {
  only?: string[];
  quick: boolean;
  build: boolean;
  strict: boolean;
  report: string;
}

function commitOf(): string | undefined {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (head.status !== 0) return undefined;
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' });
  return `${head.stdout.trim()}${dirty.stdout.trim() === '' ? '' : ' (with uncommitted changes)'}`;
}

async function main(): Promise<number> {
  const program = new Command()
    .name('bench')
    .description('every figure of scripts/bench/figures/ beside its peer, with its goal (docs/performance.md)')
    .option('--only <ids>', 'run only these figures (ids separated by commas)', parseOnly)
    .option('--quick', 'the smallest budgets that still run every figure (a smoke run; figures are not final)', false)
    .option('--no-build', 'do not run npm run build first (dist/ must be there and fresh)')
    .option('--strict', 'exit 1 when a goal is missed (by default a missed goal is printed, not an error)', false)
    .option(
      '--report <file>',
      'the JSON report; the Markdown tables go beside it (.md)',
      parseReport,
      'reports/bench.json',
    )
    .showHelpAfterError()
    // Usage errors exit 2 (1 is a failed figure or build).
    .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2));
  program.parse(process.argv);
  const options = program.opts<Options>();

  const loaded = await loadFigures(FIGURES_DIR);
  if (options.only) {
    const known = loaded.map((f) => f.id);
    const unknown = options.only.filter((id) => !known.includes(id));
    if (unknown.length > 0) {
      program.error(
        `error: option '--only <ids>': no figure named ${unknown.map((id) => `"${id}"`).join(', ')} (the figures: ${known.join(', ')})`,
        { exitCode: 2 },
      );
    }
  }
  const chosen = options.only ? loaded.filter((f) => options.only?.includes(f.id)) : loaded;

  if (options.build) {
    process.stderr.write('bench: npm run build (figures measure dist/)\n');
    const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 2, 2] });
    if (build.status !== 0) {
      process.stderr.write(`bench: npm run build failed (exit ${build.status ?? build.signal}); no figure ran\n`);
      return 1;
    }
  }

  const cores = benchCores();
  // Before pinning: once pinned, this process sees one core.
  const machine = machineFacts(cores, commitOf());
  // The bench is the load generator: it stays off the servers' core.
  pinTo(process.pid, cores.loadCpu);
  const warning = busyWarning(machine);
  if (warning) process.stderr.write(`bench: ${warning}\n`);
  const started = new Date();
  const startedMs = performance.now();
  const figures = await runFigures(
    chosen,
    (id) => ({
      root: ROOT,
      quick: options.quick,
      ...cores,
      log: (line) => process.stderr.write(`bench [${id}]: ${line}\n`),
    }),
    (result) => process.stdout.write(`\n${textFigure(result)}\n`),
  );
  machine.loadAverageAfter = oneMinuteLoad();
  const report: BenchReport = {
    machine,
    started: started.toISOString(),
    durationS: secondsSince(startedMs),
    options: { quick: options.quick, only: options.only ?? null, strict: options.strict },
    goals: goalsOf(figures),
    figures,
  };
  process.stdout.write(`\n${textSummary(report)}\n`);
  const jsonPath = resolve(ROOT, options.report);
  const markdownPath = jsonPath.replace(/\.json$/, '.md');
  await mkdir(dirname(jsonPath), { recursive: true });
  await writeFile(jsonPath, jsonReport(report));
  await writeFile(markdownPath, markdownReport(report));
  process.stdout.write(`bench: wrote ${options.report} and ${options.report.replace(/\.json$/, '.md')}\n`);
  return exitCodeOf(figures, options.strict);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
