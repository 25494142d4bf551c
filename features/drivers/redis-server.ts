/**
 * A throwaway redis-server for the replica scenarios: its own port and folder, stopped by PID.
 *
 * Persistence is `none` (no RDB, no AOF: a restart loses every key) unless the scenario asks for
 * `aof-always` (`--appendonly yes --appendfsync always`): every write is on disk (fdatasync)
 * before Redis acknowledges it, so a crash loses no acknowledged write (docs/stores.md).
 */
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { StartedProcess, shellQuote } from './child-process.ts';
import { claimFreePort } from './ports.ts';

export type RedisPersistence = 'none' | 'aof-always';

const PERSISTENCE_ARGS: Record<RedisPersistence, string[]> = {
  none: ['--save', '', '--appendonly', 'no'],
  'aof-always': ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always'],
};

export class RedisServer {
  private process: StartedProcess;

  private constructor(
    private readonly binary: string,
    private readonly dir: string,
    readonly port: number,
    private readonly persistence: RedisPersistence,
    private readonly baseEnv: Readonly<Record<string, string>>,
  ) {
    this.process = this.spawn();
  }

  static async start(
    binary: string,
    workDir: string,
    baseEnv: Readonly<Record<string, string>>,
    persistence: RedisPersistence = 'none',
  ): Promise<RedisServer> {
    const dir = await mkdtemp(join(workDir, 'redis-'));
    const server = new RedisServer(binary, dir, await claimFreePort(workDir), persistence, baseEnv);
    await server.ready();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }

  /**
   * A crash and a restart: SIGKILL (no shutdown save, no last flush), then the same server on the
   * same port and folder, ready once it has loaded whatever its persistence kept.
   */
  async crashAndRestart(): Promise<void> {
    await this.process.stop(0, 'SIGKILL');
    this.process = this.spawn();
    await this.ready();
  }

  private spawn(): StartedProcess {
    return new StartedProcess({
      command: shellQuote(this.binary),
      args: [
        '--bind',
        '127.0.0.1',
        '--port',
        String(this.port),
        ...PERSISTENCE_ARGS[this.persistence],
        '--dir',
        this.dir,
      ],
      env: { ...this.baseEnv },
      cwd: this.dir,
      logFile: join(this.dir, 'redis.log'),
      kind: 'Redis',
    });
  }

  private async ready(): Promise<void> {
    await this.process.waitForOutput(
      (p) => /Ready to accept connections/.test(p.transcript),
      10_000,
      'redis-server starting',
    );
  }
}
