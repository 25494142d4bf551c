/**
 * `cli-sso login`: the time from spawning the CLI to the verification code on its screen, for the
 * shipped command (`node dist/cli/main.js`, what `npx cli-sso` runs from the installed package) and
 * for a checkout's `node bin/cli-sso.mjs`, beside bare `node -e ''` (spawn to exit) as the floor no
 * Node.js command can beat. Each login is then finished over HTTP (the browser's part, as
 * common/browserless-login.ts does it) so the whole login, spawn to key stored, is shown as well.
 *
 * One reference gateway with the mock IdP behind it (`cli-sso-harness dev`, auto-login), started
 * once and pinned to the server core; its start is not counted. The CLI runs on the load core (this
 * process pins itself there, and a child inherits its core). Rounds rotate the three commands.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { completeLoginOverHttp } from '../../../common/browserless-login.ts';
import { type BenchContext, type BenchFigure, type BenchRow, median, ratioOf } from '../figure.ts';
import { pinTo, startProcess } from '../processes.ts';

const GOAL_MS = 200;
/**
 * The gateway refuses more than 30 starts a minute from one address (CLISSO-START-04), and every
 * CLI run here is a start from 127.0.0.1: the warm-up round and the measured rounds stay below it
 * (two starts a round), so no run is slowed by a 429 and its retry.
 */
const ROUNDS = { full: 11, quick: 2 } as const;
/** A run that has not shown its code and stored its key by then has failed. */
const RUN_DEADLINE_MS = 30_000;

const CODE_LINE = /Verification code: \S+/;
const LOGGED_IN_LINE = /Logged in to /;

interface Timing {
  /** Spawn to the verification code on stderr. */
  codeMs: number;
  /** CPU the CLI had used when its code showed (all its threads). */
  codeCpuMs: number;
  /** Spawn to "Logged in to ..." (printed once the key is stored). */
  keyMs: number;
}

