/**
 * `npm run load -- --logins 1000 --topology single|replicas [--kill replica@5s,redis@8s]`: fires N
 * logins at once at one reference gateway, or at two replicas sharing Redis and PostgreSQL, each login
 * its own mock-IdP user, and prints ok / refused-at-start / lost / crossed / duplicated keys, p50/p99
 * of the admitted logins (start to key) and the peak memory of each process. Not a test: a
 * measurement, bounded (loopback only, at most 20,000 logins, a deadline) that exits 1 when a goal is
 * missed (docs/load.md).
 *
 * Every server is its own process, started with node or redis-server directly (its PID known) and
 * stopped by that PID; PostgreSQL is the conformance harness's throwaway cluster.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { freePort, waitForPort } from '../../common/http-server.ts';
import { PostgresServer } from '../../features/drivers/postgres-server.ts';
import { findPostgres } from '../../features/drivers/system-packages.ts';
import { PROXY_SETTINGS } from '../../reference-proxy/index.ts';
import { cpuSecondsOf } from '../bench/processes.ts';
import { Balancer, type Outcome, Person, runLogin } from './client.ts';
import {
  gatewayEnvironment,
  type Launch,
  numberedNames,
  percentile,
  personAddress,
  startGateway,
  startMockIdp,
  tallyOutcomes,
  warmUp,
  writeUsersFile,
} from './servers.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAX_LOGINS = 20_000;
/** The admission settings a run reports, with the defaults the gateway reads them with. */
const ADMISSION_SETTINGS = [
  PROXY_SETTINGS.maxLoginsInFlight,
  PROXY_SETTINGS.loginInFlightSeconds,
  PROXY_SETTINGS.maxEventLoopDelayMs,
  PROXY_SETTINGS.maxStartQueueMs,
  PROXY_SETTINGS.overloadRetryAfterSeconds,
];

interface KillEvent {
  what: 'replica' | 'redis';
  atMs: number;
}

interface Options {
  logins: number;
  topology: 'single' | 'replicas';
  store: 'redis' | 'memory';
  kill: KillEvent[];
  retryRefused: boolean;
  deadline: number;
  gatewayEnv: string[];
  report: string;
  p99GoalMs: number;
  warmup: number;
  keep: boolean;
}

function parseLogins(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LOGINS) {
    throw new InvalidArgumentError(`must be a whole number from 1 to ${MAX_LOGINS}`);
  }
  return n;
}

function parseKill(value: string): KillEvent[] {
  return value.split(',').map((entry) => {
    const match = /^(replica|redis)@(\d+(?:\.\d+)?)(ms|s)$/.exec(entry.trim());
    if (!match) throw new InvalidArgumentError(`"${entry}" must look like replica@5s or redis@8s`);
    const amount = Number(match[2]);
    return { what: match[1] as KillEvent['what'], atMs: match[3] === 's' ? amount * 1000 : amount };
  });
}

function parseWarmup(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 100) throw new InvalidArgumentError('must be a whole number from 0 to 100');
  return n;
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number >= 0');
  return n;
}

const program = new Command()
  .name('load')
  .description('fire N concurrent logins at one gateway or two replicas; print what happened to each (docs/load.md)')
  .option('--logins <n>', `logins fired at once, 1..${MAX_LOGINS}`, parseLogins, 1000)
  .option('--topology <t>', 'single (one gateway) or replicas (two, sharing Redis and PostgreSQL)', 'single')
  .option('--store <s>', 'single topology: redis (default) or memory for the flows', 'redis')
  .option('--kill <events>', 'e.g. replica@5s,redis@8s: SIGKILL a replica (left dead), or Redis (restarted)', parseKill)
  .option('--retry-refused', 'a refused start is tried again after its Retry-After (until the deadline)', false)
  .option('--deadline <seconds>', 'a login without its key by then is lost', parsePositive, 120)
  .option('--gateway-env <NAME=VALUE>', 'an extra variable for every gateway (repeatable)', collect, [])
  .option('--report <file>', 'where the JSON report goes', 'reports/load.json')
  .option('--keep', 'keep the work folder (every process log) and print where it is', false)
  .option(
    '--warmup <n>',
    'logins done one by one before the burst, not counted (a gateway that has been running)',
    parseWarmup,
    20,
  )
  .option('--p99-goal-ms <ms>', 'goal for the p99 of admitted logins; 0 = none', parsePositive, 2000)
  .showHelpAfterError();

