/**
 * The processes a figure measures: started with `node` (or any command) directly so the PID is the
 * server's own, pinned to a core with taskset where the machine has more than one, their CPU time
 * read from /proc, and stopped by that PID.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ; 100 on Linux). */
const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** The cores servers and load generators run on: 0 and 1 on a machine with two or more, none on one. */
export function benchCores(): { serverCpu: number | undefined; loadCpu: number | undefined } {
  const tasksetFound = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!tasksetFound || availableParallelism() < 2) return { serverCpu: undefined, loadCpu: undefined };
  return { serverCpu: 0, loadCpu: 1 };
}

/** Pin `pid` (and the threads it has now) to one core; a no-op when `cpu` is undefined. */
export function pinTo(pid: number, cpu: number | undefined): void {
  if (cpu === undefined) return;
  const pinned = spawnSync('taskset', ['--all-tasks', '--cpu-list', '--pid', String(cpu), String(pid)], {
    stdio: 'ignore',
  });
  if (pinned.status !== 0) throw new Error(`taskset could not pin process ${pid} to core ${cpu}`);
}

/** User + system CPU seconds `pid` has used so far (its threads included, not its children). */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5) (utime, stime) are 12 and 13 here, field 3 being index 0.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Resident memory of `pid` now, in MiB (VmRSS). */
export function residentMiBOf(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

export interface StartedProcess {
  pid: number;
  child: ChildProcess;
  /** What the process printed so far (stdout and stderr), for an error message. */
  output(): string;
  /** SIGTERM by PID, SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  cpu?: number | undefined;
  /** Resolves the start once the output matches; the match is handed back (e.g. a URL in a banner). */
  ready: RegExp;
  timeoutMs?: number;
}

/** Start `command args`, pin it, and wait until its output matches `ready` (or it exits, or the deadline). */
export function startProcess(
  command: string,
  args: readonly string[],
  options: StartOptions,
): Promise<{ started: StartedProcess; match: RegExpExecArray }> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) return Promise.reject(new Error(`${command} could not be started`));
  pinTo(pid, options.cpu);
  let output = '';
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const started: StartedProcess = {
    pid,
    child,
    output: () => output,
    async stop(graceMs = 3000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => child.exitCode === null && process.kill(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  return new Promise((resolveStart, rejectStart) => {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const deadline = setTimeout(() => {
      void started.stop();
      rejectStart(new Error(`${command} ${args.join(' ')}: not ready within ${timeoutMs} ms\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = options.ready.exec(output);
      if (!match) return;
      clearTimeout(deadline);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      // Keep reading so a chatty server never blocks on a full pipe.
      child.stdout?.resume();
      child.stderr?.resume();
      resolveStart({ started, match });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(deadline);
      rejectStart(new Error(`${command} ${args.join(' ')} exited (${code ?? signal}) before it was ready\n${output}`));
    });
  });
}
