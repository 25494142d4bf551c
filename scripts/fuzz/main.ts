/**
 * `npm run fuzz -- [--runs N] [--seed S] [--endpoints a,b] [--jobs J] [--report FILE]`
 *
 * Fuzzes every endpoint of the reference gateway and of the mock IdP (control API and users file
 * included) with N generated inputs each (default 10,000), against real servers in the worker
 * processes, and prints per endpoint the inputs run, the status histogram, the time and each
 * failure with its shrunk reproducer. Writes reports/fuzz.json. Exit code 0 when nothing failed,
 * 1 when anything did (a known finding still open included), 2 for a usage error.
 *
 *   --endpoints   names (gw:poll), groups (gateway, mock-idp, mock-idp-control, users-file) or
 *                 prefixes ending in * (gw:*, ctl:*); default all; `--list` prints them
 *   --jobs        worker processes, each with its own servers (default: the number of cores)
 *   --replay P    replay the input at fast-check path P of --seed S on one endpoint (printed with
 *                 every failure)
 *   --max-shrinks shrinking steps per failure (default 300, and at most 30 s)
 *   --max-seconds per endpoint: stop its inputs after this many seconds even if fewer than --runs
 *                 ran (marked "stopped at --max-seconds"), to fit a pass into the time there is
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Endpoint } from './endpoint.ts';
import type { EndpointResult, FailureRecord } from './engine.ts';
import {
  ALL_ENDPOINTS,
  endpointNamed,
  FuzzSession,
  type KnownResult,
  type SessionSummary,
  summaryLine,
} from './run.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Rough seconds per 1,000 inputs (measured), so the slowest endpoints start first. */
const COST: Record<string, number> = {
  'gw:callback': 9,
  'gw:ui-callback': 8,
  'gw:complete': 5,
  'ctl:users': 5,
  'ctl:claims': 5,
  'idp:token': 5,
  'idp:authorize-resume': 5,
};

type WorkerMessage =
  | { type: 'ready' }
  | { type: 'failed'; error: string }
  | { type: 'result'; result: EndpointResult; known: KnownResult[] }
  | { type: 'summary'; summary: SessionSummary }
  | { type: 'replay'; replay: unknown };

function usage(message: string): never {
  process.stderr.write(
    `fuzz: ${message}\nusage: npm run fuzz -- [--runs N] [--seed S] [--endpoints a,b] [--jobs J] [--max-seconds T] [--report FILE] [--list]\n`,
  );
  process.exit(2);
}

/** The usage in this file's header comment: what --help prints. */
const HELP = `usage: npm run fuzz -- [options]

Fuzzes every endpoint of the reference gateway and of the mock IdP (control API and users file
included) with N generated inputs each, against real servers, and prints per endpoint the inputs
run, the status histogram, the time and each failure with its shrunk reproducer. Writes
reports/fuzz.json. Exit code 0 when nothing failed, 1 when anything did, 2 for a usage error.

  --runs N          inputs per endpoint (default 10000)
  --seed S          fast-check seed (default: random, printed)
  --endpoints a,b   names (gw:poll), groups (gateway, mock-idp, mock-idp-control, users-file) or
                    prefixes ending in * (gw:*, ctl:*); default all
  --list            print the endpoints and stop
  --jobs J          worker processes, each with its own servers (default: the number of cores)
  --replay P        replay the input at fast-check path P of --seed S on one endpoint
  --max-shrinks N   shrinking steps per failure (default 300, and at most 30 s)
  --max-seconds T   per endpoint: stop its inputs after T seconds even if fewer than --runs ran
  --report FILE     the JSON report (default reports/fuzz.json)
  -h, --help        print this and stop
`;

function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        runs: { type: 'string', default: '10000' },
        seed: { type: 'string' },
        endpoints: { type: 'string' },
        jobs: { type: 'string', default: String(availableParallelism()) },
        report: { type: 'string', default: 'reports/fuzz.json' },
        replay: { type: 'string' },
        'max-shrinks': { type: 'string', default: '300' },
        'max-seconds': { type: 'string' },
        list: { type: 'boolean', default: false },
        child: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    });
  } catch (error) {
    // parseArgs names the option and the rule (unknown option, missing value); say it as a usage error.
    usage(error instanceof Error ? error.message : String(error));
  }
}

const { values } = parseCommandLine();
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

