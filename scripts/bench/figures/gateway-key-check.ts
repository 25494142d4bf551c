/**
 * The key check nearly free: the reference gateway's `GET /v1/models` with a real CLI key (got by a
 * real login over HTTP against the mock IdP) beside plain express 5 serving the same JSON body and a
 * bare node:http server serving it (the floor). Each server is its own process pinned to the server
 * core; autocannon runs here (the runner pins this process to the load core). Rounds are rotated
 * (gateway, express, node:http) so that a drift of the machine's load falls on all three alike.
 *
 * Also, as context for logins per core: the gateway's CPU per login (start to key over HTTP), from a
 * series of sequential logins through the load script's client.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMockIdp } from '../../../mock-idp/index.ts';
import { Balancer, Person, runLogin } from '../../load/client.ts';
import { type BenchFigure, type BenchRow, median, ratioOf } from '../figure.ts';
import { cpuSecondsOf, type StartedProcess, startProcess } from '../processes.ts';

/** The part of autocannon's programmatic API used here (it ships no type declarations). */
interface AutocannonResult {
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Seconds the run lasted. */
  duration: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  headers: Record<string, string>;
}) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const MODELS_PATH = '/v1/models';
/** Enough connections to keep one server core busy, few enough that autocannon keeps up on the other. */
const CONNECTIONS = 10;

/** A LiteLLM config with a few models, so the body is the size of a small real gateway's. */
const CONFIG_YAML = `model_list:
  - model_name: gpt-4o
    litellm_params: { model: openai/gpt-4o }
  - model_name: gpt-4o-mini
    litellm_params: { model: openai/gpt-4o-mini }
  - model_name: claude-sonnet
    litellm_params: { model: anthropic/claude-sonnet-4-5 }
  - model_name: llama-3
    litellm_params: { model: ollama/llama3 }
`;

/** Plain express 5 with the gateway's two answer settings (no ETag, no X-Powered-By): only the key check and the log differ. */
const EXPRESS_SERVER = `
const express = require('express');
const body = JSON.parse(process.env.BENCH_BODY);
const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.get('${MODELS_PATH}', (_req, res) => { res.json(body); });
const server = app.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + server.address().port));
`;

/** The floor: node:http answering the same bytes with no routing, no JSON encoding. */
const NODE_HTTP_SERVER = `
const http = require('node:http');
const text = process.env.BENCH_BODY;
const server = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
});
server.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + server.address().port));
`;

interface Target {
  name: string;
  process: StartedProcess;
  url: string;
  rates: number[];
  cpuMicrosPerRequest: number[];
}

