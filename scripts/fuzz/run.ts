/**
 * A fuzzing session in this process: the servers, the client and the engine, kept across the
 * endpoints it is given one by one (so a worker of `npm run fuzz` starts its servers once), then a
 * health check of every server it started. Used by the command (main.ts, one session per worker)
 * and by the property tests with a small budget.
 */
import { FuzzContext, get } from './context.ts';
import type { Endpoint, EndpointGroup } from './endpoint.ts';
import { type EndpointResult, Engine } from './engine.ts';
import { GATEWAY_ENDPOINTS, gatewayStillWorks } from './gateway.ts';
import { KNOWN_FINDINGS, type KnownFinding } from './known-findings.ts';
import { MOCK_IDP_ENDPOINTS, mockIdpStillWorks } from './mock-idp.ts';
import { NATIVE_LOGIN_ENDPOINTS } from './native-login.ts';
import { Systems } from './systems.ts';
import { USERS_FILE_ENDPOINTS } from './users-file.ts';
import { WireClient } from './wire.ts';

export const ALL_ENDPOINTS: Endpoint[] = [
  ...GATEWAY_ENDPOINTS,
  ...NATIVE_LOGIN_ENDPOINTS,
  ...MOCK_IDP_ENDPOINTS,
  ...USERS_FILE_ENDPOINTS,
];

export function endpointNamed(name: string): Endpoint | undefined {
  return ALL_ENDPOINTS.find((e) => e.name === name);
}

export interface SessionOptions {
  runs: number;
  seed: number;
  maxShrinks?: number;
  shrinkBudgetMs?: number;
  maxFailures?: number;
  /** Per endpoint: stop after this many seconds even if fewer than `runs` inputs ran. */
  maxSeconds?: number;
  known?: readonly KnownFinding[];
  /** Replay the known findings before an endpoint's inputs (the command does; the tests do not). */
  replayKnown?: boolean;
  progress?: (line: string) => void;
}

export interface KnownResult {
  id: string;
  endpoint: string;
  title: string;
  status: 'OPEN' | 'FIXED';
  problems: string[];
}

export interface HealthResult {
  server: string;
  ok: boolean;
  detail: string;
}

export interface SessionSummary {
  health: HealthResult[];
  secretsKnown: number;
  logLines: Record<string, number>;
  logBytes: Record<string, number>;
  uncaught: string[];
  /** Distinct first lines printed to the console by libraries, with counts. */
  console: Record<string, number>;
}

export interface ReplayResult {
  endpoint: string;
  problems: string[];
  request?: Record<string, unknown>;
  answer?: string;
}

export class FuzzSession {
  private readonly systems = new Systems();
  private readonly client = new WireClient(15_000);
  private readonly ctx = new FuzzContext(this.systems, this.client);
  private readonly engine: Engine;
  private readonly groups = new Set<EndpointGroup>();
  private readonly uncaught: string[] = [];
  /** Distinct first lines of what libraries print to the console (koa's stack traces...), counted. */
  private readonly consoleLines = new Map<string, number>();
  private readonly restoreConsole: () => void;

  constructor(private readonly options: SessionOptions) {
    // Libraries print to the console (koa's default error handler prints stacks): that output is a
    // log too, so it is captured and scanned for secrets like the servers' own lines.
    const capture = this.systems.capture('console');
    const methods = ['log', 'info', 'warn', 'error', 'debug'] as const;
    const saved = methods.map((m) => console[m]);
    for (const m of methods) {
      console[m] = (...args: unknown[]) => {
        const text = args
          .map((a) => (a instanceof Error ? (a.stack ?? a.message) : typeof a === 'string' ? a : JSON.stringify(a)))
          .join(' ');
        this.noteConsole(text);
        capture.sink.write(text);
      };
    }
    this.restoreConsole = () => {
      for (const [i, m] of methods.entries()) console[m] = saved[i]!;
    };
    this.engine = new Engine(this.ctx, {
      runs: options.runs,
      seed: options.seed,
      maxShrinks: options.maxShrinks ?? 300,
      shrinkBudgetMs: options.shrinkBudgetMs ?? 30_000,
      maxFailures: options.maxFailures ?? 8,
      inputTimeoutMs: 60_000,
      ...(options.maxSeconds !== undefined ? { maxSeconds: options.maxSeconds } : {}),
      known: options.known ?? KNOWN_FINDINGS,
      ...(options.progress ? { progress: options.progress } : {}),
    });
  }

  private noteConsole(text: string): void {
    const first = (text.trim().split('\n')[0] ?? '').slice(0, 160);
    if (this.consoleLines.size < 30 || this.consoleLines.has(first))
      this.consoleLines.set(first, (this.consoleLines.get(first) ?? 0) + 1);
  }

  /** A process warning (the caller wires `process.on('warning')` here): kept with the console lines. */
  noteWarning(warning: Error): void {
    this.noteConsole(`${warning.name}: ${warning.message}`);
  }

  /** What the process would otherwise crash on: the caller wires process events here. */
  noteUncaught(kind: string, error: unknown): void {
    this.uncaught.push(`${kind}: ${error instanceof Error ? error.stack : String(error)}`.slice(0, 2000));
    this.engine.noteUncaught(kind, error);
  }

