import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type BenchRow, ratioOf } from './figure.ts';
import {
  type BenchReport,
  busyWarning,
  cellsOf,
  exitCodeOf,
  type FigureResult,
  formatNumber,
  goalsOf,
  jsonReport,
  type Machine,
  markdownReport,
  textFigure,
  textSummary,
  textTable,
} from './report.ts';

const rate: BenchRow = {
  what: 'GET /v1/models with a CLI key',
  unit: 'req/s',
  ours: 4345,
  peer: { name: 'plain express 5', value: 9253 },
  ratio: ratioOf(4345, 9253, 'higher'),
  goal: '>= 0.85x plain express 5',
  met: false,
  detail: '5 rounds, rotated',
};
const time: BenchRow = {
  what: 'cold start',
  unit: 'ms',
  ours: 135,
  peer: { name: 'oauth2-mock-server', value: 270 },
  ratio: ratioOf(135, 270, 'lower'),
  goal: '<= 1.0x oauth2-mock-server',
  met: true,
};
const context: BenchRow = { what: 'p50 | p99', unit: 'ms', ours: 17.94 };

const machine: Machine = {
  cpuModel: 'Test CPU',
  cores: 2,
  memoryGiB: 23.4,
  node: 'v20.19.0',
  os: 'Linux 6.1',
  serverCpu: 0,
  loadCpu: 1,
  loadAverageBefore: 0.2,
  loadAverageAfter: 1.5,
  commit: 'abc1234',
};

function reportOf(figures: FigureResult[], overrides: Partial<Machine> = {}): BenchReport {
  return {
    machine: { ...machine, ...overrides },
    started: '2026-12-08T07:00:00.000Z',
    durationS: 12.5,
    options: { quick: false, only: null, strict: false },
    goals: goalsOf(figures),
    figures,
  };
}

const ok: FigureResult = { id: 'gateway', title: 'The key check', status: 'ok', durationS: 3, rows: [rate, context] };
const idp: FigureResult = { id: 'idp', title: 'Mock IdP', status: 'ok', durationS: 2, rows: [time] };
const failed: FigureResult = {
  id: 'broken',
  title: 'Broken',
  status: 'failed',
  error: 'the peer did not start',
  durationS: 1,
  rows: [],
};

describe('the ratio column', () => {
  it('reads 1.00x as "as good as the peer" and more as better, for rates and for times', () => {
    // A rate below the peer's is below 1; a time below the peer's (faster) is above 1.
    assert.equal(cellsOf(rate)[3], '0.47x');
    assert.equal(cellsOf(time)[3], '2.00x');
    assert.equal(cellsOf({ ...time, ours: 540, ratio: ratioOf(540, 270, 'lower') })[3], '0.50x');
  });

  it('prints the ratio the figure gave rather than one of its own', () => {
    // A figure may take the median of per-round ratios, which is not ours / peer of the medians.
    assert.equal(cellsOf({ ...rate, ratio: 0.52 })[3], '0.52x');
  });
});

