/** The --timings breakdown: phases in order, the workers' phases added up, CPU by kind, features by time. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { timingLines } from './timings-report.ts';

const phase = (count: number, wallMs: number, cpuMs = 0) => ({ count, wallMs, cpuMs });

test('the breakdown adds up the workers, names the CPU of each kind of process and sorts features by time', () => {
  const lines = timingLines({
    wallMs: 40_000,
    cores: 2,
    coordinator: {
      'bundling (esbuild)': phase(1, 1500),
      'scenarios (the first began to the last ended)': phase(1, 35_000),
    },
    coordinatorCpuMs: 10_000,
    totalCpuMs: 72_000,
    chromiumCpuMs: 25_000,
    workers: [
      {
        pid: 11,
        phases: {
          'gateway start: a configuration first used': phase(3, 1500),
          'process: gateway': phase(3, 30_000, 900),
        },
        ownCpuMs: 8000,
        endedChildrenCpuMs: 5000,
      },
      {
        pid: 12,
        phases: { 'gateway start: a configuration first used': phase(2, 1000), 'process: CLI': phase(4, 2000, 1100) },
        ownCpuMs: 9000,
        endedChildrenCpuMs: 1200,
      },
    ],
    inProcess: undefined,
    scenarios: [
      { uri: 'features/a.feature', durationMs: 1000 },
      { uri: 'features/b.feature', durationMs: 2500 },
      { uri: 'features/b.feature', durationMs: 500 },
    ],
  });
  const text = lines.join('\n');
  assert.match(lines[0] ?? '', /40\.0 s of wall time on 2 cores/);
  // The coordinating process's phases in the order they were recorded.
  assert.ok(text.indexOf('bundling (esbuild)') < text.indexOf('scenarios (the first began'));
  assert.match(text, /gateway start: a configuration first used +5 x +2\.5 s/);
  assert.match(text, /gateway processes \(lifetime, CPU\) +3 x +30\.0 s, CPU 0\.9 s/);
  assert.match(text, /workers \(2: .*\) +17\.0 s +24 %/);
  assert.match(text, /Chromium \(every process of it\) +25\.0 s/);
  // What no kind accounts for is shown, and the total is the whole run's.
  assert.match(text, /the rest \(esbuild, shells, processes that did not end\) +18\.0 s/);
  assert.match(text, /total +72\.0 s +\(90 % of 2 cores over the run\)/);
  assert.ok(
    text.indexOf('features/b.feature') < text.indexOf('features/a.feature'),
    'the feature with more time first',
  );
  assert.match(text, /features\/b\.feature +2 x +3\.0 s +longest 2\.5 s/);
});
