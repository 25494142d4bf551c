import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BenchContext, BenchFigure } from './figure.ts';
import { checkRows, type LoadedFigure, loadFigures, runFigures } from './main.ts';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'main.ts');
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function fakeFigure(id: string, run: BenchFigure['run']): LoadedFigure {
  return { id, file: `${id}.ts`, figure: { id, title: `Figure ${id}`, run } };
}

const contexts: string[] = [];
function contextFor(id: string): BenchContext {
  contexts.push(id);
  return { root: ROOT, quick: true, serverCpu: undefined, loadCpu: undefined, log: () => undefined };
}

describe('running the figures', () => {
  it('runs each one after another; one that throws is failed with its message and the next still runs', async () => {
    const order: string[] = [];
    contexts.length = 0;
    const done: string[] = [];
    const results = await runFigures(
      [
        fakeFigure('first', async () => {
          order.push('first');
          return [{ what: 'rate', unit: 'req/s', ours: 10, peer: { name: 'p', value: 20 }, ratio: 0.5 }];
        }),
        fakeFigure('throws', async () => {
          order.push('throws');
          throw new Error('oauth2-mock-server did not start');
        }),
        fakeFigure('last', async () => {
          order.push('last');
          return [{ what: 'time', unit: 'ms', ours: 5, goal: '<= 10 ms', met: true }];
        }),
      ],
      contextFor,
      (result) => done.push(`${result.id}:${result.status}`),
    );
    assert.deepEqual(order, ['first', 'throws', 'last']);
    assert.deepEqual(contexts, ['first', 'throws', 'last']);
    assert.deepEqual(done, ['first:ok', 'throws:failed', 'last:ok']);
    assert.deepEqual(
      results.map((r) => [r.id, r.status, r.error, r.rows.length]),
      [
        ['first', 'ok', undefined, 1],
        ['throws', 'failed', 'oauth2-mock-server did not start', 0],
        ['last', 'ok', undefined, 1],
      ],
    );
    assert.equal(results[1]?.title, 'Figure throws');
  });

  it('fails a figure whose rows do not hold together, naming the row', async () => {
    const [result] = await runFigures(
      [
        fakeFigure('bad-row', async () => [
          { what: 'fine', unit: 'ms', ours: 1 },
          { what: 'judged without a goal', unit: 'ms', ours: 1, met: true },
        ]),
      ],
      contextFor,
    );
    assert.equal(result?.status, 'failed');
    assert.match(result?.error ?? '', /^row 2 \(judged without a goal\): .*goal and met go together/);
    assert.throws(() => checkRows([{ what: 'x', unit: 'ms', ours: 1, ratio: 2 }]), /a ratio needs the peer/);
    assert.throws(() => checkRows([{ what: 'x', unit: 'ms', ours: Number.NaN }]), /row 1 \(x\): ours/);
    assert.throws(() => checkRows('rows'), /must resolve to an array of rows/);
  });
});

describe('loading the figures', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-figures-'));
    const figure = (id: string) => `export const figure = { id: '${id}', title: 'T ${id}', run: async () => [] };\n`;
    await writeFile(join(dir, 'zeta.ts'), figure('zeta'));
    await writeFile(join(dir, 'alpha.ts'), figure('alpha'));
    await writeFile(join(dir, 'alpha.test.ts'), 'throw new Error("a test is not a figure");\n');
    await writeFile(join(dir, 'broken.ts'), 'throw new Error("cannot load");\n');
    await writeFile(join(dir, 'empty.ts'), 'export const other = 1;\n');
    await writeFile(join(dir, 'twin.ts'), figure('alpha'));
    await writeFile(join(dir, 'notes.md'), '# not a module\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('imports every module sorted by file name, tests aside; a module that cannot be one is a failed figure', async () => {
    const loaded = await loadFigures(dir);
    assert.deepEqual(
      loaded.map((f) => [f.id, f.figure ? 'figure' : f.error]),
      [
        ['alpha', 'figure'],
        ['broken', 'broken.ts could not be loaded: cannot load'],
        ['empty', 'empty.ts exports no `figure`'],
        ['twin', 'twin.ts: the id "alpha" is already alpha.ts\'s'],
        ['zeta', 'figure'],
      ],
    );
    const results = await runFigures(loaded, contextFor);
    assert.deepEqual(
      results.map((r) => r.status),
      ['ok', 'failed', 'failed', 'failed', 'ok'],
    );
  });
});

/** `npm run bench` with `args`: its exit code and stderr (usage errors come before any build or figure). */
function bench(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (code) => resolveRun({ code, stderr }));
  });
}

describe('npm run bench: usage errors', () => {
  it('names the option and its rule, and exits 2', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['--report', 'reports/bench.txt'],
        /option '--report <file>' argument 'reports\/bench\.txt' is invalid\. must be a file name ending in \.json/,
      ],
      [
        ['--only', 'Not An Id'],
        /option '--only <ids>' argument 'Not An Id' is invalid\. must be figure ids separated by commas/,
      ],
      [
        ['--only', 'no-such-figure', '--no-build'],
        /option '--only <ids>': no figure named "no-such-figure" \(the figures: .*logins-per-core/,
      ],
      [['--fast'], /unknown option '--fast'/],
      [['now'], /too many arguments/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr } = await bench(args);
      assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, message);
    }
  });
});
