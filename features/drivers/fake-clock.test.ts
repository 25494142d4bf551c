/**
 * FakeClock with real processes of each kind, started as the harness starts gateways (through
 * /bin/sh with FakeClock.processEnv): a Python 3, a Node and a Java program, and a C program for the
 * calls the libfaketime fix repairs. Each runs while its clock moves 25 h forward and back to 0:
 * the wall clock it reads follows the offset, and its sleeps, timers and waits of 200 ms keep
 * lasting 200 ms of real time (no EINVAL, no early end, no stall, no busy wait), including a sleep
 * that spans the move. A Go program is not here: libfaketime cannot move its clock at all
 * (fake-clock.ts says why); clockOffsetSeenBy, tested against the Node program's HTTP server, is
 * how the harness notices such a target.
 *
 * Each program answers a line `probe` with one JSON line {wall, slept, cpu}: its wall clock, then
 * how long each of its waits of 200 ms took by its monotonic clock (the real one) and the CPU it
 * used meanwhile; and a line `span` with {sleeping} then, after a sleep of 800 ms, {spanned, wall}.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, type TestContext, test } from 'node:test';
import { promisify } from 'node:util';
import { type ProcessExit, StartedProcess, shellQuote } from './child-process.ts';
import { buildFaketimeFix } from './clock/faketime-fix.ts';
import { clockOffsetSeenBy, FakeClock, faketimePreload, settledClockOffsetSeenBy } from './fake-clock.ts';
import { findClockTools } from './system-packages.ts';

const run = promisify(execFile);

/** 25 h: past a day-long key lifetime, as the expiry scenarios move. */
const FORWARD_SECONDS = 25 * 60 * 60;
/** How far a wall clock read may be from the harness's clock plus the offset. */
const WALL_SLACK_MS = 3000;
/** A wait of 200 ms must take this long by the real clock: not cut short, not stalled. */
const WAIT_MIN_MS = 150;
const WAIT_MAX_MS = 2000;
/** CPU a wait of 200 ms may use: a busy wait (a timed wait ending at once, in a loop) uses 80-100. */
const WAIT_MAX_CPU_MS = 50;
const SPAN_MS = 800;

const PYTHON_PROBE = `
import asyncio, json, queue, sys, threading, time

def timed(wait):
    start, cpu = time.monotonic(), time.thread_time()
    wait()
    return round((time.monotonic() - start) * 1000), round((time.thread_time() - cpu) * 1000)

def queue_get():
    try:
        queue.Queue().get(timeout=0.2)
    except queue.Empty:
        pass

WAITS = {
    'time.sleep': lambda: time.sleep(0.2),
    'Event.wait': lambda: threading.Event().wait(0.2),
    'Queue.get': queue_get,
    'asyncio.sleep': lambda: asyncio.run(asyncio.sleep(0.2)),
}

def report(**fields):
    print(json.dumps(fields), flush=True)

for line in sys.stdin:
    if line.strip() == 'probe':
        wall = time.time() * 1000
        results = {name: timed(wait) for name, wait in WAITS.items()}
        report(wall=wall, slept={k: v[0] for k, v in results.items()}, cpu={k: v[1] for k, v in results.items()})
    elif line.strip() == 'span':
        report(sleeping=True)
        spanned, _ = timed(lambda: time.sleep(${SPAN_MS / 1000}))
        report(spanned=spanned, wall=time.time() * 1000)
`;

const NODE_PROBE = `
const http = require('node:http');
const readline = require('node:readline');
const report = (fields) => process.stdout.write(JSON.stringify(fields) + '\\n');
async function timed(wait) {
  const start = performance.now();
  const cpu = process.cpuUsage();
  await wait();
  const used = process.cpuUsage(cpu);
  return [Math.round(performance.now() - start), Math.round((used.user + used.system) / 1000)];
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const WAITS = {
  setTimeout: () => sleep(200),
  'Atomics.wait': () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200),
};
const server = http.createServer((request, response) => response.end('ok'));
server.listen(0, '127.0.0.1', () => report({ port: server.address().port }));
const lines = readline.createInterface({ input: process.stdin });
lines.on('line', async (command) => {
  if (command === 'probe') {
    const wall = Date.now();
    const slept = {};
    const cpu = {};
    for (const [name, wait] of Object.entries(WAITS)) [slept[name], cpu[name]] = await timed(wait);
    report({ wall, slept, cpu });
  } else if (command === 'span') {
    report({ sleeping: true });
    const [spanned] = await timed(() => sleep(${SPAN_MS}));
    report({ spanned, wall: Date.now() });
  }
});
lines.on('close', () => server.close());
`;