function positiveInt(name: string, raw: string | undefined, min: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) usage(`--${name} must be a whole number >= ${min} (got ${JSON.stringify(raw)})`);
  return n;
}

const runs = positiveInt('runs', values.runs, 1);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : positiveInt('seed', values.seed, 0);
const jobs = positiveInt('jobs', values.jobs, 1);
const maxShrinks = positiveInt('max-shrinks', values['max-shrinks'], 0);
const maxSeconds =
  values['max-seconds'] === undefined ? undefined : positiveInt('max-seconds', values['max-seconds'], 1);

function select(spec: string | undefined): Endpoint[] {
  if (spec === undefined || spec.trim() === '') return ALL_ENDPOINTS;
  const chosen = new Set<Endpoint>();
  for (const raw of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const matching = raw.endsWith('*')
      ? ALL_ENDPOINTS.filter((e) => e.name.startsWith(raw.slice(0, -1)))
      : ALL_ENDPOINTS.filter((e) => e.name === raw || e.group === raw);
    if (matching.length === 0) usage(`--endpoints: no endpoint or group named ${JSON.stringify(raw)} (see --list)`);
    for (const e of matching) chosen.add(e);
  }
  return [...chosen];
}

function listen(session: FuzzSession): void {
  process.on('uncaughtException', (error) => session.noteUncaught('uncaughtException', error));
  process.on('unhandledRejection', (error) => session.noteUncaught('unhandledRejection', error));
  process.on('warning', (warning) => session.noteWarning(warning));
}

// ---- a worker: one session, endpoints one by one from the parent --------------------------------

