/**
 * Gateway targets (architecture.md, "Targets: one path for ours and theirs").
 *
 * - `command`: the harness starts the gateway itself, once per configuration, with the environment
 *   the scenarios ask for. The embedded default (our reference proxy) is started through this very
 *   path, with no back door. Placeholders in the command: `{port}`, `{config}` (a LiteLLM
 *   config.yaml written by the harness), `{base_url}`.
 * - `url`: a gateway that is already running with a declared configuration; scenarios that need
 *   another configuration are skipped with the reason.
 *
 * Every gateway the harness starts runs under libfaketime with its own timestamp file, so a scenario
 * can move its clock whatever language it is written in.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitForHttpAnswer } from '../../common/http-server.ts';
import { ConfigurationNotOffered } from '../support/skip-reason.ts';
import { describeExit, StartedProcess, shellQuote } from './child-process.ts';
import { FakeClock } from './fake-clock.ts';
import { claimFreePort } from './ports.ts';
import { timings } from './timings.ts';

export type GatewayTarget =
  | { kind: 'command'; command: string; label: string }
  | { kind: 'url'; url: string; declaredEnv: Readonly<Record<string, string>>; label: string };

/**
 * What a group of scenarios needs from the gateway: its environment (docs/contract.md section 3).
 */
export type GatewayEnv = Readonly<Record<string, string>>;

export interface ModelEntry {
  modelName: string;
  model: string;
}

/** The gateway could not be started or did not answer: a failure of the target. */
export class GatewayUnavailable extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'GatewayUnavailable';
  }
}

export interface RunningGateway {
  /** Base URL clients use, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly env: GatewayEnv;
  /** Moves this gateway's clock; undefined when the target cannot be time-travelled. */
  readonly clock: FakeClock | undefined;
  /** What the gateway printed (stdout and stderr), for evidence. Empty for `url` targets. */
  log(): string;
  /**
   * Call before each login start: LiteLLM allows 30 starts a minute per client IP, and every
   * scenario starts from 127.0.0.1. Waits for a free slot when this minute's budget is used (a
   * gateway the harness started is restarted instead, before the scenario begins).
   */
  admitLoginStart(): Promise<void>;
}

export interface GatewayPoolOptions {
  target: GatewayTarget;
  /** Folder for gateway working directories and logs. */
  workDir: string;
  /** Environment every started gateway inherits (PATH, LANG, ...). */
  baseEnv: Readonly<Record<string, string>>;
  models: readonly ModelEntry[];
  faketimeLibrary: string | undefined;
  startTimeoutMs: number;
  /**
   * At most this many gateways alive at once. To make room, the configuration the run has used
   * least is stopped first (the least recently used of those), never one the running scenario uses.
   */
  maxAlive: number;
  log: (line: string) => void;
}

/**
 * Variables with this prefix only tell the harness apart two gateways of the same configuration
 * (a replica number, a scenario that needs a fresh rate limit); gateways ignore them.
 */
export const HARNESS_ONLY_PREFIX = 'SSO_CONFORMANCE_';

/** Booleans compare in any case (docs/contract.md section 3); everything else exactly. */
function sameSetting(declared: string | undefined, wanted: string): boolean {
  if (declared === undefined) return false;
  const bool = /^(true|false)$/i;
  return bool.test(declared) && bool.test(wanted)
    ? declared.toLowerCase() === wanted.toLowerCase()
    : declared === wanted;
}

/**
 * Starts per minute we allow ourselves against one gateway; LiteLLM's limit is 30
 * (docs/contract.md section 2.1).
 */
const START_BUDGET_PER_MINUTE = 25;
/** A gateway the harness started is restarted before a scenario once this many starts are used. */
const RESTART_AFTER_STARTS = 20;

class StartedGateway implements RunningGateway {
  lastUsed = Date.now();
  /** The scenario (GatewayPool.beginScenario's count) that last acquired this gateway. */
  lastScenario = 0;
  private readonly starts: number[] = [];

  constructor(
    readonly url: string,
    readonly env: GatewayEnv,
    readonly clock: FakeClock | undefined,
    readonly process: StartedProcess | undefined,
  ) {}

  log(): string {
    return this.process?.transcript ?? '';
  }

  async admitLoginStart(): Promise<void> {
    while (this.recentStarts() >= START_BUDGET_PER_MINUTE) {
      const freeAt = (this.starts[0] ?? Date.now()) + 60_000;
      await new Promise((resolve) => setTimeout(resolve, Math.max(10, freeAt - Date.now())));
    }
    this.starts.push(Date.now());
  }