describe('the table', () => {
  it('has what | ours | peer | ratio | goal | met, values with their unit, — where there is nothing', () => {
    const lines = textTable([rate, time, context]).split('\n');
    assert.match(lines[0] as string, /^what +\| ours +\| peer +\| ratio \| goal +\| met$/);
    assert.match(lines[1] as string, /^-+-\|-/);
    assert.deepEqual(
      lines[2]?.split('|').map((cell) => cell.trim()),
      [
        'GET /v1/models with a CLI key',
        '4,345 req/s',
        'plain express 5: 9,253 req/s',
        '0.47x',
        '>= 0.85x plain express 5',
        'NO',
      ],
    );
    assert.deepEqual(
      lines[3]?.split('|').map((cell) => cell.trim()),
      ['cold start', '135 ms', 'oauth2-mock-server: 270 ms', '2.00x', '<= 1.0x oauth2-mock-server', 'yes'],
    );
    assert.match(lines[4] as string, /^p50 \| p99 +\| 17\.9 ms +\| — +\| — +\| — +\| —$/);
    // Columns line up (the last row's own '|' aside).
    assert.equal(new Set(lines.slice(0, 4).map((line) => line.indexOf('|'))).size, 1);
  });

  it('prints a figure with its details, and a failed figure with its message', () => {
    const text = textFigure(ok);
    assert.match(text, /^== The key check \(gateway, 3 s\)\n/);
    assert.match(text, /\n {2}GET \/v1\/models with a CLI key: 5 rounds, rotated$/);
    assert.equal(textFigure(failed), '== Broken (broken, 1 s)\nFAILED: the peer did not start');
  });

  it('counts the goals met over every figure and names the missed ones and the failed figures', () => {
    const report = reportOf([ok, idp, failed]);
    assert.deepEqual(report.goals, { met: 1, total: 2 });
    const summary = textSummary(report);
    assert.match(summary, /^1 of 2 goals met$/m);
    assert.match(summary, /^ {2}missed: gateway: GET \/v1\/models with a CLI key \(4,345 req\/s; goal >= 0\.85x/m);
    assert.match(summary, /^1 figure\(s\) failed: broken$/m);
    assert.match(summary, /CPU: Test CPU, 2 cores; memory 23\.4 GiB; Node v20\.19\.0/);
    assert.match(summary, /1-minute load average: 0\.2 before, 1\.5 after/);
  });

  it('warns when the machine was not quiet before the run (load average above 0.5)', () => {
    assert.equal(busyWarning({ ...machine, loadAverageBefore: 0.5 }), undefined);
    assert.match(busyWarning({ ...machine, loadAverageBefore: 3.2 }) ?? '', /not quiet .*3\.2 before the run/);
    assert.doesNotMatch(textSummary(reportOf([ok])), /warning/);
    assert.match(textSummary(reportOf([ok], { loadAverageBefore: 3.2 })), /^warning: the machine was not quiet/m);
  });

  it('formats numbers: whole from 100 up, else three significant digits', () => {
    assert.deepEqual([12345.6, 229.4, 17.94, 4.66, 0.02291].map(formatNumber), [
      '12,346',
      '229',
      '17.9',
      '4.66',
      '0.0229',
    ]);
  });
});

describe('the reports', () => {
  it('bench.json holds the machine, the start, the duration and every figure with its rows as measured', () => {
    const report = reportOf([ok, failed]);
    const parsed = JSON.parse(jsonReport(report)) as BenchReport;
    assert.deepEqual(parsed, report);
    assert.equal(parsed.figures[0]?.rows[0]?.ours, 4345);
    assert.equal(parsed.figures[0]?.rows[0]?.ratio, 4345 / 9253);
    assert.equal(parsed.figures[1]?.status, 'failed');
    assert.equal(parsed.figures[1]?.error, 'the peer did not start');
  });

  it('bench.md has the same tables in Markdown, the machine, and escapes what would break a table', () => {
    const markdown = markdownReport(reportOf([ok, idp, failed], { loadAverageBefore: 2 }));
    assert.match(markdown, /^Measured 2026-12-08 07:00 UTC with `npm run bench` at commit abc1234, in 12\.5 s\.$/m);
    assert.match(markdown, /^\| CPU \| Test CPU, 2 cores \|$/m);
    assert.match(markdown, /^> warning: the machine was not quiet/m);
    assert.match(markdown, /^\*\*1 of 2 goals met\.\*\*/m);
    assert.match(markdown, /^### The key check \(`gateway`\)$/m);
    assert.match(
      markdown,
      /^\| what \| ours \| peer \| ratio \| goal \| met \|\n\| --- \| --- \| --- \| --- \| --- \| --- \|$/m,
    );
    assert.match(
      markdown,
      /^\| GET \/v1\/models with a CLI key \| 4,345 req\/s \| plain express 5: 9,253 req\/s \| 0\.47x \| >= 0\.85x plain express 5 \| \*\*no\*\* \|$/m,
    );
    assert.match(markdown, /^\| p50 \\\| p99 \| 17\.9 ms \| — \| — \| — \| — \|$/m);
    assert.match(markdown, /^- GET \/v1\/models with a CLI key: 5 rounds, rotated$/m);
    assert.match(markdown, /^### Broken \(`broken`\)\n\nFailed: the peer did not start$/m);
    const chosen = markdownReport({ ...reportOf([ok]), options: { quick: true, only: ['gateway'], strict: false } });
    assert.match(chosen, /^Measured .* with `npm run bench -- --only gateway --quick` at commit/m);
  });
});

describe('the exit code', () => {
  it('is 0 when every figure ran, missed goals included; 1 when one failed; --strict makes a missed goal 1', () => {
    assert.equal(exitCodeOf([ok, idp], false), 0);
    assert.equal(exitCodeOf([ok, idp], true), 1);
    assert.equal(exitCodeOf([idp], true), 0);
    assert.equal(exitCodeOf([idp, failed], false), 1);
  });
});
