/**
 * The mock IdP beside oauth2-mock-server 9.3, each its own process pinned to the server core, both
 * started as their commands (ours as shipped: `node dist/mock-idp/main.js`; the peer: its package's
 * bin), measured in the same run with rounds rotated (ours, peer, ours, peer...). The HTTP client
 * that drives them runs here (the runner pins this process to the load core).
 *
 * - **Cold start**: from spawn to the first 200 from the discovery document, each start a new
 *   process on a free port (`--port 0`, the peer `-p 0`). Ours keeps its next signing keys in a
 *   key cache (mock-idp/key-cache.ts); the figure gives it a cache folder of its own, so the first
 *   start finds it empty: that start is reported apart, the median is of the starts after it.
 * - **Authorization-code flow end to end** (flows/s): what a relying party does to get a token set
 *   it can use, with the same client steps against both: an authorization request (`response_type
 *   =code`, `scope=openid email profile`, `state`, `nonce`, PKCE S256), the browser's redirects
 *   followed within the IdP until the one to the redirect URI with the code (each flow with a fresh
 *   cookie jar, as a new person's browser; cookies sent by path, as a browser does), the code
 *   exchanged at the token endpoint (HTTP Basic client authentication, the `code_verifier`), and
 *   the access token used at userinfo. A flow counts when the token answer carries an access
 *   token, an id_token and a refresh token and userinfo answers 200 with a `sub`. The peer signs
 *   nobody in: its authorization endpoint redirects back with a code at once. Ours runs as
 *   LiteLLM's mock does (`--auto-login cli-test-user`: every authorization signed in as that user
 *   without a page), which costs it two more requests per flow (the interaction, and the resume of
 *   the authorization). Nothing else is turned off: ours keeps its default log level (a JSON line
 *   per request on stderr), journal, fault checks and consent bookkeeping.
 * - **Refresh grant** (grants/s): each concurrent client refreshes in a loop with the refresh token
 *   of its previous answer (ours rotates them; the peer hands out random ones and accepts any).
 * - **CPU per code flow at the start and after many flows**, and the resident memory after: a fresh
 *   pair of servers, the flows run in chunks alternating between the two; the server's CPU per flow
 *   (from /proc) is sampled over a window at the start and again at the end. Constant cost is judged
 *   against the noise of the same run: the windows at the start are measured three times, and the
 *   end's median may not exceed the start's median by more than the start's own spread or 25 %,
 *   whichever is larger. Bounded memory: the resident memory (VmRSS) is read after every chunk;
 *   the highest reading of the second half of the run may not exceed the highest of the first half
 *   by more than 20 %. After the first few thousand logins the store is full and drops its oldest
 *   entries, so memory must stop growing; V8 resizes its heap by tens of MiB from one reading to the
 *   next (measured in process: the live heap after a full collection stays at 43-44 MiB over 50,000
 *   flows while the resident memory moves between 180 and 250 MiB), hence a margin that a leak of
 *   1 KiB per flow (about 50 MiB over the second half) would still exceed.
 *
 * Speed is measured here, never asserted in a test.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, type IncomingHttpHeaders, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { OAuth2Server } from 'oauth2-mock-server';
import { startMockIdp } from '../../../mock-idp/index.ts';
import { type BenchContext, type BenchFigure, type BenchRow, median, ratioOf } from '../figure.ts';
import { cpuSecondsOf, residentMiBOf, type StartedProcess, startProcess } from '../processes.ts';

const PEER_NAME = 'oauth2-mock-server 9.3';
const CLIENT_ID = 'litellm-cli-test';
const CLIENT_SECRET = 'litellm-cli-test-secret';
/** A loopback redirect URI of the default client (any port matches, RFC 8252); never visited. */
const REDIRECT_URI = 'http://127.0.0.1:4000/sso/callback';
const AUTO_LOGIN_USER = 'cli-test-user';
/**
 * Flows in flight at once: enough to keep either server's core busy, so that flows/s is each one's
 * capacity. Measured on this machine (load average 3): with 8, oauth2-mock-server used 0.99 of its
 * core and the mock IdP 0.83 (its requests take longer, and each flow waits on the client between
 * them); with 16 they used 0.84 and 0.92, with 32 0.82 and 0.79: the rest went to other work.
 */
