/**
 * Run the CLI as a user does: a child process (`node --import tsx cli/main.ts ...`) with its own
 * temporary HOME and a clean environment, observed only through its exit code, stdout, stderr and
 * the files it leaves (architecture.md, convention 12).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listen } from '../../common/http-server.ts';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI_MAIN = join(REPO_ROOT, 'cli', 'main.ts');

export interface CliRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stderr; rejects with what was seen at the deadline. */
  waitForStderr(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kill the CLI if it still runs and wait for it: every test closes what it started. */
  stop(): Promise<void>;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface TempHome {
  home: string;
  tokenFile: string;
  remove(): Promise<void>;
}

export async function makeTempHome(): Promise<TempHome> {
  const home = await mkdtemp(join(tmpdir(), 'cli-sso-home-'));
  return {
    home,
    tokenFile: join(home, '.litellm', 'token.json'),
    remove: () => rm(home, { recursive: true, force: true }),
  };
}

/** Only what a user's shell would pass; nothing of the test runner's own LITELLM_* or BROWSER. */
export function cleanEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    // A user's PATH: this node first, then the system's.
    PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    // Fast retries and polls in tests; the defaults (500 ms, 2 s) are checked separately.
    CLI_SSO_RETRY_DELAY_MS: '50',
    CLI_SSO_POLL_INTERVAL_MS: '100',
    ...extra,
  };
}

export function startCli(args: string[], env: Record<string, string>): CliRun {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const stderrListeners = new Set<() => void>();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    for (const listener of stderrListeners) listener();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('close', (code, signal) => {
      for (const listener of stderrListeners) listener();
      resolve({ code, signal });
    });
  });
  let closed = false;
  void exited.then(() => {
    closed = true;
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    stop: async () => {
      if (!closed) child.kill('SIGKILL');
      await exited;
    },
    waitForStderr: (pattern, timeoutMs = 60_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = stderr.match(pattern);
          if (match) {
            cleanup();
            resolve(match);
          } else if (closed) {
            cleanup();
            reject(new Error(`the CLI exited before printing ${pattern}; stderr was:\n${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${pattern} on stderr within ${timeoutMs} ms; stderr was:\n${stderr}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          stderrListeners.delete(check);
        };
        stderrListeners.add(check);
        check();
      }),
  };
}

export async function runCli(args: string[], env: Record<string, string>): Promise<CliResult> {
  const run = startCli(args, env);
  run.child.stdin?.end();
  const { code } = await run.exited;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** The login URL, code and session id the CLI printed (docs/contract.md section 8). */
export async function readLoginInstructions(
  run: CliRun,
): Promise<{ loginUrl: string; userCode: string; loginId: string }> {
  const match = await run.waitForStderr(/^(http\S+)$[\s\S]*?Verification code: (\S+)\nSession id: (\S+)\n/m);
  return { loginUrl: match[1] ?? '', userCode: match[2] ?? '', loginId: match[3] ?? '' };
}

/** A port on which nothing listens (just closed), for "gateway unreachable". */
export async function closedPort(): Promise<number> {
  const server = await listen((_req, res) => res.end(), '127.0.0.1', 0);
  await server.close();
  return server.port;
}
