/**
 * A throwaway redis-server for the replica scenarios: its own port, no persistence, stopped by PID.
 */
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../../common/http-server.ts';
import { StartedProcess, shellQuote } from './child-process.ts';

export class RedisServer {
  private constructor(
    readonly url: string,
    private readonly process: StartedProcess,
  ) {}

  static async start(binary: string, workDir: string, baseEnv: Readonly<Record<string, string>>): Promise<RedisServer> {
    const dir = await mkdtemp(join(workDir, 'redis-'));
    const port = await freePort();
    const process = new StartedProcess({
      command: shellQuote(binary),
      args: ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
      env: { ...baseEnv },
      cwd: dir,
      logFile: join(dir, 'redis.log'),
    });
    await process.waitForOutput(
      (p) => /Ready to accept connections/.test(p.transcript),
      10_000,
      'redis-server starting',
    );
    return new RedisServer(`redis://127.0.0.1:${port}`, process);
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }
}
