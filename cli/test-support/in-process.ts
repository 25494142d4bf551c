/**
 * The same command line as cli-process.ts, run in this process through runCli() (everything but
 * main.ts): for the long tail of cases, so the test set stays fast. Child-process tests cover each
 * exit code and main.ts itself.
 */
import { PassThrough, Writable } from 'node:stream';
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

export async function runCliInProcess(
  args: string[],
  env: Record<string, string>,
  options: { signal?: AbortSignal; stderrIsTTY?: boolean; stdin?: NodeJS.ReadableStream; stdinIsTTY?: boolean } = {},
): Promise<CliResult & { stderrLive: () => string }> {
  const stdout = capture();
  const stderr = capture();
  const code = await runCli({
    argv: args,
    env,
    stdin: options.stdin ?? new PassThrough(),
    stdout: stdout.stream,
    stderr: stderr.stream,
    stdinIsTTY: options.stdinIsTTY ?? false,
    stderrIsTTY: options.stderrIsTTY ?? false,
    signal: options.signal ?? new AbortController().signal,
    platform: 'linux',
  });
  return { code, stdout: stdout.text(), stderr: stderr.text(), stderrLive: stderr.text };
}