  /** Replay the known findings of this endpoint, then run its inputs. */
  async run(ep: Endpoint): Promise<{ result: EndpointResult; known: KnownResult[] }> {
    this.groups.add(ep.group);
    const known: KnownResult[] = [];
    const replayed = this.options.replayKnown === false ? [] : (this.options.known ?? KNOWN_FINDINGS);
    for (const finding of replayed.filter((k) => k.endpoint === ep.name)) {
      const execution = await this.engine.replayRecipe(ep, finding.recipe);
      known.push({
        id: finding.id,
        endpoint: ep.name,
        title: finding.title,
        status: execution.problems.some((p) => finding.matches.test(p)) ? 'OPEN' : 'FIXED',
        problems: execution.problems.slice(0, 3),
      });
    }
    const result = await this.engine.runEndpoint(ep);
    return { result, known };
  }

  async replay(ep: Endpoint, seed: number, path: string): Promise<ReplayResult> {
    this.groups.add(ep.group);
    const execution = await this.engine.replayPath(ep, seed, path);
    return {
      endpoint: ep.name,
      problems: execution?.problems ?? ['nothing replayed'],
      ...(execution?.observation.request ? { request: execution.observation.request } : {}),
      ...(execution?.observation.answer ? { answer: execution.observation.answer } : {}),
    };
  }

  /** Health of every server started, a whole login on each gateway and IdP, then stop them all. */
  async finish(): Promise<SessionSummary> {
    try {
      const health = await this.healthCheck();
      return {
        health,
        secretsKnown: this.systems.book.size,
        logLines: Object.fromEntries([...this.systems.logs].map(([n, c]) => [n, c.lines])),
        logBytes: Object.fromEntries([...this.systems.logs].map(([n, c]) => [n, c.bytes])),
        uncaught: this.uncaught,
        console: Object.fromEntries(this.consoleLines),
      };
    } finally {
      this.restoreConsole();
      this.client.close();
      await this.systems.close();
    }
  }

  private async healthCheck(): Promise<HealthResult[]> {
    const out: HealthResult[] = [];
    for (const target of this.systems.healthTargets()) {
      const answer = await this.ctx.send(target.url, get(target.path));
      out.push({
        server: target.name,
        ok: answer.status === 200,
        detail: `${target.path} answered ${answer.status || answer.error}`,
      });
    }
    if (this.groups.has('gateway')) {
      for (const name of ['A', 'B', 'C'] as const) {
        const problem = await gatewayStillWorks(this.ctx, name);
        out.push({
          server: `gateway-${name}`,
          ok: problem === undefined,
          detail: problem ?? 'a whole login works; its key opens /v1/models where CLI keys are accepted',
        });
      }
    }
    for (const [group, which] of [
      ['mock-idp', 'oidc'],
      ['mock-idp-control', 'control'],
    ] as const) {
      if (!this.groups.has(group)) continue;
      const problem = await mockIdpStillWorks(this.ctx, which);
      out.push({
        server: `idp-${which}`,
        ok: problem === undefined,
        detail: problem ?? 'signs a user in; the token and userinfo (every claim) work',
      });
    }
    // Anything the checks logged (a 5xx, a secret) is judged as well.
    const late = await this.engine.execute(
      {
        name: 'health',
        group: 'gateway',
        what: 'health',
        servers: [],
        recipe: () => {
          throw new Error('unused');
        },
        run: async () => ({ outcome: 'ok', status: 0, problems: [] }),
      },
      undefined,
    );
    for (const problem of late.problems) out.push({ server: 'logs', ok: false, detail: problem });
    return out;
  }
}

export function summaryLine(r: EndpointResult): string {
  const histogram = Object.entries(r.histogram)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}:${v}`)
    .join(' ');
  return `${r.name.padEnd(24)} ${String(r.inputs).padStart(6)} inputs ${String(r.seconds).padStart(6)} s (cpu ${r.cpuSeconds} s)  failures ${r.failures.length}  [${histogram}]${r.stoppedAtTimeLimit ? '  (time limit)' : ''}`;
}

/**
 * The property tests' budget: `inputs` spread over a group's endpoints (at least `floor` each), on
 * a random seed printed with any failure. Failures that are known findings are returned apart: the
 * tests report them without failing, since known-findings.ts lists them for their owners.
 */
export async function fuzzGroup(
  group: EndpointGroup,
  inputs: number,
  options: { floor?: number; seed?: number } = {},
): Promise<{ seed: number; results: EndpointResult[]; unknown: string[]; known: string[] }> {
  const endpoints = ALL_ENDPOINTS.filter((e) => e.group === group);
  const runs = Math.max(options.floor ?? 10, Math.ceil(inputs / endpoints.length));
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const session = new FuzzSession({ runs, seed, replayKnown: false, maxShrinks: 40, shrinkBudgetMs: 10_000 });
  const results: EndpointResult[] = [];
  const unknown: string[] = [];
  const known: string[] = [];
  try {
    for (const ep of endpoints) {
      const { result } = await session.run(ep);
      results.push(result);
      for (const f of result.failures) {
        const line = `${ep.name}: ${f.signature} (${f.count} input(s)): ${f.problems[0]?.slice(0, 300)}${
          f.reproducer
            ? `\n  input: ${JSON.stringify(f.reproducer.recipe).slice(0, 600)}\n  replay: ${f.reproducer.replay}`
            : ''
        }`;
        (f.known ? known : unknown).push(f.known ? `${f.known} ${line}` : line);
      }
    }
  } finally {
    const summary = await session.finish();
    for (const h of summary.health) if (!h.ok) unknown.push(`health: ${h.server}: ${h.detail}`);
    for (const u of summary.uncaught) unknown.push(`uncaught: ${u}`);
  }
  return { seed, results, unknown, known };
}
