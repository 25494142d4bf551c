/**
 * One run of the conformance suite as a child process, exactly as a user runs it
 * (`node --import tsx features/main.ts --gateway-cmd ... --reports ...`). Its output goes to a file
 * in the run's reports folder; the run's results are read back from the messages it wrote.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface SuiteRunOptions {
  nodePath: string;
  tsxPath: string;
  rootDir: string;
  /** undefined = the suite's embedded default gateway. */
  gatewayCommand: string | undefined;
  reportsDir: string;
  /** More flags for the suite (e.g. `--tags`). */
  extraArgs: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Called with each line the suite prints, e.g. to show progress. */
  onLine?: (line: string) => void;
}

export interface SuiteRun {
  exitCode: number;
  wallMs: number;
  outputFile: string;
  messagesFile: string;
}

export async function runConformanceSuite(options: SuiteRunOptions): Promise<SuiteRun> {
  await rm(options.reportsDir, { recursive: true, force: true });
  await mkdir(options.reportsDir, { recursive: true });
  const outputFile = join(options.reportsDir, 'suite-output.log');
  const output = createWriteStream(outputFile);
  const args = [
    '--import',
    options.tsxPath,
    join(options.rootDir, 'features/main.ts'),
    ...(options.gatewayCommand ? ['--gateway-cmd', options.gatewayCommand] : []),
    '--reports',
    options.reportsDir,
    ...options.extraArgs,
  ];
  const startedAt = Date.now();
  const child = spawn(options.nodePath, args, {
    cwd: options.rootDir,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let pendingLine = '';
  const onChunk = (chunk: Buffer) => {
    output.write(chunk);
    if (!options.onLine) return;
    const lines = (pendingLine + chunk.toString('utf8')).split('\n');
    pendingLine = lines.pop() ?? '';
    for (const line of lines) options.onLine(line);
  };
  child.stdout.on('data', onChunk);
  child.stderr.on('data', onChunk);
  // Ctrl-C or SIGTERM reaches the suite, which then stops every gateway, CLI and Redis server it
  // started before it exits; only then does this process die of the same signal. Dying at once would
  // leave the suite running without anyone reading its output, and its gateways behind.
  let interrupted: NodeJS.Signals | undefined;
  const forward = (signal: NodeJS.Signals) => {
    interrupted = signal;
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const exitCode = await new Promise<number>((resolve) => {
    child.once('error', () => resolve(2));
    child.once('close', (code) => resolve(code ?? 1));
  });
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  await new Promise<void>((resolve) => output.end(resolve));
  if (interrupted) process.kill(process.pid, interrupted);
  return {
    exitCode,
    wallMs: Date.now() - startedAt,
    outputFile,
    messagesFile: join(options.reportsDir, 'messages.ndjson'),
  };
}

/** Quote one argument for /bin/sh (the harness runs `--gateway-cmd` through it). */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+{}-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
