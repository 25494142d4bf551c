/**
 * Where a run's time goes (`--timings`): each process of the run (the coordinating process and
 * every worker) adds up its phases here: how many times each happened, the wall time they took,
 * and for the processes the harness started, the CPU they used. A worker writes its totals to a
 * file when it ends; the coordinating process reads them back and prints one breakdown.
 *
 * Recording costs a clock read per phase and, when a started process ends, one read of
 * /proc/self/stat: it is always on, and only printed when asked.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface PhaseTotal {
  count: number;
  /** Wall time, summed over every time the phase happened (phases of one worker do not overlap much). */
  wallMs: number;
  /** CPU time, where it is known (processes the harness started, a whole process's own). */
  cpuMs: number;
}

export type PhaseTotals = Record<string, PhaseTotal>;

/** Clock ticks per second of /proc's CPU times: 100 on Linux for every architecture Node.js runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

export class Timings {
  private readonly phases = new Map<string, PhaseTotal>();

  add(phase: string, wallMs: number, cpuMs = 0): void {
    const total = this.phases.get(phase) ?? { count: 0, wallMs: 0, cpuMs: 0 };
    total.count += 1;
    total.wallMs += wallMs;
    total.cpuMs += cpuMs;
    this.phases.set(phase, total);
  }

  /** Adds CPU time to a phase without counting another occurrence (a process's CPU, known when it ends). */
  addCpu(phase: string, cpuMs: number): void {
    const total = this.phases.get(phase) ?? { count: 0, wallMs: 0, cpuMs: 0 };
    total.cpuMs += cpuMs;
    this.phases.set(phase, total);
  }

  /** Runs `work` and adds its wall time to `phase`, whether it succeeds or throws. */
  async time<T>(phase: string, work: () => Promise<T>): Promise<T> {
    const began = performance.now();
    try {
      return await work();
    } finally {
      this.add(phase, performance.now() - began);
    }
  }

  totals(): PhaseTotals {
    return Object.fromEntries([...this.phases].map(([name, total]) => [name, { ...total }]));
  }
}

/** The phase a process records when it has loaded Cucumber and the support code (since it started). */
export const WORKER_START_UP = 'worker start-up (node, Cucumber, the support code loaded)';

/** This process's timings. */
export const timings = new Timings();

/** Adds `from` into `into`, phase by phase. */
export function mergeTotals(into: PhaseTotals, from: PhaseTotals): PhaseTotals {
  for (const [name, total] of Object.entries(from)) {
    const sum = into[name] ?? { count: 0, wallMs: 0, cpuMs: 0 };
    into[name] = sum;
    sum.count += total.count;
    sum.wallMs += total.wallMs;
    sum.cpuMs += total.cpuMs;
  }
  return into;
}

/** This process's own CPU time so far, in ms. */
export function ownCpuMs(): number {
  const used = process.cpuUsage();
  return (used.user + used.system) / 1000;
}

/**
 * CPU time of this process's children that have ended and been waited for, in ms (cutime + cstime
 * of /proc/self/stat); undefined where there is no /proc. Read when a started process ends, the
 * growth since the last read is that process's CPU (and its children's: a shell's command).
 */
export function endedChildrenCpuMs(): number | undefined {
  const fields = statFields('self');
  return fields ? ((fields.childUser + fields.childSystem) * 1000) / CLOCK_TICKS_PER_SECOND : undefined;
}

/** CPU time of the live process `pid` and every process under it, ended ones included, in ms. */
export function processTreeCpuMs(pid: number): number | undefined {
  const children = new Map<number, number[]>();
  const cpu = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (!fields) continue;
    const id = Number(entry);
    cpu.set(id, fields.user + fields.system + fields.childUser + fields.childSystem);
    const siblings = children.get(fields.parent) ?? [];
    siblings.push(id);
    children.set(fields.parent, siblings);
  }
  if (!cpu.has(pid)) return undefined;
  let ticks = 0;
  const pending = [pid];
  while (pending.length > 0) {
    const id = pending.pop() as number;
    ticks += cpu.get(id) ?? 0;
    pending.push(...(children.get(id) ?? []));
  }
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/**
 * CPU time of the live process `pid` and the live processes under it (found through each thread's
 * /proc children list, without scanning /proc), ended ones they waited for included, in ms. Read
 * just before a process group is stopped: its processes then end together and the shell that
 * started them cannot wait for them, so their CPU would not reach this process's ended children.
 */
export function liveTreeCpuMs(pid: number): number | undefined {
  let ticks = 0;
  const pending = [pid];
  while (pending.length > 0) {
    const id = pending.pop() as number;
    const fields = statFields(String(id));
    if (!fields) continue;
    ticks += fields.user + fields.system + fields.childUser + fields.childSystem;
    let threads: string[] = [];
    try {
      threads = readdirSync(`/proc/${id}/task`);
    } catch {
      // ended meanwhile
    }
    for (const thread of threads) {
      try {
        const children = readFileSync(`/proc/${id}/task/${thread}/children`, 'utf8').trim();
        if (children) pending.push(...children.split(' ').map(Number));
      } catch {
        // ended meanwhile
      }
    }
  }
  return ticks === 0 && statFields(String(pid)) === undefined ? undefined : (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

interface StatFields {
  parent: number;
  user: number;
  system: number;
  childUser: number;
  childSystem: number;
}

function statFields(pid: string): StatFields | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name may hold spaces and parentheses: the fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const at = (n: number) => Number(fields[n - 3]);
  return { parent: at(4), user: at(14), system: at(15), childUser: at(16), childSystem: at(17) };
}

/** What one process that ran scenarios (a worker) adds to the run's timings. */
export interface WorkerTimings {
  pid: number;
  phases: PhaseTotals;
  /** Its own CPU (Cucumber, the harness, the mock IdP, Playwright's client), in ms. */
  ownCpuMs: number;
  /** CPU of every process it started and waited for (gateways, CLIs, Redis...), in ms. */
  endedChildrenCpuMs: number;
}

/** Where the workers of a run with scratch folder `workDir` leave their timings. */
export function workerTimingsDir(workDir: string): string {
  return join(workDir, 'timings');
}

/** Writes this process's timings into `dir`, one file per process. */
export async function writeWorkerTimings(dir: string): Promise<void> {
  const record: WorkerTimings = {
    pid: process.pid,
    phases: timings.totals(),
    ownCpuMs: ownCpuMs(),
    endedChildrenCpuMs: endedChildrenCpuMs() ?? 0,
  };
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, `worker-${process.pid}.json`), JSON.stringify(record));
}

/** Every worker's timings in `dir` (none when the folder is missing). */
export async function readWorkerTimings(dir: string): Promise<WorkerTimings[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const records: WorkerTimings[] = [];
  for (const name of names.filter((n) => /^worker-\d+\.json$/.test(n)).sort()) {
    records.push(JSON.parse(await readFile(join(dir, name), 'utf8')) as WorkerTimings);
  }
  return records;
}