const JAVA_PROBE = `
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

public class Probe {
  interface Wait { void run() throws Exception; }
  static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  static long[] timed(Wait wait) throws Exception {
    long start = System.nanoTime(), cpu = THREADS.getCurrentThreadCpuTime();
    wait.run();
    return new long[] {(System.nanoTime() - start) / 1_000_000, (THREADS.getCurrentThreadCpuTime() - cpu) / 1_000_000};
  }

  public static void main(String[] args) throws Exception {
    ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    Object monitor = new Object();
    Map<String, Wait> waits = new LinkedHashMap<>();
    waits.put("Thread.sleep", () -> Thread.sleep(200));
    waits.put("Object.wait", () -> { synchronized (monitor) { monitor.wait(200); } });
    waits.put("LockSupport.parkNanos", () -> LockSupport.parkNanos(200_000_000L));
    waits.put("BlockingQueue.poll", () -> new LinkedBlockingQueue<String>().poll(200, TimeUnit.MILLISECONDS));
    waits.put("ScheduledExecutor", () -> scheduler.schedule(() -> null, 200, TimeUnit.MILLISECONDS).get());
    BufferedReader input = new BufferedReader(new InputStreamReader(System.in));
    for (String command; (command = input.readLine()) != null; ) {
      if (command.equals("probe")) {
        long wall = System.currentTimeMillis();
        StringBuilder slept = new StringBuilder(), cpu = new StringBuilder();
        for (Map.Entry<String, Wait> entry : waits.entrySet()) {
          long[] result = timed(entry.getValue());
          String separator = slept.length() == 0 ? "" : ",";
          slept.append(separator).append('"').append(entry.getKey()).append("\\":").append(result[0]);
          cpu.append(separator).append('"').append(entry.getKey()).append("\\":").append(result[1]);
        }
        System.out.println("{\\"wall\\":" + wall + ",\\"slept\\":{" + slept + "},\\"cpu\\":{" + cpu + "}}");
      } else if (command.equals("span")) {
        System.out.println("{\\"sleeping\\":true}");
        long[] result = timed(() -> Thread.sleep(${SPAN_MS}));
        System.out.println("{\\"spanned\\":" + result[0] + ",\\"wall\\":" + System.currentTimeMillis() + "}");
      }
    }
    scheduler.shutdown();
  }
}
`;