function collect(value: string, previous: string[]): string[] {
  if (!/^[A-Z][A-Z0-9_]*=/.test(value)) throw new InvalidArgumentError('must be NAME=VALUE');
  return [...previous, value];
}

interface Managed {
  name: string;
  child: ChildProcess;
  pid: number;
  peakRssKb: number;
  cpuSeconds: number;
  logFile: string;
}

const running = new Set<Managed>();
let postgresRef: PostgresServer | undefined;

function vmHwmKb(pid: number): number {
  try {
    const match = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** User + system CPU seconds of a process so far; 0 once it has gone (its last reading is kept). */
function cpuSeconds(pid: number): number {
  try {
    return cpuSecondsOf(pid);
  } catch {
    return 0;
  }
}

function notePeak(p: Managed): void {
  p.peakRssKb = Math.max(p.peakRssKb, vmHwmKb(p.pid));
  p.cpuSeconds = Math.max(p.cpuSeconds, cpuSeconds(p.pid));
}

function start(name: string, command: string, args: string[], env: Record<string, string>, dir: string): Managed {
  const logFile = join(dir, `${name}.log`);
  const out = openSync(logFile, 'a');
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', out] });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${command}`);
  const managed: Managed = { name, child, pid: child.pid, peakRssKb: 0, cpuSeconds: 0, logFile };
  running.add(managed);
  child.once('exit', () => running.delete(managed));
  return managed;
}

async function stop(p: Managed, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  notePeak(p);
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((resolveExit) => p.child.once('exit', resolveExit));
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** Resolves with the first stdout match, or rejects when the process exits or the deadline passes. */
function waitForLine(p: Managed, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolveLine, reject) => {
    let seen = '';
    const timer = setTimeout(
      () => reject(new Error(`${p.name}: not ready in ${timeoutMs} ms (log: ${p.logFile})`)),
      timeoutMs,
    );
    p.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      seen += chunk;
      const match = pattern.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolveLine(match);
      }
    });
    p.child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${p.name}: exited (${code ?? signal}) before it was ready (log: ${p.logFile})`));
    });
  });
}

/** Redis with the persistence under which pending logins survive a restart (docs/load.md). */
class Redis {
  process: Managed | undefined;
  readonly url: string;
  readonly peaks: number[] = [];
  constructor(
    private readonly port: number,
    private readonly dir: string,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
  }
  async start(): Promise<void> {
    const args = ['--bind', '127.0.0.1', '--port', String(this.port), '--dir', this.dir];
    args.push('--save', '', '--appendonly', 'yes', '--appendfsync', 'always');
    this.process = start('redis', 'redis-server', args, { PATH: process.env['PATH'] ?? '' }, this.dir);
    await waitForPort(this.port, 10_000);
  }
  async kill(): Promise<void> {
    if (this.process) {
      await stop(this.process, 'SIGKILL');
      this.peaks.push(this.process.peakRssKb);
    }
  }
}

function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      found.push(c);
      walk(c);
    }
  };
  walk(pid);
  return found;
}

async function main(): Promise<number> {
  program.parse(process.argv);
  const raw = program.opts<Omit<Options, 'kill'> & { kill?: KillEvent[] }>();
  const options: Options = { ...raw, kill: raw.kill ?? [] };
  if (options.topology !== 'single' && options.topology !== 'replicas') {
    program.error('--topology must be single or replicas');
  }
  if (options.store !== 'redis' && options.store !== 'memory') program.error('--store must be redis or memory');
  const useRedis = options.topology === 'replicas' || options.store === 'redis';
  if (options.kill.some((k) => k.what === 'replica') && options.topology !== 'replicas') {
    program.error('--kill replica@... needs --topology replicas');
  }
  if (options.kill.some((k) => k.what === 'redis') && !useRedis) program.error('--kill redis@... needs Redis');

  const workDir = await mkdtemp(join(tmpdir(), 'cli-sso-load-'));
  // PostgreSQL runs as its own user (root may not run it): it must reach its folder inside this one.
  await chmod(workDir, 0o755);
  const loadBefore = loadavg();
  const usernames = numberedNames('load', options.logins);
  const warmupUsers = numberedNames('warmup', options.warmup, 3);
  const usersFile = join(workDir, 'users.json');
  writeUsersFile(usersFile, [...warmupUsers, ...usernames]);
  const baseEnv = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? workDir };
  let postgres: PostgresServer | undefined;
  let redis: Redis | undefined;
  const gateways: Managed[] = [];
  const memory: Record<string, number> = {};
  // Every server runs from the TypeScript (tsx), its log in the work folder.
  const launch: Launch<Managed> = async (name, command, args, env, ready) => {
    const started = start(name, command, args, env, workDir);
    return { process: started, match: await waitForLine(started, ready, 30_000) };
  };
  try {
    const { process: idp, url: idpUrl } = await startMockIdp(launch, {
      root: ROOT,
      from: 'source',
      usersFile,
      env: baseEnv,
    });
    if (useRedis) {
      redis = new Redis(await freePort(), workDir);
      await redis.start();
    }
    if (options.topology === 'replicas') {
      const tools = await findPostgres(process.getuid?.() === 0);
      if (!tools) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
      postgres = await PostgresServer.start(tools, workDir, baseEnv);
      postgresRef = postgres;
    }
    // The public address the replicas share (the redirect URI): nothing listens there; the client's
    // balancer sends each request to a replica, as a load balancer would.
    const publicOrigin = `http://127.0.0.1:${await freePort()}`;
    const gatewayEnv = gatewayEnvironment({
      baseEnv,
      idpUrl,
      publicOrigin,
      masterKey: `sk-${randomBytes(32).toString('hex')}`,
      redisUrl: redis?.url,
      databaseUrl: postgres?.url,
      sqlitePath: join(workDir, 'users.sqlite'),
      extra: Object.fromEntries(
        options.gatewayEnv.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      ),
    });
    const replicaCount = options.topology === 'replicas' ? 2 : 1;
    const backends: string[] = [];
    for (let i = 0; i < replicaCount; i++) {
      const name = replicaCount === 1 ? 'gateway' : `replica-${i + 1}`;
      const gateway = await startGateway(launch, { root: ROOT, from: 'source', name, env: gatewayEnv });
      gateways.push(gateway.process);
      backends.push(gateway.url);
    }
    const balancer = new Balancer(publicOrigin, backends);
    const settings = Object.fromEntries(
      ADMISSION_SETTINGS.map((v) => [
        v.variable,
        gatewayEnv[v.variable] ?? `${v.shownDefault.replaceAll('`', '')} (default)`,
      ]),
    );

    // ---- warm-up: a gateway that has been running (code compiled, connections open), one login at a time
    await warmUp(balancer, publicOrigin, warmupUsers);

    // ---- the burst
    for (const p of running) notePeak(p);
    const cpuBefore = new Map([...running].map((p) => [p.name, p.cpuSeconds]));
    const clientCpuBefore = cpuSeconds(process.pid);
    const t0 = performance.now();
    const deadlineMs = t0 + options.deadline * 1000;
    // Bounded whatever happens: the whole run ends a minute after the logins' deadline.
    setTimeout(
      () => {
        console.error('load: the run outlived its deadline; stopping every process');
        stopAll('SIGTERM');
      },
      options.deadline * 1000 + 60_000,
    ).unref();
    const events: string[] = [];
    const timers = options.kill.map((event) =>
      setTimeout(async () => {
        const at = ((performance.now() - t0) / 1000).toFixed(1);
        if (event.what === 'replica') {
          const victim = gateways[gateways.length - 1] as Managed;
          await stop(victim, 'SIGKILL');
          events.push(`${at} s: SIGKILL ${victim.name} (pid ${victim.pid}), left dead`);
        } else if (redis) {
          const before = performance.now();
          await redis.kill();
          await redis.start();
          events.push(
            `${at} s: SIGKILL redis, restarted on the same port and data dir (down ${Math.round(performance.now() - before)} ms)`,
          );
        }
      }, event.atMs),
    );
    let admitted = 0;
    let peakAdmittedInFlight = 0;
    let settled = 0;
    const memoryTimer = setInterval(() => {
      for (const p of running) notePeak(p);
    }, 500);
    const outcomes = await Promise.all(
      usernames.map(async (username, i) => {
        const person = new Person(personAddress(i + 1), balancer);
        let counted = false;
        try {
          return await runLogin({
            person,
            publicBaseUrl: publicOrigin,
            username,
            deadlineMs,
            retryRefused: options.retryRefused,
            onStarted: () => {
              counted = true;
              admitted++;
              peakAdmittedInFlight = Math.max(peakAdmittedInFlight, admitted - settled);
            },
          });
        } catch (error) {
          return { kind: 'lost', reason: `client: ${String(error)}`, startToEndMs: 0 } as Outcome;
        } finally {
          if (counted) settled++;
          person.close();
        }
      }),
    );
    const wallMs = performance.now() - t0;
    clearInterval(memoryTimer);
    for (const timer of timers) clearTimeout(timer);

    // ---- what happened
    const { ok, refused, lost, crossed, duplicated, latencies } = tallyOutcomes(outcomes);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    const stepMedians = Object.fromEntries(
      (['start', 'browser', 'complete', 'poll'] as const).map((step) => [
        step,
        Math.round(
          percentile(
            ok.map((o) => o.steps[step]).sort((a, b) => a - b),
            50,
          ),
        ),
      ]),
    );
    const refusedByStatus: Record<string, number> = {};
    for (const r of refused) refusedByStatus[String(r.status)] = (refusedByStatus[String(r.status)] ?? 0) + 1;
    const lostReasons: Record<string, number> = {};
    for (const l of lost) lostReasons[l.reason] = (lostReasons[l.reason] ?? 0) + 1;

    for (const p of running) notePeak(p);
    const cpu: Record<string, number> = { 'load client': cpuSeconds(process.pid) - clientCpuBefore };
    for (const p of [idp, ...gateways, ...(redis?.process ? [redis.process] : [])]) {
      cpu[p.name] = p.cpuSeconds - (cpuBefore.get(p.name) ?? 0);
    }
    memory['load client'] = vmHwmKb(process.pid);
    memory['mock-idp'] = idp.peakRssKb;
    for (const g of gateways) memory[g.name] = g.peakRssKb;
    if (redis) {
      if (redis.process) notePeak(redis.process);
      memory['redis'] = Math.max(...redis.peaks, redis.process?.peakRssKb ?? 0);
    }
    if (postgres) {
      const pids = descendants(process.pid).filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres';
        } catch {
          return false;
        }
      });
      memory['postgres (largest process)'] = Math.max(0, ...pids.map(vmHwmKb));
    }
    const loadAfter = loadavg();
    const goals = {
      lost: lost.length === 0,
      crossed: crossed.length === 0,
      duplicated: duplicated === 0,
      p99: options.p99GoalMs === 0 || ok.length === 0 || p99 <= options.p99GoalMs,
    };
    const report = {
      command: `npm run load -- ${process.argv.slice(2).join(' ')}`,
      topology: options.topology,
      store: useRedis ? (postgres ? 'redis + postgres' : 'redis + sqlite') : 'memory + sqlite',
      logins: options.logins,
      retry_refused: options.retryRefused,
      ok: ok.length,
      refused_at_start: refused.length,
      refused_by_status: refusedByStatus,
      lost: lost.length,
      lost_reasons: lostReasons,
      crossed: crossed.length,
      duplicated,
      admitted,
      peak_admitted_in_flight: peakAdmittedInFlight,
      p50_ms: Math.round(p50),
      p99_ms: Math.round(p99),
      max_ms: Math.round(latencies.at(-1) ?? 0),
      step_p50_ms: stepMedians,
      wall_s: Number((wallMs / 1000).toFixed(1)),
      browser_retries: ok.reduce((sum, o) => sum + o.browserAttempts - 1, 0),
      poll_retries: ok.reduce((sum, o) => sum + o.pollRetries, 0),
      peak_rss_mb: Object.fromEntries(Object.entries(memory).map(([k, v]) => [k, Number((v / 1024).toFixed(0))])),
      cpu_seconds_during_burst: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, Number(v.toFixed(1))])),
      settings,
      events,
      load_average: {
        before: loadBefore.map((l) => Number(l.toFixed(2))),
        after: loadAfter.map((l) => Number(l.toFixed(2))),
      },
      goals,
    };
    mkdirSync(dirname(resolve(ROOT, options.report)), { recursive: true });
    writeFileSync(resolve(ROOT, options.report), `${JSON.stringify(report, null, 2)}\n`);
    printTable(report);
    const missed = Object.entries(goals)
      .filter(([, met]) => !met)
      .map(([goal]) => goal);
    console.log(missed.length === 0 ? 'load: every goal met' : `load: goal missed: ${missed.join(', ')}`);
    return missed.length === 0 ? 0 : 1;
  } finally {
    for (const p of [...running]) await stop(p);
    await postgres?.stop();
    if (options.keep) console.log(`load: logs kept in ${workDir}`);
    else await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function printTable(r: Record<string, unknown>): void {
  const rows: [string, unknown][] = [
    ['topology', `${r['topology']} (${r['store']})`],
    ['logins fired at once', r['logins']],
    ['ok', r['ok']],
    ['refused at start', `${r['refused_at_start']} ${JSON.stringify(r['refused_by_status'])}`],
    ['lost', r['lost']],
    ['crossed', r['crossed']],
    ['duplicated keys', r['duplicated']],
    ['peak admitted in flight', r['peak_admitted_in_flight']],
    ['p50 / p99 / max (admitted, start to key)', `${r['p50_ms']} / ${r['p99_ms']} / ${r['max_ms']} ms`],
    ['p50 per step (start / browser / code / poll)', `${Object.values(r['step_p50_ms'] as object).join(' / ')} ms`],
    ['wall time', `${r['wall_s']} s`],
    ['retries (browser / poll)', `${r['browser_retries']} / ${r['poll_retries']}`],
    ...Object.entries(r['peak_rss_mb'] as Record<string, number>).map(([name, mb]): [string, unknown] => [
      `peak RSS ${name}`,
      `${mb} MB`,
    ]),
    ['CPU seconds during the burst', JSON.stringify(r['cpu_seconds_during_burst'])],
    ...Object.entries(r['settings'] as Record<string, string>),
    ...(r['events'] as string[]).map((e): [string, unknown] => ['event', e]),
    ['load average before / after', JSON.stringify(r['load_average'])],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  const reasons = r['lost_reasons'] as Record<string, number>;
  for (const [reason, count] of Object.entries(reasons)) console.log(`lost ${count}x: ${reason}`);
}

const stopAll = (signal: NodeJS.Signals) => {
  for (const p of running) p.child.kill('SIGKILL');
  const code = signal === 'SIGINT' ? 130 : 143;
  (postgresRef?.stop() ?? Promise.resolve()).finally(() => process.exit(code));
};
process.on('SIGINT', () => stopAll('SIGINT'));
process.on('SIGTERM', () => stopAll('SIGTERM'));

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`load: ${error instanceof Error ? error.message : String(error)}`);
    for (const p of running) p.child.kill('SIGKILL');
    process.exit(2);
  },
);
