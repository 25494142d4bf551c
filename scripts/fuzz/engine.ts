/**
 * The fuzzing engine: for one endpoint, N inputs from fast-check (seeded, so a run can be
 * repeated), each run against the real servers and judged by the oracles:
 *
 *   1. no answer >= 500 (a 502/504 only when the input broke the upstream IdP on purpose), and an
 *      answer at all (no reset, no hang), within `slowMs`;
 *   2. no uncaught exception or unhandled rejection in the process while the input ran;
 *   3. no log line at level `error`, no logged request answered >= 500 (also by a server the
 *      fuzzed one called, e.g. the IdP behind the gateway);
 *   4. no secret the fuzzer knows in any log line (echoes of what the request itself put in an
 *      ordinary place are counted apart, see secrets.ts);
 *   5. whatever the endpoint checks itself (a set-up step's 5xx, a key the gateway issued and then
 *      refused, a mock IdP that no longer signs users in).
 *
 * A failing input is shrunk by fast-check (same failure kind only, a bounded number of steps), then
 * replayed once on fresh servers to say whether it reproduces alone. Later inputs that fail the
 * same way are counted, not shrunk again, so one bug does not stop the run.
 */
import fc from 'fast-check';
import { FixtureFailure, FixtureUnavailable, type FuzzContext } from './context.ts';
import type { Endpoint, Observation } from './endpoint.ts';
import type { KnownFinding } from './known-findings.ts';
import { ordinaryText, type SecretHit, scanLines } from './secrets.ts';

export interface EngineOptions {
  runs: number;
  seed: number;
  /** Shrinking steps per failure, and the time they may take. */
  maxShrinks: number;
  shrinkBudgetMs: number;
  /** Distinct failures shrunk per endpoint; more are counted only. */
  maxFailures: number;
  /** One input (set-up included) must finish within this. */
  inputTimeoutMs: number;
  /** Stop an endpoint's inputs after this many seconds even if fewer than `runs` ran (the full pass in pieces). */
  maxSeconds?: number;
  known: readonly KnownFinding[];
  progress?: (line: string) => void;
}

export interface Reproducer {
  recipe: unknown;
  request?: Record<string, unknown>;
  answer?: string;
  problems: string[];
  seed: number;
  path: string;
  replay: string;
  /** Replayed alone on fresh servers after shrinking: did it fail the same way? */
  reproducesAlone: boolean;
  /** When it does not fail alone: an earlier input after which it does (both on fresh servers). */
  after?: unknown;
}

export interface FailureRecord {
  signature: string;
  problems: string[];
  count: number;
  firstInput: number;
  known?: string;
  reproducer?: Reproducer;
}

export interface EndpointResult {
  name: string;
  group: string;
  what: string;
  inputs: number;
  histogram: Record<string, number>;
  failures: FailureRecord[];
  echoes: number;
  requests: number;
  seconds: number;
  /** CPU seconds of this process (servers and fuzzer) for this endpoint. */
  cpuSeconds: number;
  slowestMs: number;
  fixtures: { made: number; reused: number };
  rssMb: number;
  /** The endpoint stopped at the time limit (maxSeconds) before `runs` inputs. */
  stoppedAtTimeLimit?: boolean;
}

export interface Execution {
  observation: Observation;
  problems: string[];
  hits: SecretHit[];
}

const DEFAULT_SLOW_MS = 5000;
/** A replayed input's answer is followed by this wait, so late errors (a timer's throw) count. */
const SETTLE_MS = 200;
/** Inputs kept to look for the one a failure depends on. */
const HISTORY = 40;

export class Engine {
  private readonly uncaught: string[] = [];
  private previousOrdinary: string[] = [];
  /** The latest generated inputs of the endpoint being run, to find what a failure depends on. */
  private history: unknown[] = [];

  constructor(
    readonly ctx: FuzzContext,
    readonly options: EngineOptions,
  ) {}

  /** Record what the process would otherwise crash on (the caller installs this once). */
  noteUncaught(kind: string, error: unknown): void {
    const text = error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
    this.uncaught.push(`${kind} ${text.slice(0, 1500)}`);
  }

