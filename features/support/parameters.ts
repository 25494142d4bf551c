/**
 * What features/main.ts hands to every scenario (Cucumber world parameters): the targets, the
 * tools found on this machine and where to put things. Plain JSON, no behaviour.
 */
import type { CliTarget } from '../drivers/cli.ts';
import type { GatewayTarget, ModelEntry } from '../drivers/gateway.ts';
import type { PostgresTools } from '../drivers/postgres-server.ts';

export interface HarnessParameters {
  gateway: GatewayTarget;
  /** The contract profile the run judges (--profile); the reference gateway is started with it. */
  profile: string;
  /** The IDs of the requirements that profile judges: a scenario with none of them is skipped. */
  profileRequirements: string[];
  cli: CliTarget;
  chromiumPath: string;
  /** WebSocket endpoint of the run's one browser (set by runSuite), which every worker connects to. */
  browserEndpoint: string;
  /** Gateways one worker keeps running at once; the least recently used one is stopped first. */
  maxGateways: number;
  faketimeLibrary: string | undefined;
  redisServer: string | undefined;
  postgres: PostgresTools | undefined;
  /** Environment every process the harness starts inherits (PATH, LANG, ...). */
  baseEnv: Record<string, string>;
  /** The user's `--cli-env` settings, given to every CLI run. */
  cliEnv: Record<string, string>;
  /** The user's `--gateway-env` settings, given to every gateway the harness starts. */
  gatewayEnv: Record<string, string>;
  /** Per-run scratch folder: gateway working directories, scenario HOMEs. */
  workDir: string;
  /** Where evidence of failed scenarios goes (traces, transcripts, logs). */
  evidenceDir: string;
  /** Mock IdP address; port 0 picks a free one. */
  idpHost: string;
  idpPort: number;
  /** The master key the harness gives the gateways it starts (LITELLM_MASTER_KEY). */
  masterKey: string;
  models: ModelEntry[];
  gatewayStartTimeoutMs: number;
  /** Print a line of progress to the person running the suite. */
  verbose: boolean;
  /**
   * No gateway serves two scenarios, and every gateway and CLI the harness starts is told which
   * scenario it serves (`SSO_CONFORMANCE_SCENARIO=<feature>:<line>`): what a process did can then be
   * attributed to one scenario (npm run mutate records coverage this way).
   */
  isolateScenarios: boolean;
}