/** The calls the fix and FAKETIME_FORCE_MONOTONIC_FIX=0 repair, made directly; errors are reported. */
const C_PROBE = `
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static double ms(clockid_t clock) {
  struct timespec now;
  clock_gettime(clock, &now);
  return now.tv_sec * 1e3 + now.tv_nsec / 1e6;
}

static struct timespec monotonic_in(long milliseconds) {
  struct timespec at;
  clock_gettime(CLOCK_MONOTONIC, &at);
  at.tv_nsec += milliseconds * 1000000L;
  at.tv_sec += at.tv_nsec / 1000000000L;
  at.tv_nsec %= 1000000000L;
  return at;
}

static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond;
static int timer;

static int wait_named(int which) {
  struct timespec deadline = monotonic_in(200);
  if (which == 0) return clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
  if (which == 1) {
    struct itimerspec value = {{0, 0}, deadline};
    uint64_t expirations;
    if (timerfd_settime(timer, TFD_TIMER_ABSTIME, &value, NULL) != 0) return -1;
    return read(timer, &expirations, sizeof expirations) == sizeof expirations ? 0 : -2;
  }
  pthread_mutex_lock(&mutex);
  int result = pthread_cond_timedwait(&cond, &mutex, &deadline);
  pthread_mutex_unlock(&mutex);
  return result == ETIMEDOUT ? 0 : result;
}

int main(void) {
  static const char *names[] = {"clock_nanosleep", "timerfd", "pthread_cond_timedwait"};
  pthread_condattr_t attributes;
  pthread_condattr_init(&attributes);
  pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC);
  pthread_cond_init(&cond, &attributes);
  timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  char line[64];
  while (fgets(line, sizeof line, stdin)) {
    if (strncmp(line, "probe", 5) == 0) {
      double wall = ms(CLOCK_REALTIME), slept[3], cpu[3];
      int errors[3];
      for (int i = 0; i < 3; i++) {
        double start = ms(CLOCK_MONOTONIC), used = ms(CLOCK_THREAD_CPUTIME_ID);
        errors[i] = wait_named(i);
        slept[i] = ms(CLOCK_MONOTONIC) - start;
        cpu[i] = ms(CLOCK_THREAD_CPUTIME_ID) - used;
      }
      printf("{\\"wall\\":%.0f,\\"slept\\":{", wall);
      for (int i = 0; i < 3; i++) printf("%s\\"%s\\":%.0f", i ? "," : "", names[i], slept[i]);
      printf("},\\"cpu\\":{");
      for (int i = 0; i < 3; i++) printf("%s\\"%s\\":%.0f", i ? "," : "", names[i], cpu[i]);
      printf("},\\"errors\\":{");
      for (int i = 0; i < 3; i++) printf("%s\\"%s\\":%d", i ? "," : "", names[i], errors[i]);
      printf("}}\\n");
    } else if (strncmp(line, "span", 4) == 0) {
      printf("{\\"sleeping\\":true}\\n");
      fflush(stdout);
      double start = ms(CLOCK_MONOTONIC);
      struct timespec deadline = monotonic_in(${SPAN_MS});
      int error = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
      printf("{\\"spanned\\":%.0f,\\"wall\\":%.0f,\\"errors\\":{\\"clock_nanosleep\\":%d}}\\n", ms(CLOCK_MONOTONIC) - start, ms(CLOCK_REALTIME), error);
    }
    fflush(stdout);
  }
  return 0;
}
`;

async function outputOf(command: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await run(command, args, { timeout: 30_000 });
    return `${stdout}${stderr}`.trim();
  } catch {
    return undefined;
  }
}

const workDir = await mkdtemp(join(tmpdir(), 'fake-clock-'));
after(() => rm(workDir, { recursive: true, force: true }));
const tools = await findClockTools();
const fix = tools.cCompiler ? await buildFaketimeFix({ compiler: tools.cCompiler, cacheDir: workDir }) : undefined;
const preload = tools.faketimeLibrary ? faketimePreload(tools.faketimeLibrary, fix) : '';
const python = await outputOf('python3', ['-c', 'import sys; print(sys.executable)']);
const javac = await outputOf('javac', ['-version']);

const NO_FAKETIME = tools.faketimeLibrary ? undefined : 'libfaketime is not installed (Debian package faketime)';
const NO_FIX = fix ? undefined : 'no C compiler (Debian packages gcc, libc6-dev) to build the libfaketime fix';

interface Report {
  port?: number;
  wall?: number;
  slept?: Record<string, number>;
  cpu?: Record<string, number>;
  errors?: Record<string, number>;
  sleeping?: boolean;
  spanned?: number;
}

/** The JSON lines a probe writes, one at a time, waited for with a deadline. */
class Reports {
  private read = 0;

  constructor(
    private readonly child: StartedProcess,
    private readonly name: string,
  ) {}

  async next(what: string, timeoutMs = 20_000): Promise<Report> {
    const lines = () => this.child.stdout.split('\n').slice(0, -1);
    try {
      await this.child.waitForOutput(() => lines().length > this.read, timeoutMs, `${this.name}: ${what}`);
    } catch (error) {
      throw new Error(`${(error as Error).message}; its output:\n${this.child.transcript.slice(-3000)}`);
    }
    return JSON.parse(lines()[this.read++] ?? '') as Report;
  }
}

interface Probed {
  name: string;
  clock: FakeClock;
  child: StartedProcess;
  reports: Reports;
}

function assertNoErrors(p: Probed, when: string, report: Report): void {
  for (const [call, error] of Object.entries(report.errors ?? {})) {
    assert.equal(error, 0, `${p.name} ${when}: ${call} failed with error ${error}`);
  }
}

