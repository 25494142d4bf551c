/**
 * A process the harness started: its own process group (so a shell command's children stop with it),
 * its output kept in memory and on disk as evidence, and a stop that waits for the exit.
 *
 * Each live process is also recorded as an empty file named after its group id in the run's record
 * folder (see recordProcessesIn), removed when it exits. A process group of its own does not get
 * the terminal's Ctrl-C, and a worker that dies cannot stop what it started; the run's entry point
 * stops whatever is still recorded when it ends or is interrupted (stopRecordedProcesses).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, readdirSync, rmSync, type WriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { endedChildrenCpuMs, liveTreeCpuMs, timings } from './timings.ts';

let recordDir: string | undefined;

/** Record every process started from now on in `dir` (one folder per run, shared by its workers). */
export function recordProcessesIn(dir: string): void {
  mkdirSync(dir, { recursive: true });
  recordDir = dir;
}

/**
 * Signal every process group still recorded in `dir` and forget it; returns how many there were.
 * Synchronous, so that it can run in an exit or signal handler.
 */
export function stopRecordedProcesses(dir: string, signal: NodeJS.Signals = 'SIGTERM'): number {
  let stopped = 0;
  let entries: string[] = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const groupId = Number(entry);
    if (!Number.isInteger(groupId) || groupId <= 1) continue;
    try {
      process.kill(-groupId, signal);
      stopped += 1;
    } catch {
      // Already gone.
    }
    rmSync(join(dir, entry), { force: true });
  }
  return stopped;
}

export interface StartedProcessOptions {
  /** A shell command line (a user's `--gateway-cmd` or `--cli-cmd`), run by /bin/sh. */
  command: string;
  args?: readonly string[];
  env: Record<string, string>;
  cwd: string;
  /** Where stdout and stderr are copied, interleaved, for reports. */
  logFile: string;
  stdin?: 'pipe' | 'ignore';
  /** What the process is, for the run's timings (`--timings`): its lifetime and CPU are added there. */
  kind?: string;
}

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class StartedProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  /** stdout and stderr interleaved as they arrived. */
  transcript = '';
  readonly exited: Promise<ProcessExit>;
  private exit: ProcessExit | undefined;
  private readonly log: WriteStream;
  private readonly listeners = new Set<() => void>();
  /** The CPU of the process group when the harness stopped it (for the run's timings). */
  private cpuWhenStopped: number | undefined;

  constructor(options: StartedProcessOptions) {
    const startedAt = performance.now();
    this.log = createWriteStream(options.logFile, { flags: 'a' });
    const argv = (options.args ?? []).map(shellQuote).join(' ');
    this.child = spawn('/bin/sh', ['-c', argv ? `${options.command} ${argv}` : options.command], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: [options.stdin ?? 'ignore', 'pipe', 'pipe'],
    });
    const record = recordDir && this.child.pid !== undefined ? join(recordDir, String(this.child.pid)) : undefined;
    if (record) writeFileSync(record, '');
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => this.record('stdout', chunk));
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => this.record('stderr', chunk));
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error) => {
        this.record('stderr', `harness: could not start the process: ${error.message}\n`);
        this.exit = { code: null, signal: null };
        resolve(this.exit);
      });
      this.child.on('close', (code, signal) => {
        if (record) rmSync(record, { force: true });
        countEnded(options.kind ?? 'other started process', performance.now() - startedAt, this.cpuWhenStopped);
        this.exit = { code, signal };
        this.log.end();
        this.notify();
        resolve(this.exit);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get exitStatus(): ProcessExit | undefined {
    return this.exit;
  }

  writeStdin(text: string): void {
    this.child.stdin?.write(text);
  }

  /** Wait until `predicate` holds over the output so far, the process exits, or the deadline passes. */
  async waitForOutput(predicate: (process: StartedProcess) => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      if (this.exit) throw new Error(`${what}: the process exited (${describeExit(this.exit)}) first`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: not seen within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.listeners.add(done);
      });
    }
  }

  /** `signal` (SIGTERM unless the program stops faster on another) to the whole group, SIGKILL after `graceMs`. */
  async stop(graceMs = 3000, signal: NodeJS.Signals = 'SIGTERM'): Promise<ProcessExit> {
    if (this.exit) return this.exit;
    if (this.child.pid !== undefined) this.cpuWhenStopped ??= liveTreeCpuMs(this.child.pid);
    this.signalGroup(signal);
    const timer = setTimeout(() => this.signalGroup('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // Already gone.
    }
  }

  private record(stream: 'stdout' | 'stderr', chunk: string): void {
    if (stream === 'stdout') this.stdout += chunk;
    else this.stderr += chunk;
    this.transcript += chunk;
    this.log.write(chunk);
    this.notify();
  }

  private notify(): void {
    const waiting = [...this.listeners];
    this.listeners.clear();
    for (const wake of waiting) wake();
  }
}

/** CPU of ended children at the last read: the growth since then is the CPU of the process that just ended. */
let endedCpuSeen = endedChildrenCpuMs() ?? 0;

/**
 * Adds an ended process's lifetime and CPU to the run's timings. Its CPU is read as the growth of
 * this process's ended children's CPU (exact in total, and by kind unless two processes of
 * different kinds end in the same instant), or, for a process group the harness stopped, as what
 * the group had used when it was stopped (its shell cannot wait for a command stopped with it).
 */
function countEnded(kind: string, lifetimeMs: number, cpuWhenStopped: number | undefined): void {
  const ended = endedChildrenCpuMs() ?? endedCpuSeen;
  const waitedFor = Math.max(0, ended - endedCpuSeen);
  endedCpuSeen = ended;
  timings.add(`process: ${kind}`, lifetimeMs, Math.max(waitedFor, cpuWhenStopped ?? 0));
}

export function describeExit(exit: ProcessExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

/** Quote one argument for /bin/sh. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Where a run whose scratch folder is `workDir` records the processes it started. */
export function processRecordDir(workDir: string): string {
  return join(workDir, 'processes');
}