  recentStarts(): number {
    const since = Date.now() - 60_000;
    while (this.starts.length > 0 && (this.starts[0] ?? 0) < since) this.starts.shift();
    return this.starts.length;
  }
}

export class GatewayPool {
  private readonly alive = new Map<string, StartedGateway>();
  /** Scenarios that acquired each configuration so far, restarts and stops included. */
  private readonly uses = new Map<string, number>();
  private started = 0;
  private scenario = 0;

  constructor(private readonly options: GatewayPoolOptions) {}

  get target(): GatewayTarget {
    return this.options.target;
  }

  /** A scenario begins: the gateways it acquires are not stopped to make room until the next one. */
  beginScenario(): void {
    this.scenario += 1;
  }

  /**
   * A gateway running with `env` (on top of the harness's IdP settings). Started on first use and
   * reused by later scenarios with the same configuration.
   */
  async acquire(env: GatewayEnv): Promise<RunningGateway> {
    const target = this.options.target;
    if (target.kind === 'url') return this.declaredGateway(target, env);
    const key = stableKey(env);
    this.uses.set(key, this.usesOf(key) + 1);
    const existing = this.alive.get(key);
    if (existing && !existing.process?.exitStatus) {
      if (existing.recentStarts() < RESTART_AFTER_STARTS) {
        existing.lastUsed = Date.now();
        existing.lastScenario = this.scenario;
        return existing;
      }
      this.options.log(`restarting gateway ${existing.url}: login-start budget for this minute used`);
    }
    if (existing) await this.stop(key, existing);
    await this.makeRoom();
    const began = performance.now();
    const gateway = await this.start(target.command, env);
    timings.add(`gateway start: ${startReason(existing, this.usesOf(key))}`, performance.now() - began);
    gateway.lastScenario = this.scenario;
    this.alive.set(key, gateway);
    return gateway;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.alive.entries()].map(([key, gateway]) => this.stop(key, gateway)));
  }

  /** Stop a gateway that only one scenario needed (e.g. one whose Redis is gone). */
  async retire(gateway: RunningGateway): Promise<void> {
    for (const [key, candidate] of this.alive) {
      if (candidate === gateway) await this.stop(key, candidate);
    }
  }

  private declaredGateway(target: Extract<GatewayTarget, { kind: 'url' }>, env: GatewayEnv): RunningGateway {
    const differences = Object.entries(env).filter(
      ([name, value]) => !name.startsWith(HARNESS_ONLY_PREFIX) && !sameSetting(target.declaredEnv[name], value),
    );
    if (differences.length > 0) {
      const shown = differences.map(([name, value]) => `${name}=${JSON.stringify(value)}`).join(', ');
      throw new ConfigurationNotOffered(`needs ${shown}, but the gateway at ${target.url} declares otherwise`);
    }
    const key = `url:${target.url}`;
    let gateway = this.alive.get(key);
    if (!gateway) {
      gateway = new StartedGateway(target.url.replace(/\/+$/, ''), target.declaredEnv, undefined, undefined);
      this.alive.set(key, gateway);
    }
    return gateway;
  }

  /**
   * Stop gateways until there is room for one more. The configuration used by the fewest scenarios
   * goes first (a configuration one scenario needed is rarely needed again, while the default one
   * serves most of the suite: plain LRU kept stopping and restarting it), the least recently used
   * among equals. A gateway the running scenario acquired is never stopped; with nothing else
   * left, the pool grows past its size until the scenario ends.
   */
  private async makeRoom(): Promise<void> {
    while (this.alive.size >= this.options.maxAlive) {
      const victim = [...this.alive.entries()]
        .filter(([, gateway]) => gateway.lastScenario < this.scenario)
        .sort(([keyA, a], [keyB, b]) => this.usesOf(keyA) - this.usesOf(keyB) || a.lastUsed - b.lastUsed)[0];
      if (!victim) return;
      await this.stop(...victim);
    }
  }

  private usesOf(key: string): number {
    return this.uses.get(key) ?? 0;
  }

  private async stop(key: string, gateway: StartedGateway): Promise<void> {
    this.alive.delete(key);
    await gateway.process?.stop();
  }

  private async start(command: string, env: GatewayEnv): Promise<StartedGateway> {
    this.started += 1;
    const dir = await mkdtemp(join(this.options.workDir, `gateway-${this.started}-`));
    await mkdir(dir, { recursive: true });
    const port = await claimFreePort(this.options.workDir);
    const url = `http://127.0.0.1:${port}`;
    const configFile = join(dir, 'config.yaml');
    await writeFile(configFile, liteLlmConfig(this.options.models, env));
    const clock = this.options.faketimeLibrary ? await FakeClock.create(join(dir, 'faketime')) : undefined;
    const processEnv: Record<string, string> = {
      ...this.options.baseEnv,
      HOME: dir,
      PORT: String(port),
      HOST: '127.0.0.1',
      PROXY_BASE_URL: url,
      CONFIG_FILE_PATH: configFile,
      ...withPort(env, port),
      ...(clock && this.options.faketimeLibrary ? clock.processEnv(this.options.faketimeLibrary) : {}),
    };
    const commandLine = command
      .replaceAll('{port}', String(port))
      .replaceAll('{config}', shellQuote(configFile))
      .replaceAll('{base_url}', url);
    const logFile = join(dir, 'gateway.log');
    this.options.log(`starting gateway #${this.started} on ${url} (log: ${logFile})`);
    const child = new StartedProcess({ command: commandLine, env: processEnv, cwd: dir, logFile, kind: 'gateway' });
    await waitUntilServing(url, child, this.options.startTimeoutMs);
    return new StartedGateway(url, env, clock, child);
  }
}

