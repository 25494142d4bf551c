/**
 * Test support: a real redis-server and a throwaway PostgreSQL cluster, started by the test itself
 * on free ports and stopped by it (machine-notes.md section 3). When a binary is missing, the
 * helpers say why, so the test can skip with that reason printed.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';

import { freePort, waitForPort } from '../../common/http-server.ts';

export { freePort, waitForPort };

/** The test passes its PATH and uid in: only main.ts and test files read `process`. */
export interface Host {
  path: string;
  uid: number | undefined;
}

function which(host: Host, binary: string): boolean {
  return host.path.split(':').some((dir) => existsSync(join(dir, binary)));
}

export interface RedisServer {
  url: string;
  port: number;
  /** Stop the server; start() brings it back on the same port (empty: it saves nothing). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stop and delete its directory. */
  destroy(): Promise<void>;
}

export function redisSkipReason(host: Host): string | undefined {
  return which(host, 'redis-server') ? undefined : 'redis-server is not installed (apt-get install redis-server)';
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'reference-proxy-redis-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(
      'redis-server',
      ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore' },
    );
    await waitForPort(port);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    destroy: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface PostgresCluster {
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stop and delete the cluster. */
  destroy(): Promise<void>;
}

export function postgresSkipReason(host: Host): string | undefined {
  if (!existsSync(join(PG_BIN, 'initdb'))) return `PostgreSQL 15 binaries are not in ${PG_BIN}`;
  if (host.uid !== 0) return 'the throwaway PostgreSQL cluster needs root (runuser -u postgres)';
  if (!which(host, 'runuser')) return 'runuser is not installed';
  return undefined;
}

/** initdb + pg_ctl as the postgres user (both refuse root), trust auth, fsync off. */
export async function startPostgres(): Promise<PostgresCluster> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'reference-proxy-pg-'));
  await chmod(dir, 0o755);
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  const asPostgres = (binary: string, args: string[]) =>
    run('runuser', ['-u', 'postgres', '--', join(PG_BIN, binary), ...args], { timeout: 30_000 });
  await asPostgres('initdb', ['-D', join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '--no-sync']);
  const start = async () => {
    await asPostgres('pg_ctl', [
      '-D',
      join(dir, 'data'),
      '-l',
      join(dir, 'log'),
      '-w',
      '-o',
      `-h 127.0.0.1 -p ${port} -k ${dir} -c fsync=off`,
      'start',
    ]);
  };
  const stop = async () => {
    await asPostgres('pg_ctl', ['-D', join(dir, 'data'), '-m', 'fast', '-w', 'stop']).catch(() => undefined);
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start,
    stop,
    destroy: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
