/**
 * A throwaway PostgreSQL server for the replica scenarios: replicas of a gateway share their user
 * database as LiteLLM's replicas share theirs (`DATABASE_URL`). Its own cluster in the run's scratch
 * folder, its own port, trust authentication on 127.0.0.1 only, no fsync; the postmaster runs in
 * the foreground as the harness's child, so it is stopped by its PID like everything else the run
 * starts. initdb and postgres refuse to run as root: as root they run as the `postgres` user.
 */
import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StartedProcess, shellQuote } from './child-process.ts';
import { claimFreePort } from './ports.ts';

const run = promisify(execFile);

export interface PostgresTools {
  /** The folder holding `initdb` and `postgres`. */
  binDir: string;
  /** Run them as this user (root cannot); undefined runs them as the harness's own user. */
  runAs: { user: string; uid: number; gid: number } | undefined;
}

export class PostgresServer {
  private process: StartedProcess;

  private constructor(
    readonly url: string,
    private readonly tools: PostgresTools,
    private readonly dir: string,
    private readonly port: number,
    private readonly baseEnv: Readonly<Record<string, string>>,
  ) {
    this.process = this.spawn();
  }

  static async start(
    tools: PostgresTools,
    workDir: string,
    baseEnv: Readonly<Record<string, string>>,
  ): Promise<PostgresServer> {
    const dir = await mkdtemp(join(workDir, 'postgres-'));
    if (tools.runAs) {
      await chmod(dir, 0o755);
      await chown(dir, tools.runAs.uid, tools.runAs.gid);
    }
    const [command, ...args] = commandLine(tools, 'initdb', [
      '-D',
      join(dir, 'data'),
      '-U',
      'postgres',
      '-A',
      'trust',
      '--no-sync',
    ]);
    await run(command as string, args, { env: { ...baseEnv }, timeout: 60_000 });
    const port = await claimFreePort(workDir);
    const server = new PostgresServer(`postgres://postgres@127.0.0.1:${port}/postgres`, tools, dir, port, baseEnv);
    await server.ready();
    return server;
  }

  /** Fast shutdown (SIGINT): open connections are cut, as when a database server goes away. */
  async stop(): Promise<void> {
    await this.process.stop(10_000, 'SIGINT');
  }

  /** The same cluster on the same port again, after stop(). */
  async restart(): Promise<void> {
    await this.stop();
    this.process = this.spawn();
    await this.ready();
  }

  private spawn(): StartedProcess {
    const [command, ...args] = commandLine(this.tools, 'postgres', [
      '-D',
      join(this.dir, 'data'),
      '-h',
      '127.0.0.1',
      '-p',
      String(this.port),
      '-k',
      this.dir,
      '-c',
      'fsync=off',
    ]);
    return new StartedProcess({
      command: shellQuote(command as string),
      args,
      env: { ...this.baseEnv },
      cwd: this.dir,
      logFile: join(this.dir, 'postgres.log'),
      kind: 'PostgreSQL',
    });
  }

  private async ready(): Promise<void> {
    await this.process.waitForOutput(
      (p) => /database system is ready to accept connections/.test(p.transcript),
      30_000,
      'postgres starting',
    );
  }
}

function commandLine(tools: PostgresTools, binary: string, args: string[]): string[] {
  const path = join(tools.binDir, binary);
  return tools.runAs ? ['runuser', '-u', tools.runAs.user, '--', path, ...args] : [path, ...args];
}
