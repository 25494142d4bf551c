/**
 * CLI targets: the reference CLI by default, or any command (`--cli-cmd`), driven exactly as a
 * person drives it: argv, environment, stdin/stdout, HOME, and the BROWSER variable.
 *
 * The CLI talks to the gateway through a WireTap, so scenarios can check what it received and sent.
 * BROWSER points at browser-catcher.sh, which records the URL the CLI opens and holds the CLI's
 * browser command until the harness has noted what the CLI had printed by then; a CLI that does not
 * honour BROWSER is still usable, because the URL is also read from its output.
 *
 * HOME is the CLI's alone: the harness keeps its own files (run logs, the browser log) in a folder
 * beside it, so that whatever is found under HOME was written by the CLI.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redactTranscript } from '../../protocol/redact.ts';
import { StartedProcess, shellQuote } from './child-process.ts';

export interface CliTarget {
  /** Shell command line of the CLI, e.g. `lite` or `python3 cli.py`. */
  command: string;
  label: string;
  /**
   * The CLI says it writes LiteLLM's `~/.litellm/token.json` with the key in it (LiteLLM's SDK reads
   * that file). Only then are that file's fields judged; its mode is judged whenever it exists.
   */
  writesTokenFile: boolean;
}

export interface CliRunOptions {
  target: CliTarget;
  /** The scenario's temporary HOME, the CLI's alone. */
  home: string;
  /** The CLI's TMPDIR, the scenario's alone: a file the CLI leaves there is judged as one under HOME. */
  tmpDir: string;
  /** The harness's own files for this CLI (run logs, the browser log): not under HOME. */
  harnessDir: string;
  /** The gateway URL the CLI is given (LITELLM_PROXY_URL). */
  baseUrl: string;
  baseEnv: Readonly<Record<string, string>>;
  /**
   * Environment that puts a process on the scenario's moved clock, asked at each start: empty while
   * the CLI's clock is not what the scenario judges (the CLI then runs on the real clock).
   */
  clockEnv: () => Record<string, string>;
  /** The user's `--cli-env` settings. */
  userEnv: Readonly<Record<string, string>>;
  /** Variables of the harness's own for every run (SSO_CONFORMANCE_*): the user cannot override them. */
  harnessEnv: Readonly<Record<string, string>>;
}

const CATCHER = fileURLToPath(new URL('./browser-catcher.sh', import.meta.url));

