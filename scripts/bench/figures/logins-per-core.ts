/**
 * Logins per core: the reference gateway and the mock IdP, as shipped (dist/), both pinned to the
 * servers' core; the bench process plays the people and their CLIs on the other core (whole logins
 * over HTTP, scripts/load/client.ts, each login its own IdP user and its own loopback address).
 *
 * (a) steady throughput: N logins at a fixed concurrency, logins/s and the CPU each server spent per
 *     login (from /proc); goal >= 300 logins/s on one core.
 * (b) 1,000 logins fired at once (as `npm run load` does): ok / refused at start / lost / crossed /
 *     duplicated keys, p50 and p99 of the admitted logins; goal 0 lost, 0 crossed, 0 duplicated.
 *
 * Each part gets fresh servers (what the burst meets does not depend on the steady part before it)
 * and warms them up first. Flows are in the gateway's memory, users in SQLite: one gateway, nothing
 * else on the core. There is no peer: the goal is absolute.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../../common/http-server.ts';
import { Balancer, type Outcome, Person, runLogin } from '../../load/client.ts';
import {
  gatewayEnvironment,
  type Launch,
  numberedNames,
  percentile,
  personAddress,
  startGateway,
  startMockIdp,
  type Tally,
  tallyOutcomes,
  warmUp,
  writeUsersFile,
} from '../../load/servers.ts';
import type { BenchContext, BenchFigure, BenchRow } from '../figure.ts';
import { cpuSecondsOf, type StartedProcess, startProcess } from '../processes.ts';

const GOAL_LOGINS_PER_SECOND = 300;

interface Budget {
  /** Logins of the steady part, and how many are in flight at any time. */
  steady: number;
  concurrency: number;
  /** Logins fired at once. */
  burst: number;
  /** Logins done one at a time on fresh servers before each part, not counted. */
  warmup: number;
  /** A login without its key this long after it was fired is lost. */
  deadlineS: number;
}

const FULL: Budget = { steady: 2000, concurrency: 16, burst: 1000, warmup: 20, deadlineS: 120 };
const QUICK: Budget = { steady: 60, concurrency: 8, burst: 50, warmup: 3, deadlineS: 30 };

interface Servers {
  idp: StartedProcess;
  gateway: StartedProcess;
  balancer: Balancer;
  publicOrigin: string;
}

async function startServers(context: BenchContext, workDir: string, usersFile: string, name: string): Promise<Servers> {
  const baseEnv = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? workDir };
  const launch: Launch<StartedProcess> = async (_name, command, args, env, ready) => {
    const { started, match } = await startProcess(command, args, {
      env,
      cwd: context.root,
      cpu: context.serverCpu,
      ready,
    });
    return { process: started, match };
  };
  const idp = await startMockIdp(launch, { root: context.root, from: 'dist', usersFile, env: baseEnv });
  try {
    // The address people use; nothing listens there, the client's balancer sends it to the gateway.
    const publicOrigin = `http://127.0.0.1:${await freePort()}`;
    const env = gatewayEnvironment({
      baseEnv,
      idpUrl: idp.url,
      publicOrigin,
      masterKey: `sk-${randomBytes(32).toString('hex')}`,
      sqlitePath: join(workDir, `${name}.sqlite`),
    });
    const gateway = await startGateway(launch, { root: context.root, from: 'dist', name: 'gateway', env });
    return {
      idp: idp.process,
      gateway: gateway.process,
      balancer: new Balancer(publicOrigin, [gateway.url]),
      publicOrigin,
    };
  } catch (error) {
    await idp.process.stop();
    throw error;
  }
}

async function stopServers(servers: Servers): Promise<void> {
  await Promise.all([servers.gateway.stop(), servers.idp.stop()]);
}