export const figure: BenchFigure = {
  id: 'cli-start',
  title: '`cli-sso login`: spawn to the code on screen',
  async run(context: BenchContext): Promise<BenchRow[]> {
    const shipped = join(context.root, 'dist/cli/main.js');
    const gatewayMain = join(context.root, 'dist/scripts/dev/main.js');
    for (const file of [shipped, gatewayMain]) {
      if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
    }
    // The runner pins itself to the load core already; a driver run by hand is pinned here. Every
    // CLI and `node -e ''` spawned below inherits the core, with no taskset in the timed path.
    pinTo(process.pid, context.loadCpu);
    const loadBefore = loadavg()[0] as number;
    const scratch = await mkdtemp(join(tmpdir(), 'bench-cli-start-'));
    const { started: gateway, match } = await startProcess(
      process.execPath,
      [gatewayMain, 'dev', '--idp-port', '0', '--gateway-port', '0', '--auto-login', 'cli-test-user'],
      { cwd: scratch, cpu: context.serverCpu, ready: /reference gateway: (http:\/\/\S+)/ },
    );
    try {
      const baseUrl = match[1] as string;
      const env = cliEnv(scratch);
      let runs = 0;
      const login = (command: string[]) =>
        timeLogin(context.root, command, baseUrl, join(scratch, `token-${++runs}.json`), env);
      const commands = {
        shipped: ['dist/cli/main.js'],
        checkout: ['bin/cli-sso.mjs'],
      };
      // Not counted: the first start of each reads cold files, the checkout's first run after an
      // edit rebuilds its cached bundle (bin/command-bundle.mjs), and the first run of a bundle
      // writes its V8 code cache (bin/run-bundle.mjs). A cache already there is removed first: one
      // written by another command (`--help`) would hold little of what a login runs, and a user's
      // first command is a login.
      for (const file of readdirSync(join(context.root, 'dist/cli'))) {
        if (file.endsWith('.v8-code-cache')) rmSync(join(context.root, 'dist/cli', file), { force: true });
      }
      await login(commands.shipped);
      await login(commands.checkout);

      const shippedTimes: Timing[] = [];
      const checkoutTimes: Timing[] = [];
      const floorTimes: number[] = [];
      // NODE_EXTRA_CA_CERTS (set on some machines, this project's among them) makes Node 20 read
      // those certificates at every start, before any code of ours: the floor without it shows its share.
      const extraCaCerts = env['NODE_EXTRA_CA_CERTS'];
      const { NODE_EXTRA_CA_CERTS: _dropped, ...envWithoutCaCerts } = env;
      const floorWithoutCaCerts: number[] = [];
      const printerCpu: number[] = [];
      const rounds = context.quick ? ROUNDS.quick : ROUNDS.full;
      const steps: Array<() => Promise<void>> = [
        async () => void shippedTimes.push(await login(commands.shipped)),
        async () => void checkoutTimes.push(await login(commands.checkout)),
        async () => {
          floorTimes.push(await timeFloor(env));
          if (extraCaCerts) floorWithoutCaCerts.push(await timeFloor(envWithoutCaCerts));
          printerCpu.push(await cpuOfAPrintingNode(env));
        },
      ];
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < steps.length; i++) await (steps[(round + i) % steps.length] as () => Promise<void>)();
        context.log(`cli-start: round ${round + 1}/${rounds}`);
      }
      const loadAfter = loadavg()[0] as number;

      const floor = median(floorTimes);
      const shippedCode = median(shippedTimes.map((t) => t.codeMs));
      const checkoutCode = median(checkoutTimes.map((t) => t.codeMs));
      const shippedKey = median(shippedTimes.map((t) => t.keyMs));
      const checkoutKey = median(checkoutTimes.map((t) => t.keyMs));
      const conditions =
        `median of ${rounds} rounds (commands rotated, a warm-up round not counted), CLI on core ${context.loadCpu ?? 'any'}, ` +
        `gateway + mock IdP on core ${context.serverCpu ?? 'any'}; 1-min load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`;
      const spread = (times: number[]) => `range ${Math.min(...times).toFixed(0)}-${Math.max(...times).toFixed(0)} ms`;
      // CPU time barely moves with the load, where wall time on a busy machine does: what the CLI
      // itself costs, beside a bare node that prints one line.
      const cpu = (times: Timing[]) =>
        `${median(times.map((t) => t.codeCpuMs)).toFixed(0)} ms of CPU to the code (a bare node printing a line: ${median(printerCpu).toFixed(0)} ms)`;
      return [
        {
          what: 'shipped `node dist/cli/main.js login`: spawn to the code on screen',
          unit: 'ms',
          ours: shippedCode,
          peer: { name: "bare `node -e ''` (spawn to exit)", value: floor },
          ratio: ratioOf(shippedCode, floor, 'lower'),
          goal: `<= ${GOAL_MS} ms`,
          met: shippedCode <= GOAL_MS,
          detail: `${spread(shippedTimes.map((t) => t.codeMs))}; ${cpu(shippedTimes)}; ${conditions}`,
        },
        {
          what: 'checkout `node bin/cli-sso.mjs login`: spawn to the code on screen',
          unit: 'ms',
          ours: checkoutCode,
          peer: { name: "bare `node -e ''` (spawn to exit)", value: floor },
          ratio: ratioOf(checkoutCode, floor, 'lower'),
          detail: `${spread(checkoutTimes.map((t) => t.codeMs))}; ${cpu(checkoutTimes)}; ${conditions}`,
        },
        {
          what: "floor: bare `node -e ''`, spawn to exit",
          unit: 'ms',
          ours: floor,
          detail: `${spread(floorTimes)}${
            extraCaCerts
              ? `; NODE_EXTRA_CA_CERTS is set, which every start of Node 20 reads: ${median(floorWithoutCaCerts).toFixed(0)} ms without it`
              : ''
          }`,
        },
        {
          what: 'whole login, spawn to key stored (shipped command; the browser part over HTTP)',
          unit: 'ms',
          ours: shippedKey,
          detail: `${spread(shippedTimes.map((t) => t.keyMs))}; checkout: ${checkoutKey.toFixed(0)} ms`,
        },
      ];
    } finally {
      await gateway.stop();
      await rm(scratch, { recursive: true, force: true });
    }
  },
};

