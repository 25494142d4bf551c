/**
 * What `npm run bench` is made of: figures, each a measurement of ours beside its peer or floor taken
 * in the same run (same machine state, targets rotated round by round), so that a ratio means
 * something on a shared, noisy machine. A figure module lives in `figures/` and exports `figure`.
 *
 * Speed is measured here and printed with its goal; it is never asserted in a test.
 */

/** One row of the table: one measured quantity. */
export interface BenchRow {
  /** What was measured, in words a reader of docs/performance.md follows. */
  what: string;
  /** The unit of `ours` and `peer.value`: 'req/s', 'flows/s', 'ms', 'ms CPU/flow', 'logins/s'... */
  unit: string;
  /** Our figure (the median of the rounds unless `detail` says otherwise). */
  ours: number;
  /** The peer or floor measured in the same run, when the goal is relative to one. */
  peer?: { name: string; value: number };
  /**
   * ours against peer, oriented so that 1.0 means "as good as the peer" and more is better
   * (for a rate: ours / peer; for a time: peer / ours). Use `ratioOf`.
   */
  ratio?: number;
  /** The goal in words, e.g. '>= 0.85x plain express 5', '<= 200 ms'. */
  goal?: string;
  /** Whether the goal is met; absent when the row has no goal (a figure shown for context). */
  met?: boolean;
  /** Rounds, spread, CPU pinning, anything a reader needs to trust or reproduce the figure. */
  detail?: string;
}

export interface BenchContext {
  /** The repository root. */
  root: string;
  /** A smoke run: the smallest budgets that still exercise every code path (for CI and for tests). */
  quick: boolean;
  /** The core servers are pinned to, and the one load generators run on; undefined on one core. */
  serverCpu: number | undefined;
  loadCpu: number | undefined;
  /** A progress line on stderr (the table goes to stdout). */
  log(line: string): void;
}

export interface BenchFigure {
  /** Short and stable: `--only gateway-key-check`; the key in reports/bench.json. */
  id: string;
  /** The heading of the figure in the table. */
  title: string;
  run(context: BenchContext): Promise<BenchRow[]>;
}

/** How a quantity compares: 'higher' for rates, 'lower' for times and costs. */
export type Better = 'higher' | 'lower';

/** ours against peer, 1.0 = as good as the peer, more = better (see `BenchRow.ratio`). */
export function ratioOf(ours: number, peer: number, better: Better): number {
  return better === 'higher' ? ours / peer : peer / ours;
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) throw new Error('median of no samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}