  /**
   * Run one input and judge it. `settleMs`: wait that long after the answer before collecting
   * (used when replaying a reproducer, so an error thrown a moment after the answer is its own).
   */
  async execute(ep: Endpoint, recipe: unknown, settleMs = 0): Promise<Execution> {
    this.ctx.sent = [];
    const uncaughtBefore = this.uncaught.length;
    let observation: Observation;
    let timer: NodeJS.Timeout | undefined;
    try {
      observation = await Promise.race([
        ep.run(recipe, this.ctx),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`the input did not finish within ${this.options.inputTimeoutMs} ms`)),
            this.options.inputTimeoutMs,
          );
        }),
      ]);
    } catch (error) {
      if (error instanceof FixtureFailure) observation = { outcome: 'setup-5xx', status: 0, problems: [error.message] };
      else if (error instanceof FixtureUnavailable) {
        observation = { outcome: 'setup-unavailable', status: 0, problems: [], answer: error.message };
      } else {
        // Not a server's doing: the fuzzer itself (its own bug, or a set-up it could not make).
        const message = error instanceof Error ? error.message : String(error);
        observation = { outcome: 'fuzzer-error', status: 0, problems: [`the fuzzer failed on this input: ${message}`] };
      }
    } finally {
      clearTimeout(timer);
    }
    if (settleMs > 0) await new Promise((resolve) => setTimeout(resolve, settleMs));
    const problems = [...observation.problems];
    const { status } = observation;
    if (status >= 500 && !(observation.upstreamBroken && (status === 502 || status === 504))) {
      problems.unshift(`answered ${status}`);
    }
    if (observation.outcome === 'no-answer') problems.unshift(`no answer (${observation.answer})`);
    const slowMs = ep.slowMs ?? DEFAULT_SLOW_MS;
    if (observation.ms !== undefined && observation.ms > slowMs)
      problems.push(`answered after ${observation.ms} ms (over ${slowMs} ms)`);
    for (const message of this.uncaught.slice(uncaughtBefore)) problems.push(`uncaught ${message}`);

    const ordinary = this.ctx.sent.map(ordinaryText);
    const echoTexts = [...ordinary, ...this.previousOrdinary];
    this.previousOrdinary = ordinary;
    const hits: SecretHit[] = [];
    for (const capture of this.ctx.systems.logs.values()) {
      const lines = capture.take();
      if (lines.length === 0) continue;
      hits.push(...scanLines(this.ctx.systems.book, capture.name, lines, echoTexts));
      for (const line of lines) {
        const problem = logProblem(capture.name, line);
        // A gateway that answered 502/504 because the input broke its IdP on purpose: not a finding.
        if (problem && !(observation.upstreamBroken && problem.upstreamStatus)) problems.push(problem.text);
      }
    }
    for (const { source, lines } of this.ctx.systems.takeJournals()) {
      hits.push(...scanLines(this.ctx.systems.book, source, lines, echoTexts));
    }
    for (const hit of hits) {
      if (!hit.echo) problems.push(`secret in a log: ${hit.kind} in ${hit.source}: ${hit.line}`);
    }
    return { observation, problems, hits };
  }

  private async restart(ep: Endpoint): Promise<void> {
    for (const key of ep.servers) await this.ctx.systems.restart(key);
    this.ctx.pool.clear();
    // Lines of the stopped servers belong to the failing input, already judged.
    for (const capture of this.ctx.systems.logs.values()) capture.take();
  }

  /** The known finding a failure is an instance of, if any. */
  knownFor(ep: Endpoint, execution: Execution): string | undefined {
    return this.options.known.find(
      (k) =>
        k.appliesTo.test(ep.name) &&
        execution.problems.some((p) => k.matches.test(p)) &&
        (k.request === undefined || k.request(execution.observation.request ?? {})),
    )?.id;
  }

  async runEndpoint(ep: Endpoint): Promise<EndpointResult> {
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const requestsBefore = this.ctx.requests;
    const poolBefore = { made: this.ctx.pool.made, reused: this.ctx.pool.reused };
    const result: EndpointResult = {
      name: ep.name,
      group: ep.group,
      what: ep.what,
      inputs: 0,
      histogram: {},
      failures: [],
      echoes: 0,
      requests: 0,
      seconds: 0,
      cpuSeconds: 0,
      slowestMs: 0,
      fixtures: { made: 0, reused: 0 },
      rssMb: 0,
    };
    const bySignature = new Map<string, FailureRecord>();
    this.history = [];
    let remaining = this.options.runs;
    let seed = this.options.seed;
    const deadline = this.options.maxSeconds === undefined ? Infinity : started + this.options.maxSeconds * 1000;
    let lastProgress = performance.now();
    while (remaining > 0) {
      let generated = 0;
      let shrinking: { signature: string; steps: number; until: number } | undefined;
      const property = fc.asyncProperty(ep.recipe(), async (recipe) => {
        if (shrinking) {
          shrinking.steps += 1;
          if (shrinking.steps > this.options.maxShrinks || performance.now() > shrinking.until) return true;
          const settle = shrinking.signature.startsWith('uncaught') ? SETTLE_MS : 0;
          const execution = await this.execute(ep, recipe, settle);
          if (execution.problems.length > 0) await this.restart(ep);
          return !(execution.problems.length > 0 && signatureOf(execution.problems) === shrinking.signature);
        }
        generated += 1;
        result.inputs += 1;
        const execution = await this.execute(ep, recipe);
        this.history.push(recipe);
        if (this.history.length > HISTORY) this.history.shift();
        const { observation } = execution;
        result.histogram[observation.outcome] = (result.histogram[observation.outcome] ?? 0) + 1;
        result.slowestMs = Math.max(result.slowestMs, observation.ms ?? 0);
        result.echoes += execution.hits.filter((h) => h.echo).length;
        if (this.options.progress && performance.now() - lastProgress > 10_000) {
          lastProgress = performance.now();
          this.options.progress(
            `  ${ep.name}: ${result.inputs} inputs, ${Math.round((performance.now() - started) / 1000)} s`,
          );
        }
        if (execution.problems.length === 0) return true;
        const signature = signatureOf(execution.problems);
        const seen = bySignature.get(signature);
        if (seen) {
          seen.count += 1;
          const known = this.options.known.find((k) => k.id === seen.known);
          if (ep.stateful && (known === undefined || known.poisons)) await this.restart(ep);
          return true;
        }
        await this.restart(ep);
        const known = this.knownFor(ep, execution);
        const record: FailureRecord = {
          signature,
          problems: execution.problems.slice(0, 5),
          count: 1,
          firstInput: result.inputs,
          ...(known ? { known } : {}),
        };
        bySignature.set(signature, record);
        // A known finding has its reproducer already; past the limit, failures are counted only.
        if (known || bySignature.size > this.options.maxFailures) {
          record.reproducer = await this.confirm(ep, recipe, seed, '', signature, false);
          return true;
        }
        shrinking = { signature, steps: 0, until: performance.now() + this.options.shrinkBudgetMs };
        return false;
      });
      const timeLeft = deadline - performance.now();
      if (timeLeft <= 0) {
        result.stoppedAtTimeLimit = true;
        break;
      }
      const details = await fc.check(property, {
        numRuns: remaining,
        seed,
        endOnFailure: true,
        ...(Number.isFinite(timeLeft)
          ? { interruptAfterTimeLimit: Math.ceil(timeLeft), markInterruptAsFailure: false }
          : {}),
      });
      remaining -= generated;
      if (details.interrupted && !details.failed) {
        result.stoppedAtTimeLimit = true;
        break;
      }
      if (details.failed && details.counterexample && shrinking) {
        const record = bySignature.get(shrinking.signature)!;
        record.reproducer = await this.confirm(
          ep,
          details.counterexample[0],
          seed,
          details.counterexamplePath ?? '',
          shrinking.signature,
        );
      }
      if (!details.failed) break;
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    }
    result.failures = [...bySignature.values()];
    result.requests = this.ctx.requests - requestsBefore;
    result.fixtures = { made: this.ctx.pool.made - poolBefore.made, reused: this.ctx.pool.reused - poolBefore.reused };
    result.seconds = Math.round((performance.now() - started) / 100) / 10;
    const cpu = process.cpuUsage(cpuBefore);
    result.cpuSeconds = Math.round((cpu.user + cpu.system) / 1e5) / 10;
    result.rssMb = Math.round(process.memoryUsage().rss / 1e6);
    return result;
  }

  /**
   * Replay the shrunk input alone, on fresh servers. When it passes alone, the failure needed an
   * earlier input: try the latest ones, newest first, each before it on fresh servers.
   */
  private async confirm(
    ep: Endpoint,
    recipe: unknown,
    seed: number,
    path: string,
    signature: string,
    searchHistory = true,
  ): Promise<Reproducer> {
    await this.restart(ep);
    const execution = await this.execute(ep, recipe, SETTLE_MS);
    if (execution.problems.length > 0) await this.restart(ep);
    let alone = execution.problems.length > 0 && signatureOf(execution.problems) === signature;
    let shown = execution;
    let after: unknown;
    if (!alone && searchHistory) {
      // The failing input itself is the newest entry: start with the one before it. An error that
      // surfaced a moment late belongs to the earlier input: then that one is the reproducer.
      await this.restart(ep);
      for (const earlier of this.history.slice(0, -1).reverse()) {
        const first = await this.execute(ep, earlier, SETTLE_MS);
        if (first.problems.length > 0 && signatureOf(first.problems) === signature) {
          await this.restart(ep);
          recipe = earlier;
          shown = first;
          alone = true;
          path = '';
          break;
        }
        const again = await this.execute(ep, recipe, SETTLE_MS);
        await this.restart(ep);
        if (again.problems.length > 0 && signatureOf(again.problems) === signature) {
          after = printable(earlier);
          break;
        }
      }
    }
    return {
      ...(after !== undefined ? { after } : {}),
      recipe: printable(recipe),
      ...(shown.observation.request ? { request: shown.observation.request } : {}),
      ...(shown.observation.answer ? { answer: shown.observation.answer } : {}),
      problems: shown.problems.slice(0, 5),
      seed,
      path,
      replay: path
        ? `npm run fuzz -- --endpoints ${ep.name} --seed ${seed} --replay ${path}`
        : 'not replayable by path (a known finding, a failure past the number shrunk, or the input before the one that showed it)',
      reproducesAlone: alone,
    };
  }

  /** Replay one input (a known finding, or --replay): the problems it shows on fresh servers. */
  async replayRecipe(ep: Endpoint, recipe: unknown): Promise<Execution> {
    await this.restart(ep);
    const execution = await this.execute(ep, recipe, SETTLE_MS);
    if (execution.problems.length > 0) await this.restart(ep);
    return execution;
  }

  async replayPath(ep: Endpoint, seed: number, path: string): Promise<Execution | undefined> {
    let found: Execution | undefined;
    await fc.check(
      fc.asyncProperty(ep.recipe(), async (recipe) => {
        if (found) return true;
        found = await this.replayRecipe(ep, recipe);
        return true;
      }),
      { seed, path, numRuns: 1 },
    );
    return found;
  }
}