const CONCURRENCY = 16;

interface Server {
  name: 'ours' | 'peer';
  process: StartedProcess;
  url: string;
  /** Keep-alive connections to this server only, closed with it. */
  agent: Agent;
}

interface Budget {
  coldStarts: number;
  rounds: number;
  roundMs: number;
  warmupMs: number;
  longFlows: number;
  chunkFlows: number;
  windowFlows: number;
}

function budgetOf(context: BenchContext): Budget {
  return context.quick
    ? { coldStarts: 1, rounds: 1, roundMs: 300, warmupMs: 200, longFlows: 200, chunkFlows: 100, windowFlows: 25 }
    : {
        coldStarts: 10,
        rounds: 5,
        roundMs: 3000,
        warmupMs: 5000,
        longFlows: 100_000,
        chunkFlows: 10_000,
        windowFlows: 1000,
      };
}

// ---------------------------------------------------------------------------------------------
// The client: node:http with keep-alive (fetch costs this process about twice the CPU per call).

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function send(agent: Agent, url: URL, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const sent = request(
      url,
      {
        method,
        agent,
        headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
        response.on('error', reject);
      },
    );
    sent.on('error', reject);
    sent.end(body);
  });
}

/** A browser's cookies for one flow: by name, sent where their path says. */
class CookieJar {
  private readonly cookies = new Map<string, { value: string; path: string }>();

  take(headers: IncomingHttpHeaders): void {
    for (const line of headers['set-cookie'] ?? []) {
      const [pair, ...attributes] = line.split(';');
      const at = pair?.indexOf('=') ?? -1;
      if (!pair || at <= 0) continue;
      const name = pair.slice(0, at).trim();
      const value = pair.slice(at + 1).trim();
      const pathAttribute = attributes.map((a) => a.trim()).find((a) => a.toLowerCase().startsWith('path='));
      const path = pathAttribute ? pathAttribute.slice(5) : '/';
      const expired = attributes.some((a) => /^\s*expires=thu, 01 jan 1970/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, { value, path });
    }
  }

  header(path: string): string | undefined {
    const sent: string[] = [];
    for (const [name, cookie] of this.cookies) {
      if (path === cookie.path || path.startsWith(cookie.path.endsWith('/') ? cookie.path : `${cookie.path}/`))
        sent.push(`${name}=${cookie.value}`);
    }
    return sent.length > 0 ? sent.join('; ') : undefined;
  }
}

