/**
 * `npm run bench:mock-idp`: how long the mock IdP takes to start, in process (startMockIdp) and as a
 * command (`node bin/mock-idp.mjs --port 0` until /health answers). Prints figures; the goal is under
 * 1 s in process. Speed is measured here, never asserted in a test.
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMockIdp } from '../mock-idp/index.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.argv[2] ?? 5);
const GOAL_MS = 1000;

function summary(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  return `${label.padEnd(34)} median ${median.toFixed(0).padStart(5)} ms   min ${sorted[0]?.toFixed(0)} ms   max ${sorted.at(-1)?.toFixed(0)} ms   (${samples.length} runs)`;
}

async function inProcess(): Promise<number> {
  const started = performance.now();
  const idp = await startMockIdp({ host: '127.0.0.1', port: 0 });
  const elapsed = performance.now() - started;
  await idp.close();
  return elapsed;
}

/** Time from spawn to the first 200 from /health; the port is read from the banner. */
function asCommand(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [join(ROOT, 'bin/mock-idp.mjs'), '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const onData = async (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/[^\s]+)/.exec(output);
      if (!match) return;
      child.stdout.off('data', onData);
      const response = await fetch(`${match[1]}/health`);
      await response.arrayBuffer();
      const elapsed = performance.now() - started;
      child.kill('SIGTERM');
      child.once('close', () => resolvePromise(elapsed));
    };
    child.stdout.on('data', onData);
    child.once('error', reject);
    child.once('close', (code) => {
      if (!/listening on/.test(output)) reject(new Error(`mock-idp exited with ${code} before listening:\n${output}`));
    });
  });
}

const own: number[] = [];
const command: number[] = [];
for (let i = 0; i < RUNS; i++) own.push(await inProcess());
for (let i = 0; i < RUNS; i++) command.push(await asCommand());
process.stdout.write(`${summary('startMockIdp() (in process)', own)}\n`);
process.stdout.write(`${summary('bin/mock-idp.mjs until /health 200', command)}\n`);
const median = [...own].sort((a, b) => a - b)[Math.floor(own.length / 2)] ?? Number.NaN;
process.stdout.write(`goal: in-process start under ${GOAL_MS} ms: ${median < GOAL_MS ? 'met' : 'NOT met'}\n`);