/** Why the pool starts a gateway, for the run's timings. */
function startReason(existing: StartedGateway | undefined, uses: number): string {
  if (existing?.process?.exitStatus) return 'again, it had exited';
  if (existing) return 'again, its login-start budget was used';
  return uses > 1 ? 'again, it had been stopped to make room' : 'a configuration first used';
}

/** A gateway is ready when it answers HTTP at all (any status) on /health/liveliness. */
async function waitUntilServing(url: string, child: StartedProcess, timeoutMs: number): Promise<void> {
  try {
    await waitForHttpAnswer(`${url}/health/liveliness`, {
      timeoutMs,
      gone: () =>
        child.exitStatus &&
        `the gateway exited (${describeExit(child.exitStatus)}) before serving; its output:\n${child.transcript.slice(-4000)}`,
    });
  } catch (error) {
    await child.stop();
    throw new GatewayUnavailable(error instanceof Error ? error.message : String(error));
  }
}

/**
 * A scenario's setting may name the port the gateway gets, which is chosen only at start:
 * `PROXY_BASE_URL=http://localhost:{port}`.
 */
function withPort(env: GatewayEnv, port: number): Record<string, string> {
  return Object.fromEntries(
    // String(): a step may have stored a number (`LITELLM_CLI_JWT_EXPIRATION_HOURS` from an {int}).
    Object.entries(env).map(([name, value]) => [name, String(value).replaceAll('{port}', String(port))]),
  );
}

/** A setting as the started gateway has it (`{port}` filled in). */
export function settingOf(gateway: RunningGateway, name: string): string | undefined {
  const value = gateway.env[name];
  return value === undefined ? undefined : String(value).replaceAll('{port}', new URL(gateway.url).port);
}

function stableKey(env: GatewayEnv): string {
  return JSON.stringify(Object.entries(env).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * Settings LiteLLM reads only from its config file's `general_settings`: a scenario states them as a
 * variable (which a gateway may read as well, and by which a declared gateway is matched), and the
 * harness writes them into the config file of every gateway it starts.
 */
const GENERAL_SETTINGS_VARIABLES: Readonly<Record<string, string>> = {
  ALLOW_CLI_SSO_VERIFICATION_URI_COMPLETE: 'allow_cli_sso_verification_uri_complete',
};

/**
 * LiteLLM's config.yaml shape: `model_list` entries with `model_name` and `litellm_params.model`,
 * and `general_settings` from the scenario's variables above (booleans as booleans).
 * Written in YAML's JSON form (every JSON document is YAML): any YAML reader takes it, and a gateway
 * written with a standard library alone (Python's, Go's) reads it without a YAML parser of its own.
 */
function liteLlmConfig(models: readonly ModelEntry[], env: GatewayEnv = {}): string {
  const generalSettings: Record<string, unknown> = {};
  for (const [variable, field] of Object.entries(GENERAL_SETTINGS_VARIABLES)) {
    const value = env[variable];
    if (value === undefined) continue;
    const lower = String(value).toLowerCase();
    generalSettings[field] = lower === 'true' ? true : lower === 'false' ? false : value;
  }
  const config = {
    model_list: models.map((m) => ({ model_name: m.modelName, litellm_params: { model: m.model } })),
    ...(Object.keys(generalSettings).length > 0 ? { general_settings: generalSettings } : {}),
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
