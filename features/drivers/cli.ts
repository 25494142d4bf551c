/**
 * CLI targets: the reference CLI by default, or any command (`--cli-cmd`), driven exactly as a
 * person drives it: argv, environment, stdin/stdout, HOME, and the BROWSER variable.
 *
 * The CLI talks to the gateway through a WireTap, so scenarios can check what it received.
 * BROWSER points at browser-catcher.sh, which records the URL the CLI opens; a CLI that does not
 * honour BROWSER is still usable, because the URL is also read from its output.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StartedProcess, shellQuote } from './child-process.ts';
import type { FakeClock } from './fake-clock.ts';

export interface CliTarget {
  /** Shell command line of the CLI, e.g. `litellm-proxy` or `node --import tsx cli/main.ts`. */
  command: string;
  label: string;
}

export interface CliRunOptions {
  target: CliTarget;
  /** The scenario's temporary HOME. */
  home: string;
  /** The gateway URL the CLI is given (LITELLM_PROXY_URL). */
  baseUrl: string;
  baseEnv: Readonly<Record<string, string>>;
  /** Puts the CLI on the scenario's moved clock, when there is one. */
  clock?: { clock: FakeClock; library: string };
  extraEnv?: Readonly<Record<string, string>>;
}

const CATCHER = fileURLToPath(new URL('./browser-catcher.sh', import.meta.url));

/** The URL of the browser login as printed or opened by any LiteLLM-style CLI. */
const LOGIN_URL_PATTERN = /https?:\/\/[^\s'"<>]+\/sso\/key\/generate\?[^\s'"<>]+/;
/** The verification code as shown to people: `XXXX-XXXX`. */
const USER_CODE_PATTERN = /\b[A-Z0-9]{4}-[A-Z0-9]{4}\b/;

export class CliSession {
  private sequence = 0;
  readonly runs: StartedProcess[] = [];

  constructor(private readonly options: CliRunOptions) {}

  get browserLog(): string {
    return join(this.options.home, 'browser-opened.log');
  }

  /** Start `<cli> <args...>`; the caller waits on it. */
  start(args: readonly string[], extraEnv: Readonly<Record<string, string>> = {}): StartedProcess {
    this.sequence += 1;
    const env: Record<string, string> = {
      ...this.options.baseEnv,
      HOME: this.options.home,
      LITELLM_PROXY_URL: this.options.baseUrl,
      BROWSER: `${shellQuote(CATCHER)} %s`,
      SSO_CONFORMANCE_BROWSER_LOG: this.browserLog,
      ...(this.options.clock ? this.options.clock.clock.processEnv(this.options.clock.library) : {}),
      ...this.options.extraEnv,
      ...extraEnv,
    };
    const run = new StartedProcess({
      command: this.options.target.command,
      args,
      env,
      cwd: this.options.home,
      logFile: join(this.options.home, `cli-run-${this.sequence}.log`),
      stdin: 'pipe',
    });
    this.runs.push(run);
    return run;
  }

  /** Run to completion (deadline `timeoutMs`) and return the exit code and output. */
  async run(
    args: readonly string[],
    timeoutMs = 30_000,
    extraEnv: Readonly<Record<string, string>> = {},
  ): Promise<CliResult> {
    const run = this.start(args, extraEnv);
    run.child.stdin?.end();
    const exit = await withDeadline(run.exited, timeoutMs, `cli ${args.join(' ')}`);
    return { exitCode: exit.code, stdout: run.stdout, stderr: run.stderr };
  }

  /** The login URL the CLI opened through BROWSER, else the one it printed. */
  async loginUrl(run: StartedProcess, timeoutMs: number): Promise<string> {
    const printed = await firstMatch(run, LOGIN_URL_PATTERN, timeoutMs, 'the CLI printing the login URL');
    const opened = await readFile(this.browserLog, 'utf8').catch(() => '');
    return opened.split('\n').find((line) => LOGIN_URL_PATTERN.test(line)) ?? printed;
  }

  /** The verification code the CLI printed. */
  userCode(run: StartedProcess, timeoutMs: number): Promise<string> {
    return firstMatch(run, USER_CODE_PATTERN, timeoutMs, 'the CLI printing the verification code');
  }

  /** Every run's transcript, for reports (the CLI itself must not print secrets). */
  transcript(): string {
    return this.runs
      .map(
        (r, i) => `--- run ${i + 1} (${r.exitStatus ? `exit ${r.exitStatus.code}` : 'running'}) ---\n${r.transcript}`,
      )
      .join('\n');
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.runs.map((r) => r.stop(1000)));
  }
}

/** The first text in the run's output matching `pattern`, waiting for it until the deadline. */
async function firstMatch(run: StartedProcess, pattern: RegExp, timeoutMs: number, what: string): Promise<string> {
  let found: string | undefined;
  await run.waitForOutput(
    (p) => {
      found = pattern.exec(p.transcript)?.[0];
      return found !== undefined;
    },
    timeoutMs,
    what,
  );
  return found as string;
}

export interface CliResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

export async function withDeadline<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
