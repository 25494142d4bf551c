/**
 * A run's command line, checked whole before anything is built or started: every flag's value, the
 * files it names (the running gateway's declared environment, the expected failures, the durations
 * to balance shards by) and the combinations of flags. Every problem is reported at once, as one
 * UsageError (exit code 2), so a user fixes a command line in one go.
 */
import { availableParallelism } from 'node:os';
import { positiveInt } from '../../common/command-line.ts';
import { readDurations } from './run-record.ts';
import { parseShard, type ShardSpec } from './shards.ts';
import {
  declaredIdpAddress,
  envAssignments,
  HARNESS_CLI_VARIABLES,
  HARNESS_GATEWAY_VARIABLES,
  readDeclaredConfig,
  readExpectedFailures,
} from './targets.ts';

/** What commander hands over: every value still as typed. */
export interface RawRunFlags {
  gatewayCmd?: string;
  gatewayUrl?: string;
  gatewayConfig?: string;
  gatewayStartTimeout?: string;
  cliCmd?: string;
  cliWritesTokenFile?: boolean;
  cliEnv?: string[];
  gatewayEnv?: string[];
  stepTimeout?: string;
  tags?: string;
  name?: string;
  reports?: string;
  expectedFailures?: string;
  parallel?: string;
  maxGateways?: string;
  isolateScenarios?: boolean;
  shard?: string;
  shardDurations?: string;
  verbose?: boolean;
  timings?: boolean;
  profile?: string;
}

/** The gateway the user named, before the run builds anything. */
export type NamedGateway =
  | { kind: 'embedded' }
  | { kind: 'command'; command: string }
  | { kind: 'url'; url: string; declaredEnv: Record<string, string>; idp: { host: string; port: number } };

export interface RunOptions {
  gateway: NamedGateway;
  /** The contract profile judged (--profile): one of the catalogue's, by default its newest. */
  profile: string;
  gatewayStartTimeoutMs: number;
  /** The CLI under test; undefined = the reference CLI. */
  cliCommand: string | undefined;
  cliWritesTokenFile: boolean;
  cliEnv: Record<string, string>;
  gatewayEnv: Record<string, string>;
  stepTimeoutMs: number;
  tags: string | undefined;
  name: string | undefined;
  reports: string;
  expectedFailures: string[] | undefined;
  parallel: number;
  maxGateways: number;
  isolateScenarios: boolean;
  shard: ShardSpec | undefined;
  /** Seconds by scenario id from an earlier run (--shard-durations); empty without one. */
  durations: Map<string, number>;
  verbose: boolean;
  /** Print where the run's time went, phase by phase (features/runner/timings-report.ts). */
  timings: boolean;
}

/**
 * One worker more than the machine has cores: a worker spends part of each scenario waiting (for a
 * gateway to start, a page to load, the next poll), and a third worker on 2 cores fills those
 * gaps. Measured on 2 cores, seven and eight runs in alternation: the cores were busy 90-93 % of the
 * run with 2 workers and 95-96 % with 3, for about the same CPU time (docs/speed.md).
 */
export const DEFAULT_WORKERS = availableParallelism() + 1;
export const DEFAULT_STEP_TIMEOUT_SECONDS = 60;
export const DEFAULT_GATEWAY_START_TIMEOUT_SECONDS = 60;
export const DEFAULT_MAX_GATEWAYS = 8;
export const DEFAULT_REPORTS_DIR = 'reports';