const BASIC = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`;
const FORM = 'application/x-www-form-urlencoded';

interface TokenSet {
  accessToken: string;
  refreshToken: string;
}

function tokenSetOf(answer: Answer, step: string): TokenSet {
  if (answer.status !== 200) throw new Error(`${step}: token endpoint answered ${answer.status}: ${answer.body}`);
  const tokens: unknown = JSON.parse(answer.body);
  const field = (name: string): string => {
    const value = typeof tokens === 'object' && tokens !== null ? Reflect.get(tokens, name) : undefined;
    if (typeof value !== 'string' || value === '') throw new Error(`${step}: the token answer has no ${name}`);
    return value;
  };
  field('id_token');
  return { accessToken: field('access_token'), refreshToken: field('refresh_token') };
}

/** One authorization-code flow, as the module comment defines it; returns the token set and the request count. */
async function codeFlow(server: Server): Promise<TokenSet & { requests: number }> {
  const jar = new CookieJar();
  const verifier = randomBytes(32).toString('base64url');
  const authorize = new URL('/authorize', server.url);
  authorize.search = new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: 'code',
    redirect_uri: REDIRECT_URI,
    scope: 'openid email profile',
    state: randomBytes(12).toString('base64url'),
    nonce: randomBytes(12).toString('base64url'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  let url = authorize;
  let requests = 0;
  let code: string | null = null;
  for (let hop = 0; hop < 8 && code === null; hop++) {
    const cookie = jar.header(url.pathname);
    const answer = await send(server.agent, url, 'GET', cookie ? { cookie } : {});
    requests++;
    jar.take(answer.headers);
    const location = answer.headers.location;
    if (answer.status < 300 || answer.status > 399 || !location) {
      throw new Error(
        `${server.name}: ${url.pathname} answered ${answer.status}, not a redirect: ${answer.body.slice(0, 300)}`,
      );
    }
    const next = new URL(location, url);
    if (next.href.startsWith(REDIRECT_URI)) {
      code = next.searchParams.get('code');
      if (code === null) throw new Error(`${server.name}: back at the redirect URI without a code: ${next.search}`);
    } else if (next.origin !== url.origin) {
      throw new Error(`${server.name}: redirected out of the IdP to ${next.origin}`);
    } else {
      url = next;
    }
  }
  if (code === null) throw new Error(`${server.name}: no code after 8 redirects`);
  const tokens = tokenSetOf(
    await send(
      server.agent,
      new URL('/token', server.url),
      'POST',
      { authorization: BASIC, 'content-type': FORM },
      new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: verifier,
      }).toString(),
    ),
    `${server.name} code exchange`,
  );
  const userinfo = await send(server.agent, new URL('/userinfo', server.url), 'GET', {
    authorization: `Bearer ${tokens.accessToken}`,
  });
  if (userinfo.status !== 200 || !userinfo.body.includes('"sub"')) {
    throw new Error(`${server.name}: userinfo answered ${userinfo.status}: ${userinfo.body.slice(0, 300)}`);
  }
  return { ...tokens, requests: requests + 2 };
}

async function refreshGrant(server: Server, refreshToken: string): Promise<TokenSet> {
  return tokenSetOf(
    await send(
      server.agent,
      new URL('/token', server.url),
      'POST',
      { authorization: BASIC, 'content-type': FORM },
      new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
    ),
    `${server.name} refresh`,
  );
}

/** Run `step` in CONCURRENCY loops until `until()` says stop; returns how many steps completed. */
async function drive(step: (lane: number) => Promise<void>, until: (done: number) => boolean): Promise<number> {
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_unused, lane) => {
      while (!until(done)) {
        await step(lane);
        done++;
      }
    }),
  );
  return done;
}

interface Rate {
  perSecond: number;
  serverCpuMsPer: number;
  clientCpuShare: number;
}

/** Steps per second over `ms`, with the server's CPU per step and this process's share of a core. */
async function rateOf(server: Server, ms: number, step: (lane: number) => Promise<void>): Promise<Rate> {
  const cpuBefore = cpuSecondsOf(server.process.pid);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const done = await drive(step, () => performance.now() - started >= ms);
  const elapsed = performance.now() - started;
  const client = process.cpuUsage(clientBefore);
  return {
    perSecond: (done * 1000) / elapsed,
    serverCpuMsPer: ((cpuSecondsOf(server.process.pid) - cpuBefore) * 1000) / done,
    clientCpuShare: (client.user + client.system) / 1000 / elapsed,
  };
}

/** Server CPU (ms) per flow over `flows` flows. */
async function cpuPerFlow(server: Server, flows: number): Promise<number> {
  const before = cpuSecondsOf(server.process.pid);
  await drive(
    async () => {
      await codeFlow(server);
    },
    (done) => done >= flows,
  );
  return ((cpuSecondsOf(server.process.pid) - before) * 1000) / flows;
}

// ---------------------------------------------------------------------------------------------
// The servers.

interface Commands {
  ours: { args: string[]; env: NodeJS.ProcessEnv; shipped: boolean };
  peer: { args: string[]; env: NodeJS.ProcessEnv };
}

function commandsOf(context: BenchContext, keyCacheDir: string): Commands {
  const shipped = join(context.root, 'dist', 'mock-idp', 'main.js');
  const isShipped = existsSync(shipped);
  if (!isShipped) context.log('mock-idp: no dist/ (npm run build): the mock IdP runs under tsx');
  const env = { PATH: process.env['PATH'] ?? '', HOME: keyCacheDir };
  return {
    ours: {
      args: isShipped ? [shipped] : ['--import', 'tsx', join(context.root, 'mock-idp', 'main.ts')],
      env: { ...env, MOCK_IDP_KEY_CACHE: keyCacheDir },
      shipped: isShipped,
    },
    peer: {
      args: [join(context.root, 'node_modules', 'oauth2-mock-server', 'dist', 'oauth2-mock-server.mjs')],
      env,
    },
  };
}

async function startServer(
  context: BenchContext,
  commands: Commands,
  name: Server['name'],
  extra: { autoLogin: boolean },
): Promise<Server> {
  const args =
    name === 'ours'
      ? [...commands.ours.args, '--port', '0', ...(extra.autoLogin ? ['--auto-login', AUTO_LOGIN_USER] : [])]
      : [...commands.peer.args, '-a', '127.0.0.1', '-p', '0'];
  const { started, match } = await startProcess(process.execPath, args, {
    cwd: context.root,
    env: name === 'ours' ? commands.ours.env : commands.peer.env,
    cpu: context.serverCpu,
    ready: /listening on (http:\/\/[^\s]+)/,
  });
  return {
    name,
    process: started,
    url: match[1] as string,
    agent: new Agent({ keepAlive: true, maxSockets: CONCURRENCY * 2 }),
  };
}

/** Milliseconds from spawn to the first 200 from discovery. */
async function coldStart(context: BenchContext, commands: Commands, name: Server['name']): Promise<number> {
  const started = performance.now();
  const server = await startServer(context, commands, name, { autoLogin: false });
  try {
    const discovery = new URL('/.well-known/openid-configuration', server.url);
    for (;;) {
      const answer = await send(server.agent, discovery, 'GET', {});
      if (answer.status === 200) return performance.now() - started;
      if (performance.now() - started > 30_000) throw new Error(`${name}: discovery answered ${answer.status}`);
    }
  } finally {
    await stopServer(server);
  }
}

async function stopServer(server: Server): Promise<void> {
  server.agent.destroy();
  await server.process.stop();
}

/**
 * Milliseconds of `startMockIdp()` then of oauth2-mock-server's `start()` (with the RS256 key it makes
 * first), in this process, rotated; the first of each (module loading) is not counted.
 */
async function inProcessStarts(count: number): Promise<{ ours: number[]; peer: number[] }> {
  const starts = { ours: [] as number[], peer: [] as number[] };
  for (let i = 0; i <= count; i++) {
    let started = performance.now();
    const idp = await startMockIdp({ port: 0 });
    const ours = performance.now() - started;
    await idp.close();
    started = performance.now();
    const server = new OAuth2Server();
    await server.issuer.keys.generate('RS256');
    await server.start(0, '127.0.0.1');
    const peer = performance.now() - started;
    await server.stop();
    if (i === 0) continue;
    starts.ours.push(ours);
    starts.peer.push(peer);
  }
  return starts;
}

// ---------------------------------------------------------------------------------------------

const round1 = (value: number) => Math.round(value * 10) / 10;
const round2 = (value: number) => Math.round(value * 100) / 100;
const spreadOf = (values: number[], digits = 0) =>
  `${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)}`;
const load = () => loadavg()[0]?.toFixed(2) ?? '?';

export const figure: BenchFigure = {
  id: 'mock-idp',
  title: 'Mock IdP beside oauth2-mock-server 9.3: cold start, code flow, refresh, cost over many flows',
  async run(context) {
    const budget = budgetOf(context);
    const keyCacheDir = await mkdtemp(join(tmpdir(), 'bench-mock-idp-'));
    const commands = commandsOf(context, keyCacheDir);
    const running: Server[] = [];
    const loadAtStart = load();
    try {
      // ---- cold start
      const firstOurs = await coldStart(context, commands, 'ours');
      const firstPeer = await coldStart(context, commands, 'peer');
      const starts = { ours: [] as number[], peer: [] as number[] };
      for (let i = 0; i < budget.coldStarts; i++) {
        starts.ours.push(await coldStart(context, commands, 'ours'));
        starts.peer.push(await coldStart(context, commands, 'peer'));
      }
      context.log(
        `mock-idp: cold start ours ${Math.round(median(starts.ours))} ms, peer ${Math.round(median(starts.peer))} ms (load ${load()})`,
      );

      const library = await inProcessStarts(budget.coldStarts);

      // ---- code flow and refresh, rotated rounds on one pair of servers
      const ours = await startServer(context, commands, 'ours', { autoLogin: true });
      running.push(ours);
      const peer = await startServer(context, commands, 'peer', { autoLogin: false });
      running.push(peer);
      const pair = [ours, peer] as const;
      const requestsPerFlow = { ours: (await codeFlow(ours)).requests, peer: (await codeFlow(peer)).requests };
      const flowStep = (server: Server) => async () => {
        await codeFlow(server);
      };
      for (const server of pair) await rateOf(server, budget.warmupMs, flowStep(server));
      const flows = { ours: [] as Rate[], peer: [] as Rate[] };
      for (let round = 1; round <= budget.rounds; round++) {
        for (const server of pair) flows[server.name].push(await rateOf(server, budget.roundMs, flowStep(server)));
        context.log(
          `mock-idp: code flow round ${round}/${budget.rounds}: ours ${Math.round(flows.ours.at(-1)?.perSecond ?? 0)}, ` +
            `peer ${Math.round(flows.peer.at(-1)?.perSecond ?? 0)} flows/s`,
        );
      }
      const lanes = { ours: [] as string[], peer: [] as string[] };
      for (const server of pair) {
        for (let lane = 0; lane < CONCURRENCY; lane++) lanes[server.name].push((await codeFlow(server)).refreshToken);
      }
      const refreshStep = (server: Server) => async (lane: number) => {
        const tokens = await refreshGrant(server, lanes[server.name][lane] as string);
        lanes[server.name][lane] = tokens.refreshToken;
      };
      for (const server of pair) await rateOf(server, budget.warmupMs, refreshStep(server));
      const refreshes = { ours: [] as Rate[], peer: [] as Rate[] };
      for (let round = 1; round <= budget.rounds; round++) {
        for (const server of pair)
          refreshes[server.name].push(await rateOf(server, budget.roundMs, refreshStep(server)));
      }
      await Promise.all(running.splice(0).map(stopServer));

      // ---- cost over many flows, on a fresh pair
      const longOurs = await startServer(context, commands, 'ours', { autoLogin: true });
      running.push(longOurs);
      const longPeer = await startServer(context, commands, 'peer', { autoLogin: false });
      running.push(longPeer);
      const longPair = [longOurs, longPeer] as const;
      for (const server of longPair) await cpuPerFlow(server, budget.windowFlows); // JIT warm-up, not counted
      const fresh = { ours: [] as number[], peer: [] as number[] };
      for (let i = 0; i < 3; i++) {
        for (const server of longPair) fresh[server.name].push(await cpuPerFlow(server, budget.windowFlows));
      }
      const flowsDone = { ours: budget.windowFlows * 4, peer: budget.windowFlows * 4 };
      const rss = { ours: [] as Array<[number, number]>, peer: [] as Array<[number, number]> };
      const readRss = (server: Server) =>
        rss[server.name].push([flowsDone[server.name], residentMiBOf(server.process.pid)]);
      for (const server of longPair) readRss(server);
      while (flowsDone.ours < budget.longFlows) {
        const chunk = Math.min(budget.chunkFlows, budget.longFlows - flowsDone.ours);
        for (const server of longPair) {
          await cpuPerFlow(server, chunk);
          flowsDone[server.name] += chunk;
          readRss(server);
        }
        context.log(`mock-idp: ${flowsDone.ours} flows each (load ${load()})`);
      }
      const measuredAfter = flowsDone.ours;
      const after = { ours: [] as number[], peer: [] as number[] };
      for (let i = 0; i < 3; i++) {
        for (const server of longPair) after[server.name].push(await cpuPerFlow(server, budget.windowFlows));
      }
      for (const server of longPair) {
        flowsDone[server.name] += 3 * budget.windowFlows;
        readRss(server);
      }
      const totalFlows = flowsDone;
      const highest = (name: Server['name'], half: 'first' | 'second') =>
        Math.max(
          ...rss[name].filter(([done]) => (half === 'first') === done <= budget.longFlows / 2).map(([, mib]) => mib),
        );
      const rssAfter = { ours: highest('ours', 'second'), peer: highest('peer', 'second') };
      const rssFirstHalf = { ours: highest('ours', 'first'), peer: highest('peer', 'first') };

      // ---- rows
      const setup =
        `servers pinned to core ${context.serverCpu ?? 'any'}, client here; ours ${commands.ours.shipped ? 'dist/ (as shipped)' : 'under tsx'}; ` +
        `load average ${loadAtStart} at the start, ${load()} at the end`;
      const rate = (rates: Rate[]) => median(rates.map((r) => r.perSecond));
      const startOurs = median(starts.ours);
      const startPeer = median(starts.peer);
      const startRatio = ratioOf(startOurs, startPeer, 'lower');
      const flowRatio = ratioOf(rate(flows.ours), rate(flows.peer), 'higher');
      const freshOurs = median(fresh.ours);
      const afterOurs = median(after.ours);
      const noise = Math.max((Math.max(...fresh.ours) - Math.min(...fresh.ours)) / freshOurs, 0.25);
      const constant = afterOurs <= freshOurs * (1 + noise);
      const bounded = rssAfter.ours <= rssFirstHalf.ours * 1.2;
      const clientShare = (rates: Rate[]) => `${Math.round(Math.max(...rates.map((r) => r.clientCpuShare)) * 100)} %`;
      const rows: BenchRow[] = [
        {
          what: 'mock IdP cold start (spawn to the first discovery 200)',
          unit: 'ms',
          ours: Math.round(startOurs),
          peer: { name: PEER_NAME, value: Math.round(startPeer) },
          ratio: startRatio,
          goal: `<= 1.0x ${PEER_NAME}`,
          met: startRatio >= 1,
          detail:
            `median of ${budget.coldStarts} rotated starts each (ours ${spreadOf(starts.ours)} ms, peer ${spreadOf(starts.peer)} ms); ` +
            `first start of each, not counted: ours ${Math.round(firstOurs)} ms (empty key cache), peer ${Math.round(firstPeer)} ms; ${setup}`,
        },
        {
          what: 'mock IdP startMockIdp() in process (the library, keys made at start)',
          unit: 'ms',
          ours: Math.round(median(library.ours)),
          peer: { name: `${PEER_NAME} start() with its RS256 key`, value: Math.round(median(library.peer)) },
          ratio: ratioOf(median(library.ours), median(library.peer), 'lower'),
          detail: `median of ${budget.coldStarts} rotated starts in the bench process, after one not counted (module loading); ours ${spreadOf(library.ours)} ms, peer ${spreadOf(library.peer)} ms`,
        },
        {
          what: 'mock IdP authorization-code flow end to end',
          unit: 'flows/s',
          ours: Math.round(rate(flows.ours)),
          peer: { name: PEER_NAME, value: Math.round(rate(flows.peer)) },
          ratio: flowRatio,
          goal: `>= 1.0x ${PEER_NAME}`,
          met: flowRatio >= 1,
          detail:
            `${budget.rounds} rotated rounds of ${budget.roundMs / 1000} s, ${CONCURRENCY} flows in flight; ` +
            `${requestsPerFlow.ours} requests per flow for ours (auto-login), ${requestsPerFlow.peer} for the peer; ` +
            `rounds ours ${spreadOf(flows.ours.map((r) => r.perSecond))}, peer ${spreadOf(flows.peer.map((r) => r.perSecond))} flows/s; ` +
            `server CPU per flow ours ${round2(median(flows.ours.map((r) => r.serverCpuMsPer)))} ms, peer ${round2(median(flows.peer.map((r) => r.serverCpuMsPer)))} ms; ` +
            `client CPU at most ${clientShare(flows.ours)} / ${clientShare(flows.peer)} of a core; ${setup}`,
        },
        {
          what: 'mock IdP refresh grant',
          unit: 'grants/s',
          ours: Math.round(rate(refreshes.ours)),
          peer: { name: PEER_NAME, value: Math.round(rate(refreshes.peer)) },
          ratio: ratioOf(rate(refreshes.ours), rate(refreshes.peer), 'higher'),
          detail:
            `${budget.rounds} rotated rounds of ${budget.roundMs / 1000} s, ${CONCURRENCY} clients each refreshing with its last refresh token ` +
            `(ours rotates them; the peer accepts any); server CPU per grant ours ${round2(median(refreshes.ours.map((r) => r.serverCpuMsPer)))} ms, ` +
            `peer ${round2(median(refreshes.peer.map((r) => r.serverCpuMsPer)))} ms; client CPU at most ${clientShare(refreshes.ours)} / ${clientShare(refreshes.peer)} of a core`,
        },
        {
          what: 'mock IdP CPU per code flow, fresh',
          unit: 'ms CPU/flow',
          ours: round2(freshOurs),
          peer: { name: PEER_NAME, value: round2(median(fresh.peer)) },
          ratio: ratioOf(freshOurs, median(fresh.peer), 'lower'),
          detail: `3 windows of ${budget.windowFlows} flows after ${budget.windowFlows} warm-up flows: ours ${fresh.ours.map(round2).join(', ')}, peer ${fresh.peer.map(round2).join(', ')} ms`,
        },
        {
          what: `mock IdP CPU per code flow after ${measuredAfter.toLocaleString('en-US')} flows`,
          unit: 'ms CPU/flow',
          ours: round2(afterOurs),
          peer: { name: PEER_NAME, value: round2(median(after.peer)) },
          ratio: ratioOf(afterOurs, median(after.peer), 'lower'),
          goal: 'constant: within the noise of the fresh figure',
          met: constant,
          detail:
            `3 windows of ${budget.windowFlows} flows: ours ${after.ours.map(round2).join(', ')}, peer ${after.peer.map(round2).join(', ')} ms; ` +
            `ours ${afterOurs >= freshOurs ? '+' : ''}${Math.round((afterOurs / freshOurs - 1) * 100)} % on fresh, allowed +${Math.round(noise * 100)} % ` +
            `(the fresh windows' own spread, at least 25 %); flows run in chunks of ${budget.chunkFlows}, alternating between the two servers`,
        },
        {
          what: `mock IdP resident memory, highest in the second half of ${totalFlows.ours.toLocaleString('en-US')} flows`,
          unit: 'MiB',
          ours: round1(rssAfter.ours),
          peer: { name: PEER_NAME, value: round1(rssAfter.peer) },
          ratio: ratioOf(rssAfter.ours, rssAfter.peer, 'lower'),
          goal: 'bounded: at most 20 % above the highest of the first half',
          met: bounded,
          detail:
            `highest in the first half: ours ${round1(rssFirstHalf.ours)} MiB, peer ${round1(rssFirstHalf.peer)} MiB; ` +
            `VmRSS after each chunk, ours ${rss.ours.map(([done, mib]) => `${done >= 10_000 ? `${Math.round(done / 1000)}k` : done} ${Math.round(mib)}`).join(', ')} MiB`,
        },
      ];
      return rows;
    } finally {
      await Promise.allSettled(running.map(stopServer));
      await rm(keyCacheDir, { recursive: true, force: true });
    }
  },
};