export const figure: BenchFigure = {
  id: 'gateway-key-check',
  title: 'Gateway GET /v1/models with a CLI key, beside plain express 5 and node:http',
  async run(context) {
    const rounds = context.quick ? 1 : 5;
    const roundSeconds = context.quick ? 1 : 4;
    const warmupSeconds = context.quick ? 0.5 : 2;
    const loginCount = context.quick ? 5 : 200;
    const workDir = await mkdtemp(join(tmpdir(), 'bench-gateway-'));
    const idp = await startMockIdp({ port: 0 });
    const started: StartedProcess[] = [];
    try {
      const configFile = join(workDir, 'config.yaml');
      await writeFile(configFile, CONFIG_YAML);
      const shipped = join(context.root, 'dist', 'reference-proxy', 'main.js');
      const gatewayArgs = existsSync(shipped)
        ? [shipped]
        : ['--import', 'tsx', join(context.root, 'reference-proxy', 'main.ts')];
      if (!existsSync(shipped)) context.log('gateway-key-check: no dist/ (npm run build): the gateway runs under tsx');
      const gateway = await startProcess(process.execPath, [...gatewayArgs, '--port', '0', '--config', configFile], {
        cwd: workDir,
        cpu: context.serverCpu,
        env: {
          PATH: process.env['PATH'] ?? '',
          HOME: workDir,
          ...idp.gatewayEnv(),
          LITELLM_MASTER_KEY: `sk-${randomBytes(32).toString('hex')}`,
          EXPERIMENTAL_UI_LOGIN: 'true',
          REFERENCE_PROXY_SQLITE_PATH: ':memory:',
          // The shipped default: one log line per request is part of the cost measured.
          LOG_LEVEL: 'info',
        },
        ready: /"event":"listening","url":"(http:\/\/[^"]+)"/,
      });
      started.push(gateway.started);
      const gatewayUrl = gateway.match[1] as string;

      // ---- logins: the first gives the key; the series gives the gateway's CPU per login
      const balancer = new Balancer(gatewayUrl, [gatewayUrl]);
      const login = async (n: number): Promise<string> => {
        // Each login from its own loopback address, as people from their own machines (start limit per IP).
        const person = new Person(`127.10.${(n >> 8) & 255}.${n & 255}`, balancer);
        try {
          const outcome = await runLogin({
            person,
            publicBaseUrl: gatewayUrl,
            username: 'cli-test-user',
            deadlineMs: performance.now() + 20_000,
            retryRefused: false,
          });
          if (outcome.kind !== 'ok') throw new Error(`login ${n}: ${JSON.stringify(outcome)}`);
          return outcome.key;
        } finally {
          person.close();
        }
      };
      const key = await login(1);
      // Warm the login path (compiled code, SQLite statements) before it is measured.
      for (let n = 2; n <= (context.quick ? 2 : 6); n++) await login(n);
      const loginCpuBefore = cpuSecondsOf(gateway.started.pid);
      const loginsStartedMs = performance.now();
      for (let n = 0; n < loginCount; n++) await login(100 + n);
      const loginWallMs = performance.now() - loginsStartedMs;
      const loginCpuMs = ((cpuSecondsOf(gateway.started.pid) - loginCpuBefore) * 1000) / loginCount;

      const headers = { authorization: `Bearer ${key}` };
      const bodyAnswer = await fetch(`${gatewayUrl}${MODELS_PATH}`, { headers });
      const body = await bodyAnswer.text();
      if (bodyAnswer.status !== 200)
        throw new Error(`gateway ${MODELS_PATH} with the CLI key: ${bodyAnswer.status} ${body}`);

      const peerEnv = { PATH: process.env['PATH'] ?? '', BENCH_BODY: body };
      const peer = async (name: string, code: string): Promise<Target> => {
        const { started: p, match } = await startProcess(process.execPath, ['-e', code], {
          cwd: context.root,
          cpu: context.serverCpu,
          env: peerEnv,
          ready: /listening on (http:\/\/\S+)/,
        });
        started.push(p);
        return { name, process: p, url: `${match[1]}${MODELS_PATH}`, rates: [], cpuMicrosPerRequest: [] };
      };
      const targets: Target[] = [
        {
          name: 'gateway',
          process: gateway.started,
          url: `${gatewayUrl}${MODELS_PATH}`,
          rates: [],
          cpuMicrosPerRequest: [],
        },
        await peer('plain express 5', EXPRESS_SERVER),
        await peer('node:http', NODE_HTTP_SERVER),
      ];
      for (const target of targets) {
        const check = await fetch(target.url, { headers });
        if ((await check.text()) !== body) throw new Error(`${target.name} does not answer the gateway's body`);
      }

      const load = async (target: Target, seconds: number): Promise<AutocannonResult & { cpuSeconds: number }> => {
        const cpuBefore = cpuSecondsOf(target.process.pid);
        const result = await autocannon({ url: target.url, connections: CONNECTIONS, duration: seconds, headers });
        const cpuSeconds = cpuSecondsOf(target.process.pid) - cpuBefore;
        if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0) {
          throw new Error(
            `${target.name}: ${result.non2xx} non-2xx answers, ${result.errors} errors, ${result.timeouts} timeouts`,
          );
        }
        return { ...result, cpuSeconds };
      };
      for (const target of targets) await load(target, warmupSeconds);
      for (let round = 1; round <= rounds; round++) {
        for (const target of targets) {
          const result = await load(target, roundSeconds);
          target.rates.push(result['2xx'] / result.duration);
          target.cpuMicrosPerRequest.push((result.cpuSeconds * 1e6) / result['2xx']);
        }
        context.log(
          `gateway-key-check: round ${round}/${rounds}: ${targets.map((t) => `${t.name} ${Math.round(t.rates.at(-1) ?? 0)} req/s`).join(', ')}`,
        );
      }

      const [gw, express, floor] = targets as [Target, Target, Target];
      const rate = (t: Target) => median(t.rates);
      const cpu = (t: Target) => median(t.cpuMicrosPerRequest);
      const spread = (values: number[]) => `${Math.round(Math.min(...values))}-${Math.round(Math.max(...values))}`;
      const setup =
        `${rounds} rotated round(s) of ${roundSeconds} s, ${CONNECTIONS} connections, autocannon in the bench process; ` +
        `servers pinned to core ${context.serverCpu ?? 'any'}; ${gatewayArgs[0] === shipped ? 'dist/' : 'tsx'} gateway, LOG_LEVEL=info; ` +
        `load average ${loadavg()[0]?.toFixed(2)}`;
      // Each ratio is the median of the rounds' own ratios: a round and its peer's run back to back, so
      // a change in the machine's load between rounds cancels out of the ratio.
      const roundRatio = (
        ours: Target,
        peer: Target,
        of: 'rates' | 'cpuMicrosPerRequest',
        better: 'higher' | 'lower',
      ) => median(ours[of].map((value, i) => ratioOf(value, peer[of][i] as number, better)));
      const ratio = roundRatio(gw, express, 'rates', 'higher');
      const rows: BenchRow[] = [
        {
          what: 'gateway GET /v1/models with a CLI key',
          unit: 'req/s',
          ours: Math.round(rate(gw)),
          peer: { name: 'plain express 5, same JSON', value: Math.round(rate(express)) },
          ratio,
          goal: '>= 0.85x plain express 5',
          met: ratio >= 0.85,
          detail: `ratio: median of the rounds' ratios; rounds ${spread(gw.rates)} vs ${spread(express.rates)} req/s; ${setup}`,
        },
        {
          what: 'gateway GET /v1/models with a CLI key, against the floor',
          unit: 'req/s',
          ours: Math.round(rate(gw)),
          peer: { name: 'bare node:http, same bytes', value: Math.round(rate(floor)) },
          ratio: roundRatio(gw, floor, 'rates', 'higher'),
          detail: `floor rounds ${spread(floor.rates)} req/s`,
        },
        {
          what: 'gateway CPU per GET /v1/models with a CLI key',
          unit: 'µs CPU/req',
          ours: Math.round(cpu(gw)),
          peer: { name: 'plain express 5, same JSON', value: Math.round(cpu(express)) },
          ratio: roundRatio(gw, express, 'cpuMicrosPerRequest', 'lower'),
          detail: `node:http ${Math.round(cpu(floor))} µs; CPU of each server process from /proc over each round`,
        },
        {
          what: 'gateway CPU per login (start to key over HTTP)',
          unit: 'ms CPU/login',
          ours: Number(loginCpuMs.toFixed(2)),
          detail:
            `${loginCount} sequential logins through scripts/load/client.ts against the mock IdP in the bench process, ` +
            `${(loginWallMs / loginCount).toFixed(1)} ms each wall time; gateway CPU from /proc`,
        },
      ];
      return rows;
    } finally {
      await Promise.allSettled(started.map((p) => p.stop()));
      await idp.close();
      await rm(workDir, { recursive: true, force: true });
    }
  },
};