/** The URL of the browser login as printed or opened by any LiteLLM-style CLI. */
const LOGIN_URL_PATTERN = /https?:\/\/[^\s'"<>]+\/sso\/key\/generate\?[^\s'"<>]+/;
/** The verification code as shown to people: `XXXX-XXXX`. */
const USER_CODE_PATTERN = /\b[A-Z0-9]{4}-[A-Z0-9]{4}\b/;
/** How often the harness looks for a URL the CLI asked the browser catcher to open. */
const BROWSER_LOG_POLL_MS = 20;
/** How long output the CLI wrote before opening the browser may take to reach the harness. */
const OUTPUT_SETTLE_MS = 150;

/** One URL the CLI asked the browser to open, and what the CLI had printed at that moment. */
export interface BrowserOpening {
  url: string;
  printedBefore: string;
}

export class CliSession {
  private sequence = 0;
  readonly runs: StartedProcess[] = [];
  /** Every URL the CLI opened through BROWSER, in order. */
  readonly browserOpenings: BrowserOpening[] = [];
  private watcher: NodeJS.Timeout | undefined;

  constructor(private readonly options: CliRunOptions) {}

  get browserLog(): string {
    return join(this.options.harnessDir, 'browser-opened.log');
  }

  /** Start `<cli> <args...>`; the caller waits on it. */
  start(args: readonly string[], extraEnv: Readonly<Record<string, string>> = {}): StartedProcess {
    this.sequence += 1;
    const env: Record<string, string> = {
      ...this.options.baseEnv,
      // Python block-buffers stdout on a pipe; a person's terminal is line-buffered. Without this a
      // Python CLI's URL would reach the harness only when the process exits.
      PYTHONUNBUFFERED: '1',
      ...this.options.userEnv,
      HOME: this.options.home,
      TMPDIR: this.options.tmpDir,
      LITELLM_PROXY_URL: this.options.baseUrl,
      BROWSER: `${shellQuote(CATCHER)} %s`,
      SSO_CONFORMANCE_BROWSER_LOG: this.browserLog,
      ...this.options.harnessEnv,
      ...this.options.clockEnv(),
      ...extraEnv,
    };
    const run = new StartedProcess({
      command: this.options.target.command,
      args,
      env,
      cwd: this.options.home,
      logFile: join(this.options.harnessDir, `cli-run-${this.sequence}.log`),
      stdin: 'pipe',
      kind: 'CLI',
    });
    this.runs.push(run);
    this.watchBrowser();
    return run;
  }

  /** Run to completion (deadline `timeoutMs`) with `input` on stdin, and return the exit and output. */
  async run(
    args: readonly string[],
    options: { timeoutMs?: number; env?: Readonly<Record<string, string>>; input?: string } = {},
  ): Promise<CliResult> {
    const run = this.start(args, options.env);
    run.child.stdin?.on('error', () => undefined);
    run.child.stdin?.end(options.input ?? '');
    const exit = await withDeadline(run.exited, options.timeoutMs ?? 30_000, `cli ${args.join(' ')}`).catch(
      async (error: unknown) => {
        await run.stop(500);
        throw error;
      },
    );
    return { exitCode: exit.code, stdout: run.stdout, stderr: run.stderr };
  }

  /** The login URL this run opened through BROWSER for the login it printed, else the one it printed. */
  async loginUrl(run: StartedProcess, timeoutMs: number): Promise<string> {
    const printed = await firstMatch(run, LOGIN_URL_PATTERN, timeoutMs, 'the CLI printing the login URL');
    const loginId = new URL(printed).searchParams.get('key');
    const opened = this.browserOpenings.find(
      (o) => LOGIN_URL_PATTERN.test(o.url) && loginId !== null && o.url.includes(encodeURIComponent(loginId)),
    );
    return opened?.url ?? printed;
  }

  /**
   * The verification code the CLI printed, as printed. Given the code the gateway issued, that code
   * in any letter case, with its dash, a space or nothing between its halves (the gateway takes each
   * of them, CLISSO-COMPLETE-01): a CLI may show it in its own style, and a pattern in any case
   * would take words like "sign-into" for a code.
   */
  userCode(run: StartedProcess, timeoutMs: number, issued?: string): Promise<string> {
    const halves = issued?.split('-');
    const pattern =
      halves?.length === 2 && halves.every((half) => /^[A-Z0-9]+$/.test(half))
        ? new RegExp(`\\b${halves[0]}[-\\s]?${halves[1]}\\b`, 'i')
        : USER_CODE_PATTERN;
    return firstMatch(run, pattern, timeoutMs, 'the CLI printing the verification code');
  }

  /** Every run's transcript, for reports (the CLI itself must not print secrets). */
  transcript(): string {
    return this.runs
      .map(
        (r, i) => `--- run ${i + 1} (${r.exitStatus ? `exit ${r.exitStatus.code}` : 'running'}) ---\n${r.transcript}`,
      )
      .join('\n');
  }

  /** The CLI's own last words: the last lines of its latest run, for failure messages. */
  lastWords(lines = 12): string {
    const last = this.runs.at(-1);
    if (!last) return '(the CLI was not run)';
    const text = last.transcript.trimEnd().split('\n').slice(-lines).join('\n');
    const exit = last.exitStatus ? `exit ${last.exitStatus.code ?? last.exitStatus.signal}` : 'still running';
    return `the CLI's last output (${exit}):\n${showControlCharacters(redactTranscript(text)) || '(nothing)'}`;
  }

  async stopAll(): Promise<void> {
    if (this.watcher) clearInterval(this.watcher);
    this.watcher = undefined;
    await Promise.all(this.runs.map((r) => r.stop(1000)));
  }

  /**
   * While a run lives, note each URL the browser catcher records together with what the CLI had
   * printed by then, then let the catcher return (see browser-catcher.sh).
   */
  private watchBrowser(): void {
    if (this.watcher) return;
    let firstSeenAtMs: number | undefined;
    this.watcher = setInterval(() => {
      if (!existsSync(this.browserLog)) return;
      const urls = readFileSync(this.browserLog, 'utf8').split('\n').filter(Boolean);
      if (urls.length > this.browserOpenings.length) {
        // What the CLI wrote before it ran its browser command may still be in the pipe: let it
        // arrive before looking. A CLI that waits for its browser command prints nothing meanwhile.
        firstSeenAtMs ??= Date.now();
        if (Date.now() - firstSeenAtMs < OUTPUT_SETTLE_MS) return;
        firstSeenAtMs = undefined;
      }
      for (let n = this.browserOpenings.length; n < urls.length; n++) {
        const printedBefore = this.runs.map((r) => r.transcript).join('\n');
        this.browserOpenings.push({ url: urls[n] as string, printedBefore });
        writeFileSync(`${this.browserLog}.seen.${n + 1}`, '');
      }
      if (this.runs.every((r) => r.exitStatus)) {
        clearInterval(this.watcher);
        this.watcher = undefined;
      }
    }, BROWSER_LOG_POLL_MS);
  }
}

/**
 * Control characters written as `\xNN`: a CLI's output goes into failure messages and reports, and a
 * terminal showing them must not obey an escape sequence a CLI passed on.
 */
export function showControlCharacters(text: string): string {
  let shown = '';
  for (const character of text) {
    const code = character.charCodeAt(0);
    const control = character !== '\n' && character !== '\t' && (code < 0x20 || (code >= 0x7f && code <= 0x9f));
    shown += control ? `\\x${code.toString(16).padStart(2, '0')}` : character;
  }
  return shown;
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