export class UsageError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      problems.length === 1
        ? (problems[0] as string)
        : `${problems.length} problems with the command line:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'UsageError';
  }
}

/**
 * Checks the whole command line; throws one UsageError listing every problem found.
 * `profiles`: the requirement catalogue's profiles, oldest first (features/requirements.yaml).
 */
export async function readRunOptions(
  raw: RawRunFlags,
  shell: Readonly<Record<string, string | undefined>>,
  profiles: readonly string[],
): Promise<RunOptions> {
  const problems: string[] = [];
  const newest = profiles.at(-1) ?? '';
  if (raw.profile !== undefined && !profiles.includes(raw.profile)) {
    problems.push(
      `--profile must be one of ${profiles.join(', ')} (the contract profiles of features/requirements.yaml), got "${raw.profile}"`,
    );
  }
  const seconds = (flag: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback * 1000;
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
      problems.push(`${flag} must be a positive number of seconds, got "${text}"`);
      return fallback * 1000;
    }
    return Math.round(value * 1000);
  };
  const count = (flag: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    try {
      return positiveInt(text);
    } catch (error) {
      problems.push(`${flag} ${(error as Error).message}, got "${text}"`);
      return fallback;
    }
  };

  let gateway: NamedGateway = raw.gatewayCmd ? { kind: 'command', command: raw.gatewayCmd } : { kind: 'embedded' };
  if (raw.gatewayCmd && raw.gatewayUrl) problems.push('--gateway-cmd and --gateway-url cannot be used together');
  if (raw.gatewayConfig && !raw.gatewayUrl)
    problems.push('--gateway-config declares a running gateway: give --gateway-url too');
  if (raw.gatewayUrl) {
    if (!/^https?:\/\/[^/]/.test(raw.gatewayUrl)) {
      problems.push(`--gateway-url must be an absolute http(s) URL, got "${raw.gatewayUrl}"`);
    }
    if (!raw.gatewayConfig) {
      problems.push('--gateway-url needs --gateway-config FILE declaring the environment that gateway runs with');
    } else {
      const declared = await readDeclaredConfig(raw.gatewayConfig);
      problems.push(...declared.problems);
      if (declared.problems.length === 0) {
        const idp = declaredIdpAddress(declared.env);
        problems.push(...idp.problems);
        if (idp.address) gateway = { kind: 'url', url: raw.gatewayUrl, declaredEnv: declared.env, idp: idp.address };
      }
    }
  }

  const cliEnv = envAssignments('--cli-env', raw.cliEnv ?? [], HARNESS_CLI_VARIABLES, shell);
  const gatewayEnv = envAssignments('--gateway-env', raw.gatewayEnv ?? [], HARNESS_GATEWAY_VARIABLES, shell);
  problems.push(...cliEnv.problems, ...gatewayEnv.problems);
  if (raw.cliWritesTokenFile && !raw.cliCmd) {
    problems.push(
      '--cli-writes-token-file describes the CLI under test: give --cli-cmd too (the reference CLI writes it)',
    );
  }

  let expectedFailures: string[] | undefined;
  if (raw.expectedFailures !== undefined) {
    const read = await readExpectedFailures('--expected-failures', raw.expectedFailures);
    problems.push(...read.problems);
    expectedFailures = read.names;
  }

  let shard: ShardSpec | undefined;
  if (raw.shard !== undefined) {
    try {
      shard = parseShard(raw.shard);
    } catch (error) {
      problems.push(`--shard ${(error as Error).message}`);
    }
  }
  let durations = new Map<string, number>();
  if (raw.shardDurations !== undefined) {
    if (raw.shard === undefined) problems.push('--shard-durations balances shards: give --shard i/n too');
    try {
      durations = await readDurations(raw.shardDurations);
    } catch (error) {
      problems.push(`--shard-durations ${(error as Error).message}`);
    }
  }

  const options: RunOptions = {
    gateway,
    profile: raw.profile ?? newest,
    gatewayStartTimeoutMs: seconds(
      '--gateway-start-timeout',
      raw.gatewayStartTimeout,
      DEFAULT_GATEWAY_START_TIMEOUT_SECONDS,
    ),
    cliCommand: raw.cliCmd,
    cliWritesTokenFile: raw.cliWritesTokenFile === true,
    cliEnv: cliEnv.env,
    gatewayEnv: gatewayEnv.env,
    stepTimeoutMs: seconds('--step-timeout', raw.stepTimeout, DEFAULT_STEP_TIMEOUT_SECONDS),
    tags: raw.tags,
    name: raw.name,
    reports: raw.reports ?? DEFAULT_REPORTS_DIR,
    expectedFailures,
    parallel: count('--parallel', raw.parallel, DEFAULT_WORKERS),
    maxGateways: count('--max-gateways', raw.maxGateways, DEFAULT_MAX_GATEWAYS),
    isolateScenarios: raw.isolateScenarios === true,
    shard,
    durations,
    verbose: raw.verbose === true,
    timings: raw.timings === true,
  };
  if (problems.length > 0) throw new UsageError(problems);
  return options;
}