/** One round of 200 ms waits at the clock's present offset; returns its figures. */
async function probe(p: Probed, when: string): Promise<string> {
  const sent = Date.now();
  p.child.writeStdin('probe\n');
  const report = await p.reports.next(`its waits ${when}`);
  const received = Date.now();
  const { wall, slept, cpu } = report;
  assert.ok(wall !== undefined && slept && cpu, `${p.name} ${when}: unexpected answer ${JSON.stringify(report)}`);
  assertNoErrors(p, when, report);
  const offsetMs = p.clock.offset * 1000;
  assert.ok(
    wall - offsetMs >= sent - WALL_SLACK_MS && wall - offsetMs <= received + WALL_SLACK_MS,
    `${p.name} ${when}: its wall clock read ${new Date(wall).toISOString()}, ${Math.round((wall - sent) / 1000)} s from the harness's; the offset is ${p.clock.offset} s`,
  );
  for (const [wait, took] of Object.entries(slept)) {
    assert.ok(took >= WAIT_MIN_MS && took <= WAIT_MAX_MS, `${p.name} ${when}: ${wait} of 200 ms took ${took} ms`);
    const used = cpu[wait] ?? 0;
    assert.ok(used <= WAIT_MAX_CPU_MS, `${p.name} ${when}: ${wait} of 200 ms used ${used} ms of CPU (a busy wait)`);
  }
  // By the harness's own clock as well: the waits run one after another.
  const waits = Object.keys(slept).length;
  assert.ok(
    received - sent >= WAIT_MIN_MS * waits,
    `${p.name} ${when}: ${waits} waits answered in ${received - sent} ms`,
  );
  const offsetSeen = Math.round((wall - sent) / 1000);
  const figures = Object.entries(slept).map(([wait, took]) => `${wait} ${took} ms (CPU ${cpu[wait]} ms)`);
  return `${when}: wall clock ${offsetSeen} s from the harness's; ${figures.join(', ')}`;
}

/** A sleep of SPAN_MS during which the clock moves to `seconds`; returns its figures. */
async function moveDuringSleep(p: Probed, seconds: number): Promise<string> {
  p.child.writeStdin('span\n');
  assert.equal((await p.reports.next('its sleep across a move')).sleeping, true);
  await p.clock.setOffsetSeconds(seconds);
  const report = await p.reports.next(`the end of its sleep across the move to ${seconds} s`);
  const ended = Date.now();
  const when = `across the move to ${seconds} s`;
  assertNoErrors(p, when, report);
  const { spanned, wall } = report;
  assert.ok(spanned !== undefined && wall !== undefined, `${p.name}: unexpected answer ${JSON.stringify(report)}`);
  assert.ok(
    spanned >= SPAN_MS - 200 && spanned <= SPAN_MS + WAIT_MAX_MS,
    `${p.name}: a sleep of ${SPAN_MS} ms ${when} took ${spanned} ms`,
  );
  // Read as the sleep ended, the wall clock shows the new offset: the move happened during it.
  assert.ok(
    Math.abs(wall - seconds * 1000 - ended) <= WALL_SLACK_MS,
    `${p.name}: at the end of its sleep ${when}, its wall clock read ${new Date(wall).toISOString()}`,
  );
  return `a sleep of ${SPAN_MS} ms ${when} took ${spanned} ms`;
}

async function exitStatus(child: StartedProcess, timeoutMs: number): Promise<ProcessExit | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'still running'>((resolve) => {
    timer = setTimeout(() => resolve('still running'), timeoutMs);
  });
  const exit = await Promise.race([child.exited, late]);
  clearTimeout(timer);
  return exit;
}

/**
 * Starts `command` on a clock of its own, then: waits at +0, moves 25 h forward during a sleep,
 * waits, moves back to 0 during a sleep, waits; then closes its input and expects exit code 0.
 * `check` runs after each round of waits (the Node program's Date header).
 */