/** One login by person `n` as `username`; a client-side failure is a lost login, with its reason. */
async function login(
  servers: Servers,
  n: number,
  username: string,
  options: { deadlineMs: number; retryRefused: boolean },
): Promise<Outcome> {
  const person = new Person(personAddress(n), servers.balancer);
  try {
    return await runLogin({ person, publicBaseUrl: servers.publicOrigin, username, ...options });
  } catch (error) {
    return {
      kind: 'lost',
      reason: `client: ${error instanceof Error ? error.message : String(error)}`,
      startToEndMs: 0,
    };
  } finally {
    person.close();
  }
}

/** CPU seconds of each process so far: the gateway, the mock IdP and this process (the load generator). */
function cpuNow(servers: Servers): { gateway: number; idp: number; client: number } {
  return {
    gateway: cpuSecondsOf(servers.gateway.pid),
    idp: cpuSecondsOf(servers.idp.pid),
    client: cpuSecondsOf(process.pid),
  };
}

function counts(tally: Tally): string {
  const refusedBy: Record<string, number> = {};
  for (const r of tally.refused) refusedBy[r.status] = (refusedBy[r.status] ?? 0) + 1;
  const refused = Object.entries(refusedBy)
    .map(([status, n]) => `${n} x ${status === '0' ? 'no answer' : status}`)
    .join(', ');
  return `ok ${tally.ok.length}, refused at start ${tally.refused.length}${refused ? ` (${refused})` : ''}, lost ${tally.lost.length}, crossed ${tally.crossed.length}, duplicated keys ${tally.duplicated}`;
}

function lostReasons(tally: Tally): string {
  const reasons = new Map<string, number>();
  for (const l of tally.lost) reasons.set(l.reason, (reasons.get(l.reason) ?? 0) + 1);
  return [...reasons].map(([reason, n]) => `lost ${n} x: ${reason}`).join('; ');
}

const round = (value: number, digits = 2) => Number(value.toFixed(digits));

async function steady(
  context: BenchContext,
  servers: Servers,
  budget: Budget,
  usernames: string[],
): Promise<BenchRow[]> {
  context.log(`steady: ${budget.steady} logins, ${budget.concurrency} at a time`);
  const before = cpuNow(servers);
  const startedMs = performance.now();
  const outcomes: Outcome[] = [];
  let next = 0;
  // Each worker takes the next login as soon as its last one has its key: a fixed concurrency.
  await Promise.all(
    Array.from({ length: budget.concurrency }, async () => {
      while (next < usernames.length) {
        const i = next++;
        const deadlineMs = performance.now() + budget.deadlineS * 1000;
        outcomes.push(await login(servers, i + 1, usernames[i] as string, { deadlineMs, retryRefused: true }));
      }
    }),
  );
  const wallS = (performance.now() - startedMs) / 1000;
  const after = cpuNow(servers);
  const tally = tallyOutcomes(outcomes);
  const ok = tally.ok.length;
  if (ok === 0) throw new Error(`steady: no login got its key (${counts(tally)}) ${lostReasons(tally)}`);
  const perLoginMs = (seconds: number) => (seconds * 1000) / ok;
  const gatewayMs = perLoginMs(after.gateway - before.gateway);
  const idpMs = perLoginMs(after.idp - before.idp);
  const clientMs = perLoginMs(after.client - before.client);
  const rate = ok / wallS;
  const serverBusy = (after.gateway - before.gateway + after.idp - before.idp) / wallS;
  const busyPercent = Math.round(serverBusy * 100);
  // Below ~90 % the servers had time to spare: the load generator (or the machine) set the rate.
  const busyNote =
    busyPercent >= 90
      ? `the servers kept their core ${busyPercent} % busy`
      : `the servers kept their core only ${busyPercent} % busy: the load generator or the machine limited the rate, not the servers`;
  context.log(
    `steady: ${round(rate, 1)} logins/s, gateway ${round(gatewayMs)} ms and IdP ${round(idpMs)} ms CPU per login`,
  );
  const where = `gateway and mock IdP (dist/) pinned to ${context.serverCpu === undefined ? 'no core' : `core ${context.serverCpu}`}`;
  return [
    {
      what: `steady logins, ${budget.concurrency} in flight`,
      unit: 'logins/s',
      ours: round(rate, 1),
      goal: `>= ${GOAL_LOGINS_PER_SECOND} logins/s on one core`,
      met: rate >= GOAL_LOGINS_PER_SECOND,
      detail: `${budget.steady} logins in ${round(wallS, 1)} s (${counts(tally)}), after ${budget.warmup} warm-up logins; ${where}; ${busyNote}; the load generator used ${round(clientMs)} ms CPU per login${tally.lost.length > 0 ? `; ${lostReasons(tally)}` : ''}`,
    },
    { what: 'gateway CPU per login (start to key)', unit: 'ms', ours: round(gatewayMs) },
    { what: 'mock IdP CPU per login', unit: 'ms', ours: round(idpMs) },
    {
      what: 'logins/s the servers’ CPU allows (1,000 / gateway + IdP ms per login)',
      unit: 'logins/s',
      ours: round(1000 / (gatewayMs + idpMs), 1),
    },
  ];
}