/** The CLI's environment: no stored login or gateway from the caller's shell, a HOME of its own. */
function cliEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home };
  for (const name of Object.keys(env)) {
    if (name.startsWith('LITELLM_') || name.startsWith('CLI_SSO_')) delete env[name];
  }
  return env;
}

/**
 * `node <command> login --classic --no-browser`, finished over HTTP as soon as the code shows: the
 * figure is the classic login's code on screen (the dev stack's gateway advertises the PKCE login,
 * which shows no code).
 */
function timeLogin(
  root: string,
  command: readonly string[],
  baseUrl: string,
  tokenFile: string,
  env: NodeJS.ProcessEnv,
): Promise<Timing> {
  return new Promise((resolve, reject) => {
    const spawnedAt = performance.now();
    const child = spawn(
      process.execPath,
      [...command, 'login', '--classic', '--no-browser', '--base-url', baseUrl, '--token-file', tokenFile],
      { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    let codeMs: number | undefined;
    let codeCpuMs = 0;
    let keyMs: number | undefined;
    let failure: unknown;
    const deadline = setTimeout(() => {
      failure = new Error(`no key within ${RUN_DEADLINE_MS} ms`);
      child.kill('SIGKILL');
    }, RUN_DEADLINE_MS);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const now = performance.now();
      stderr += chunk;
      if (codeMs === undefined && CODE_LINE.test(stderr)) {
        codeMs = now - spawnedAt;
        codeCpuMs = child.pid === undefined ? 0 : cpuMsOf(child.pid);
        const loginUrl = stderr.split('\n').find((line) => line.startsWith('http'));
        const userCode = /Verification code: (\S+)/.exec(stderr)?.[1];
        if (!loginUrl || !userCode) {
          failure = new Error('the CLI showed a code but no login URL');
          child.kill('SIGKILL');
          return;
        }
        completeLoginOverHttp({ loginUrl, userCode }).catch((error: unknown) => {
          failure = error;
          child.kill('SIGKILL');
        });
      }
      if (keyMs === undefined && LOGGED_IN_LINE.test(stderr)) keyMs = now - spawnedAt;
    });
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(deadline);
      if (failure === undefined && code === 0 && codeMs !== undefined && keyMs !== undefined) {
        resolve({ codeMs, codeCpuMs, keyMs });
        return;
      }
      const why = failure instanceof Error ? failure.message : `exit ${code ?? signal}`;
      reject(new Error(`node ${command.join(' ')} login: ${why}\n${stderr}`));
    });
  });
}

/** Bare `node -e ''`, spawn to exit: Node.js's own start and stop, the floor of any command. */
function timeFloor(env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const spawnedAt = performance.now();
    const child = spawn(process.execPath, ['-e', ''], { env, stdio: 'ignore' });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve(performance.now() - spawnedAt) : reject(new Error(`node -e '' exited ${code}`)),
    );
  });
}

/** CPU used by a bare node when the line it prints arrives: the floor of the CPU figures. */
function cpuOfAPrintingNode(env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['-e', "process.stderr.write('Verification code: FLOOR\\n'); setInterval(() => {}, 60_000);"],
      { env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let cpuMs: number | undefined;
    child.stderr.on('data', () => {
      if (cpuMs !== undefined || child.pid === undefined) return;
      cpuMs = cpuMsOf(child.pid);
      child.kill('SIGKILL');
    });
    child.once('error', reject);
    child.once('close', () =>
      cpuMs === undefined ? reject(new Error('the printing node printed nothing')) : resolve(cpuMs),
    );
  });
}

/**
 * CPU time `pid` has used so far, every thread included, in ms: from /proc/<pid>/task/<tid>/schedstat,
 * which counts nanoseconds (cpuSecondsOf in processes.ts reads /proc/<pid>/stat, in ticks of 10 ms:
 * too coarse for a start of a few tens of ms).
 */
function cpuMsOf(pid: number): number {
  let nanoseconds = 0;
  for (const thread of readdirSync(`/proc/${pid}/task`)) {
    try {
      nanoseconds += Number(readFileSync(`/proc/${pid}/task/${thread}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return nanoseconds / 1e6;
}
