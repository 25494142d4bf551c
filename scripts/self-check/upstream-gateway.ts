/**
 * The real gateway behind a broken one: started as a child process on a free loopback port, with
 * the environment the harness gave the relay (PROXY_BASE_URL stays the relay's own URL, so the
 * IdP's redirect to /sso/callback comes back through the relay). Not detached: it shares the
 * relay's process group, so a harness that stops the group stops both.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { Env } from '../../common/config.ts';
import { freePort, waitForHttpAnswer } from '../../common/http-server.ts';

export interface UpstreamOptions {
  /** argv of the gateway; `{port}` and `{config}` are filled in. */
  argv: readonly string[];
  env: Env;
  configFile: string | undefined;
  startTimeoutMs: number;
}

export interface UpstreamExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningUpstream {
  url: string;
  pid: number | undefined;
  /** Resolves once the gateway answers; rejects with UpstreamStartError if it exits or times out first. */
  ready: Promise<void>;
  /** Resolves when the child has exited, however that happened. */
  exited: Promise<UpstreamExit>;
  /** SIGTERM, then SIGKILL if it is still there after `graceMs`. */
  stop(graceMs?: number): Promise<UpstreamExit>;
}

export class UpstreamStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UpstreamStartError';
  }
}

const UPSTREAM_HOST = '127.0.0.1';

/** Start the gateway; it is serving once `ready` resolves (stop it whatever happens to `ready`). */
export async function launchUpstream(options: UpstreamOptions): Promise<RunningUpstream> {
  const port = await freePort();
  const url = `http://${UPSTREAM_HOST}:${port}`;
  const argv = options.argv.map((arg) =>
    arg.replaceAll('{port}', String(port)).replaceAll('{config}', options.configFile ?? ''),
  );
  const [command, ...args] = argv;
  if (command === undefined) throw new UpstreamStartError('the upstream gateway command is empty');
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.env)) if (value !== undefined) env[name] = value;
  env.PORT = String(port);
  env.HOST = UPSTREAM_HOST;
  const child = spawn(command, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
  let exit: UpstreamExit | undefined;
  const exited = new Promise<UpstreamExit>((resolve) => {
    // A command that cannot be run at all (ENOENT) ends here instead of in 'exit'.
    child.once('error', () => {
      exit = { code: null, signal: null };
      resolve(exit);
    });
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  return {
    url,
    pid: child.pid,
    ready: waitUntilServing(url, () => exit, options.startTimeoutMs),
    exited,
    stop: (graceMs = 5000) => stopChild(child, exited, () => exit, graceMs),
  };
}

/** Ready when `GET /health/liveliness` answers at all (any status), as the harness decides. */
async function waitUntilServing(url: string, exitOf: () => UpstreamExit | undefined, timeoutMs: number): Promise<void> {
  try {
    await waitForHttpAnswer(`${url}/health/liveliness`, {
      timeoutMs,
      gone: () => {
        const exit = exitOf();
        return exit && `the gateway behind the relay exited (${describeExit(exit)}) before serving`;
      },
    });
  } catch (error) {
    throw new UpstreamStartError(error instanceof Error ? error.message : String(error));
  }
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<UpstreamExit>,
  exitOf: () => UpstreamExit | undefined,
  graceMs: number,
): Promise<UpstreamExit> {
  const done = exitOf();
  if (done) return done;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  const exit = await exited;
  clearTimeout(timer);
  return exit;
}

export function describeExit(exit: UpstreamExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}