async function runAcrossMoves(
  t: TestContext,
  name: string,
  command: string,
  options: { started?: (reports: Reports) => Promise<void>; check?: (clock: FakeClock) => Promise<string> } = {},
): Promise<void> {
  const clock = await FakeClock.create(join(workDir, `${name}.faketime`));
  const child = new StartedProcess({
    command,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: workDir, ...clock.processEnv(preload) },
    cwd: workDir,
    logFile: join(workDir, `${name}.log`),
    stdin: 'pipe',
  });
  const p: Probed = { name, clock, child, reports: new Reports(child, name) };
  const figures: string[] = [];
  const round = async (when: string) => {
    figures.push(await probe(p, when));
    if (options.check) figures.push(await options.check(clock));
  };
  try {
    await options.started?.(p.reports);
    await round('at +0 s');
    figures.push(await moveDuringSleep(p, FORWARD_SECONDS));
    await round(`at +${FORWARD_SECONDS} s`);
    figures.push(await moveDuringSleep(p, 0));
    await round('back at +0 s');
    child.child.stdin?.end();
    const exit = await exitStatus(child, 15_000);
    assert.deepEqual(exit, { code: 0, signal: null }, `${name} did not end well; its output:\n${child.transcript}`);
  } finally {
    await child.stop();
    for (const figure of figures) t.diagnostic(`${name}: ${figure}`);
  }
}

test('a Python program: time.sleep, Event.wait, Queue.get and asyncio.sleep survive the moves', {
  skip: NO_FAKETIME ?? NO_FIX ?? (python ? false : 'python3 is not installed'),
  timeout: 90_000,
}, async (t) => {
  const script = join(workDir, 'probe.py');
  await writeFile(script, PYTHON_PROBE);
  await runAcrossMoves(t, 'python', `${shellQuote(python ?? 'python3')} -u ${shellQuote(script)}`);
});

test("a Node program: setTimeout and Atomics.wait survive the moves, and its HTTP server's Date header follows them", {
  skip: NO_FAKETIME ?? false,
  timeout: 90_000,
}, async (t) => {
  const script = join(workDir, 'probe.cjs');
  await writeFile(script, NODE_PROBE);
  let url = '';
  await runAcrossMoves(t, 'node', `${shellQuote(process.execPath)} ${shellQuote(script)}`, {
    started: async (reports) => {
      url = `http://127.0.0.1:${(await reports.next('its HTTP port')).port}`;
    },
    // Node's server reuses a Date header for up to a second: poll until it settles.
    check: async (clock) => {
      const seen = await settledClockOffsetSeenBy(url, clock.offset, { timeoutMs: 5000 });
      assert.ok(
        seen !== undefined && Math.abs(seen - clock.offset) <= 2,
        `its Date header is ${seen} s off; moved ${clock.offset}`,
      );
      return `clockOffsetSeenBy: ${seen} s (moved ${clock.offset} s)`;
    },
  });
});

test('a Java 17 program: Thread.sleep, Object.wait, parkNanos, a queue poll and a scheduled task survive the moves', {
  skip: NO_FAKETIME ?? (javac ? false : 'javac is not installed (a JDK, e.g. Debian package openjdk-17-jdk-headless)'),
  timeout: 120_000,
}, async (t) => {
  const classes = join(workDir, 'java');
  await mkdir(classes, { recursive: true });
  await writeFile(join(classes, 'Probe.java'), JAVA_PROBE);
  await run('javac', ['-d', classes, join(classes, 'Probe.java')], { timeout: 60_000 });
  t.diagnostic(`java: compiled with ${javac}`);
  // A small JVM: the first compiler tier only, one GC thread.
  const flags = '-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData';
  await runAcrossMoves(t, 'java', `java ${flags} -cp ${shellQuote(classes)} Probe`);
});

test('a C program: absolute monotonic clock_nanosleep and timerfd, and a monotonic condition variable survive the moves', {
  skip: NO_FAKETIME ?? NO_FIX ?? false,
  timeout: 90_000,
}, async (t) => {
  const source = join(workDir, 'probe.c');
  await writeFile(source, C_PROBE);
  const binary = join(workDir, 'probe-c');
  await run(tools.cCompiler ?? 'cc', ['-O2', '-o', binary, source, '-lpthread'], { timeout: 60_000 });
  await runAcrossMoves(t, 'c', shellQuote(binary));
});

test('clockOffsetSeenBy is undefined for an answer without a Date header, and 0 for an unmoved server', async () => {
  let sendDate = false;
  const server = createServer((_request, response) => {
    response.sendDate = sendDate;
    response.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    assert.equal(await clockOffsetSeenBy(url), undefined);
    sendDate = true;
    const seen = await clockOffsetSeenBy(url);
    assert.ok(seen !== undefined && Math.abs(seen) <= 1, `an unmoved server is ${seen} s off`);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