if (values.child) {
  const session = new FuzzSession({
    runs,
    seed,
    maxShrinks,
    ...(maxSeconds !== undefined ? { maxSeconds } : {}),
    progress: (line) => process.stderr.write(`${line}\n`),
  });
  listen(session);
  const send = (m: WorkerMessage) => new Promise<void>((done) => process.send!(m, () => done()));
  process.on('message', async (message: { type: 'run' | 'finish' | 'replay'; endpoint?: string; path?: string }) => {
    try {
      if (message.type === 'run') {
        const { result, known } = await session.run(endpointNamed(message.endpoint!)!);
        await send({ type: 'result', result, known });
      } else if (message.type === 'replay') {
        await send({
          type: 'replay',
          replay: await session.replay(endpointNamed(message.endpoint!)!, seed, message.path!),
        });
      } else {
        await send({ type: 'summary', summary: await session.finish() });
        process.exit(0);
      }
    } catch (error) {
      await send({ type: 'failed', error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  });
  // Messages sent before a listener exists are lost: the parent waits for this.
  await send({ type: 'ready' });
} else {
  await parent();
}

// ---- the parent: hand endpoints to workers, print, write the report -------------------------------

async function parent(): Promise<void> {
  if (values.list) {
    for (const e of ALL_ENDPOINTS) process.stdout.write(`${e.name.padEnd(24)} ${e.group.padEnd(17)} ${e.what}\n`);
    return;
  }
  const endpoints = select(values.endpoints);
  const started = performance.now();
  if (values.replay !== undefined) {
    if (endpoints.length !== 1) usage('--replay needs exactly one endpoint in --endpoints');
    const worker = await spawnWorker();
    const replay = await ask(worker, { type: 'replay', endpoint: endpoints[0]!.name, path: values.replay });
    await ask(worker, { type: 'finish' });
    process.stdout.write(`${JSON.stringify(replay, null, 2)}\n`);
    process.exitCode = (replay as { replay: { problems: string[] } }).replay.problems.length > 0 ? 1 : 0;
    return;
  }
  const queue = [...endpoints].sort((a, b) => (COST[b.name] ?? 2) - (COST[a.name] ?? 2));
  const workerCount = Math.min(jobs, queue.length);
  process.stdout.write(
    `fuzz: ${endpoints.length} endpoints x ${runs} inputs, seed ${seed}, ${workerCount} worker${workerCount === 1 ? '' : 's'}\n`,
  );
  const results: EndpointResult[] = [];
  const known: KnownResult[] = [];
  const summaries: SessionSummary[] = [];
  const fuzzerErrors: string[] = [];
  await Promise.all(
    Array.from({ length: workerCount }, async () => {
      const worker = await spawnWorker();
      try {
        for (let ep = queue.shift(); ep; ep = queue.shift()) {
          const reply = (await ask(worker, { type: 'run', endpoint: ep.name })) as Extract<
            WorkerMessage,
            { type: 'result' }
          >;
          results.push(reply.result);
          known.push(...reply.known);
          process.stdout.write(describe(reply.result, reply.known));
        }
        const reply = (await ask(worker, { type: 'finish' })) as Extract<WorkerMessage, { type: 'summary' }>;
        summaries.push(reply.summary);
      } catch (error) {
        // A bug of the fuzzer itself, not of a server: say so and stop this worker.
        fuzzerErrors.push(error instanceof Error ? error.message : String(error));
        process.stderr.write(`fuzz: ${fuzzerErrors.at(-1)}\n`);
        worker.kill();
      }
    }),
  );
  const wallSeconds = Math.round((performance.now() - started) / 100) / 10;
  const cpuSeconds = Math.round(cpuOf(results) * 10) / 10;
  const load = loadavg().map((l) => Math.round(l * 10) / 10);
  const ordered = endpoints.map((e) => results.find((r) => r.name === e.name)!).filter(Boolean);
  const health = summaries.flatMap((s) => s.health);
  const uncaught = summaries.flatMap((s) => s.uncaught);
  const failures = ordered.reduce((n, r) => n + r.failures.length, 0);
  const unhealthy = health.filter((h) => !h.ok);
  const openKnown = known.filter((k) => k.status === 'OPEN');

  process.stdout.write('\n== summary\n');
  for (const r of ordered) process.stdout.write(`${summaryLine(r)}\n`);
  for (const k of known) process.stdout.write(`known finding ${k.id} (${k.endpoint}): ${k.status} - ${k.title}\n`);
  for (const h of health) process.stdout.write(`health ${h.ok ? 'ok  ' : 'FAIL'} ${h.server}: ${h.detail}\n`);
  if (uncaught.length > 0) process.stdout.write(`uncaught errors in the workers: ${uncaught.length}\n`);
  const consoleLines = new Map<string, number>();
  for (const s of summaries)
    for (const [line, n] of Object.entries(s.console)) consoleLines.set(line, (consoleLines.get(line) ?? 0) + n);
  if (consoleLines.size > 0) {
    process.stdout.write('printed to the console by libraries in the servers (scanned for secrets, not failures):\n');
    for (const [line, n] of [...consoleLines].sort((a, b) => b[1] - a[1]).slice(0, 12))
      process.stdout.write(`  ${String(n).padStart(6)} x ${line}\n`);
  }
  const inputs = ordered.reduce((n, r) => n + r.inputs, 0);
  const requests = ordered.reduce((n, r) => n + r.requests, 0);
  const secrets = summaries.reduce((n, s) => n + s.secretsKnown, 0);
  const logLines = summaries.reduce((n, s) => n + Object.values(s.logLines).reduce((a, b) => a + b, 0), 0);
  const echoes = ordered.reduce((n, r) => n + r.echoes, 0);
  process.stdout.write(
    `fuzz: ${inputs} inputs (${requests} requests) on ${ordered.length} endpoints in ${wallSeconds} s ` +
      `(${cpuSeconds} CPU seconds in the workers; load average ${load.join(' ')} on ${availableParallelism()} cores); ` +
      `${secrets} secrets watched in ${logLines} log lines (${echoes} echoes of request text); ` +
      `${failures} failure kind${failures === 1 ? '' : 's'}, ${openKnown.length} known finding${openKnown.length === 1 ? '' : 's'} open, ` +
      `${unhealthy.length} health problem${unhealthy.length === 1 ? '' : 's'}; seed ${seed}\n`,
  );

  const reportPath = resolve(ROOT, values.report);
  await mkdir(dirname(reportPath), { recursive: true });
  await writeFile(
    reportPath,
    `${JSON.stringify(
      {
        tool: 'npm run fuzz',
        finished_at: new Date().toISOString(),
        seed,
        runs_per_endpoint: runs,
        jobs: workerCount,
        wall_seconds: wallSeconds,
        cpu_seconds: cpuSeconds,
        load_average_at_end: load,
        cores: availableParallelism(),
        totals: {
          endpoints: ordered.length,
          inputs,
          requests,
          failure_kinds: failures,
          echoes,
          secrets_watched: secrets,
          log_lines: logLines,
        },
        endpoints: ordered,
        known_findings: known,
        health,
        uncaught,
        console: Object.fromEntries(consoleLines),
        fuzzer_errors: fuzzerErrors,
        logs: summaries.map((s) => ({ lines: s.logLines, bytes: s.logBytes })),
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`report: ${values.report}\n`);
  if (fuzzerErrors.length > 0) {
    process.stdout.write(
      `fuzz: the fuzzer itself failed ${fuzzerErrors.length} time(s): the figures above are incomplete\n`,
    );
    process.exitCode = 2;
    return;
  }
  process.exitCode = failures > 0 || openKnown.length > 0 || unhealthy.length > 0 || uncaught.length > 0 ? 1 : 0;
}

function cpuOf(results: EndpointResult[]): number {
  return results.reduce((n, r) => n + r.cpuSeconds, 0);
}

async function spawnWorker(): Promise<ChildProcess> {
  const args = ['--child', '--runs', String(runs), '--seed', String(seed), '--max-shrinks', String(maxShrinks)];
  if (maxSeconds !== undefined) args.push('--max-seconds', String(maxSeconds));
  // Warnings go to the report (through the 'warning' event), not to the terminal.
  const worker = fork(fileURLToPath(import.meta.url), args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    // A larger young generation: the fuzzer makes many short-lived strings (fewer scavenges).
    execArgv: [...process.execArgv, '--no-warnings', '--max-semi-space-size=32'],
  });
  await reply(worker, 'starting');
  return worker;
}

function ask(worker: ChildProcess, message: unknown): Promise<WorkerMessage> {
  const answer = reply(worker, JSON.stringify(message));
  worker.send(message as object);
  return answer;
}

function reply(worker: ChildProcess, what: string): Promise<WorkerMessage> {
  return new Promise((resolvePromise, reject) => {
    const onMessage = (message: WorkerMessage) => {
      worker.off('exit', onExit);
      if (message.type === 'failed') reject(new Error(`a fuzz worker failed while ${what}: ${message.error}`));
      else resolvePromise(message);
    };
    const onExit = (code: number | null, signal: string | null) => {
      worker.off('message', onMessage);
      reject(new Error(`a fuzz worker stopped (exit ${code}, signal ${signal}) while ${what}`));
    };
    worker.once('message', onMessage);
    worker.once('exit', onExit);
  });
}

function describe(r: EndpointResult, known: KnownResult[]): string {
  const lines = [
    `\n${r.name}  ${r.what}`,
    `  ${r.inputs} inputs in ${r.seconds} s${r.stoppedAtTimeLimit ? ' (stopped at --max-seconds)' : ''} (${r.requests} requests; set-ups made ${r.fixtures.made}, reused ${r.fixtures.reused}); slowest answer ${r.slowestMs} ms; rss ${r.rssMb} MB`,
    `  outcomes: ${Object.entries(r.histogram)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}:${v}`)
      .join(' ')}`,
  ];
  if (r.echoes > 0) lines.push(`  secrets echoed from request text into logs (not counted as leaks): ${r.echoes}`);
  for (const k of known) lines.push(`  known finding ${k.id}: ${k.status} - ${k.title}`);
  if (r.failures.length === 0) lines.push('  failures: none');
  for (const [i, f] of r.failures.entries()) lines.push(...describeFailure(f, i + 1));
  return `${lines.join('\n')}\n`;
}

function describeFailure(f: FailureRecord, n: number): string[] {
  const lines = [
    `  FAILURE ${n}${f.known ? ` [known ${f.known}]` : ''}: ${f.count} input${f.count === 1 ? '' : 's'}, first at #${f.firstInput}: ${f.signature}`,
  ];
  for (const p of f.problems.slice(0, 3)) lines.push(`    - ${p.slice(0, 600)}`);
  const r = f.reproducer;
  if (r) {
    lines.push(`    shrunk input: ${JSON.stringify(r.recipe).slice(0, 1500)}`);
    if (r.request) lines.push(`    request: ${JSON.stringify(r.request).slice(0, 1500)}`);
    if (r.answer) lines.push(`    answer: ${r.answer.slice(0, 400)}`);
    lines.push(
      `    reproduces alone on fresh servers: ${r.reproducesAlone ? 'yes' : r.after !== undefined ? 'no, but after this earlier input (both on fresh servers):' : 'no (needs earlier inputs, none of the last 40 alone)'}`,
    );
    if (r.after !== undefined) lines.push(`      ${JSON.stringify(r.after).slice(0, 1500)}`);
    lines.push(`    replay: ${r.replay}`);
  }
  return lines;
}