async function burst(
  context: BenchContext,
  servers: Servers,
  budget: Budget,
  usernames: string[],
): Promise<BenchRow[]> {
  context.log(`burst: ${budget.burst} logins fired at once`);
  const startedMs = performance.now();
  const deadlineMs = startedMs + budget.deadlineS * 1000;
  // As `npm run load` fires them: a refused start is not tried again (it is counted as refused).
  const outcomes = await Promise.all(
    usernames.map((username, i) => login(servers, i + 1, username, { deadlineMs, retryRefused: false })),
  );
  const wallS = (performance.now() - startedMs) / 1000;
  const tally = tallyOutcomes(outcomes);
  const failures = tally.lost.length + tally.crossed.length + tally.duplicated;
  const label = `${budget.burst.toLocaleString('en-US')} logins fired at once`;
  context.log(`burst: ${counts(tally)}`);
  return [
    {
      what: `${label}: lost + crossed + duplicated keys`,
      unit: '',
      ours: failures,
      goal: '0 lost, 0 crossed, 0 duplicated',
      met: failures === 0,
      detail: `${counts(tally)}; wall ${round(wallS, 1)} s, fresh servers after ${budget.warmup} warm-up logins; a refused start is not retried${tally.lost.length > 0 ? `; ${lostReasons(tally)}` : ''}`,
    },
    { what: `${label}: ok (admitted, key received)`, unit: 'logins', ours: tally.ok.length },
    { what: `${label}: refused at start (429/503)`, unit: 'logins', ours: tally.refused.length },
    {
      what: `${label}: p50 of the admitted, start to key`,
      unit: 'ms',
      ours: Math.round(percentile(tally.latencies, 50)),
    },
    {
      what: `${label}: p99 of the admitted, start to key`,
      unit: 'ms',
      ours: Math.round(percentile(tally.latencies, 99)),
    },
  ];
}

export const figure: BenchFigure = {
  id: 'logins-per-core',
  title: 'Logins per core: gateway + mock IdP on one core',
  async run(context) {
    const budget = context.quick ? QUICK : FULL;
    const workDir = await mkdtemp(join(tmpdir(), 'bench-logins-'));
    try {
      const warmupUsers = numberedNames('warmup', budget.warmup, 3);
      const steadyUsers = numberedNames('steady', budget.steady);
      const burstUsers = numberedNames('burst', budget.burst);
      const usersFile = join(workDir, 'users.json');
      writeUsersFile(usersFile, [...warmupUsers, ...steadyUsers, ...burstUsers]);

      const rows: BenchRow[] = [];
      for (const [part, users] of [
        [steady, steadyUsers],
        [burst, burstUsers],
      ] as const) {
        const servers = await startServers(context, workDir, usersFile, part.name);
        try {
          await warmUp(servers.balancer, servers.publicOrigin, warmupUsers);
          rows.push(...(await part(context, servers, budget, users)));
        } finally {
          await stopServers(servers);
        }
      }
      return rows;
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  },
};
