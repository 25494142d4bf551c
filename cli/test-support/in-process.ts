/**
 * The same command line as cli-process.ts, run in this process through runCli() (everything but
 * main.ts): for the long tail of cases, so the test set stays fast. Child-process tests cover each
 * exit code and main.ts itself.
 */
import { PassThrough, Writable } from 'node:stream';
import type { Clock } from '../../common/clock.ts';
import { runCli } from '../program.ts';
import type { CliResult } from './cli-process.ts';

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

export interface InProcessOptions {
  signal?: AbortSignal;
  stderrIsTTY?: boolean;
  stdin?: NodeJS.ReadableStream;
  stdinIsTTY?: boolean;
  /** The CLI's clock (real time unless given): moves a stored key towards its expiry without waiting. */
  clock?: Clock;
}

export interface InProcessRun {
  stderr(): string;
  result: Promise<CliResult>;
}

export function startCliInProcess(
  args: string[],
  env: Record<string, string>,
  options: InProcessOptions = {},
): InProcessRun {
  const stdout = capture();
  const stderr = capture();
  const result = runCli({
    argv: args,
    env,
    stdin: options.stdin ?? new PassThrough(),
    stdout: stdout.stream,
    stderr: stderr.stream,
    stdinIsTTY: options.stdinIsTTY ?? false,
    stderrIsTTY: options.stderrIsTTY ?? false,
    signal: options.signal ?? new AbortController().signal,
    platform: 'linux',
    ...(options.clock ? { clock: options.clock } : {}),
  }).then((code) => ({ code, stdout: stdout.text(), stderr: stderr.text() }));
  return { stderr: stderr.text, result };
}

export function runCliInProcess(
  args: string[],
  env: Record<string, string>,
  options: InProcessOptions = {},
): Promise<CliResult> {
  return startCliInProcess(args, env, options).result;
}