/** One failure kind: the first problem, with numbers, ids and quoted text blurred. */
export function signatureOf(problems: readonly string[]): string {
  const first = problems[0] ?? '';
  const kind = /^secret in a log: ([^:]+ in [^:]+):/.exec(first)?.[1];
  if (kind) return `secret in a log: ${kind}`;
  // "<server> answered 500 to GET /path?query": one kind per server, status and route.
  const answered = /^(\S+ answered \d+ to \S+ [^?\s]*)/.exec(first)?.[1];
  const head = answered
    ? answered.replace(/\/cli-[A-Za-z0-9_-]+/g, '/{login_id}').replace(/\/interaction\/[^/]+/, '/interaction/{uid}')
    : first.split(/: |\n/)[0]!;
  return head
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\b[A-Za-z0-9_-]{20,}\b/g, '…')
    .replace(/\d+/g, 'N')
    .slice(0, 120);
}

/** Log lines that are a finding by themselves: level error, or a request answered >= 500. */
function logProblem(source: string, line: string): { text: string; upstreamStatus?: boolean } | undefined {
  const isError = line.includes('"level":"error"');
  const is5xx = /"status":5\d\d\b/.test(line);
  if (!isError && !is5xx) return undefined;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(line);
  } catch {
    return { text: `${source} wrote a log line that is not JSON: ${line.slice(0, 300)}` };
  }
  const event = String(parsed['event'] ?? '');
  if (isError) return { text: `${source} logged an error: ${event} ${line.slice(0, 500)}` };
  const status = parsed['status'];
  if (event === 'request' && typeof status === 'number' && status >= 500) {
    return {
      text: `${source} answered ${status} to ${String(parsed['method'])} ${String(parsed['path']).slice(0, 200)}`,
      upstreamStatus: source.startsWith('gateway-') && (status === 502 || status === 504),
    };
  }
  return undefined;
}

/** A recipe as JSON (long strings cut, so a report stays readable). */
export function printable(value: unknown, depth = 0): unknown {
  if (typeof value === 'string')
    return value.length > 300 ? `${value.slice(0, 300)}... (${value.length} chars)` : value;
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => printable(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = printable(v, depth + 1);
  return out;
}
