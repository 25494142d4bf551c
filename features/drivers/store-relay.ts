/**
 * A TCP relay the harness puts between the gateways under test and their Redis, to make the store
 * fail at a chosen moment and come back, whatever the gateway's language or Redis client.
 *
 * `failAfterChanges(n)` arms it: from then on each reply Redis sends, on any connection, is held
 * until the relay has asked Redis (on a connection of its own) how many writes it has carried out
 * since arming (`rdb_changes_since_last_save` of `INFO persistence`, which counts every change to
 * the data, whatever the key or the command, Lua scripts and transactions included, and nothing
 * else: reads and PUBLISH do not count). When n writes have happened, the reply that came with the
 * n-th is swallowed, every connection is cut, and new connections are closed at once: the store has
 * failed right after carrying out that write and before saying so. The gateway sees no reply and a
 * dropped connection, as when Redis or the network between dies. `recover()` lets connections
 * through again.
 *
 * Only the data's change count is looked at, never key names or commands: the relay judges any
 * gateway by what crosses the wire to its store.
 */
import { createServer, type Server, Socket } from 'node:net';
import { Redis } from 'ioredis';

type Mode =
  | { kind: 'pass' }
  | { kind: 'armed'; baseline: number; changes: number; failed: () => void }
  | { kind: 'down' };

export class StoreRelay {
  private mode: Mode = { kind: 'pass' };
  private readonly sockets = new Set<Socket>();
  private failures = 0;

  private constructor(
    private readonly server: Server,
    /** The relay's own connection to Redis, for the change count; never through the relay. */
    private readonly probe: Redis,
    readonly url: string,
  ) {}

  static async start(redisHost: string, redisPort: number): Promise<StoreRelay> {
    const probe = new Redis({ host: redisHost, port: redisPort, lazyConnect: true, maxRetriesPerRequest: 1 });
    await probe.connect();
    let relay: StoreRelay | undefined;
    const server = createServer((client) => relay?.accept(client, redisHost, redisPort));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('the store relay has no port');
    relay = new StoreRelay(server, probe, `redis://127.0.0.1:${address.port}`);
    return relay;
  }

  /** How many times the store was made to fail so far. */
  get failed(): number {
    return this.failures;
  }

  /** Whether the store is down (made to fail and not yet recovered). */
  get down(): boolean {
    return this.mode.kind === 'down';
  }

  /**
   * Arms the relay: the store fails right after the n-th write it carries out from now on.
   * `failed` settles when it has (never, when fewer writes come).
   */
  async failAfterChanges(n: number): Promise<{ failed: Promise<void> }> {
    const baseline = await this.changeCount();
    let failed: () => void = () => undefined;
    const promise = new Promise<void>((resolve) => {
      failed = resolve;
    });
    this.mode = { kind: 'armed', baseline, changes: n, failed };
    return { failed: promise };
  }

  /** Disarms without failing (the writes awaited never came). */
  disarm(): void {
    if (this.mode.kind === 'armed') this.mode = { kind: 'pass' };
  }

  /** The store is back: new connections go through again. */
  recover(): void {
    this.mode = { kind: 'pass' };
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.probe.disconnect();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket, host: string, port: number): void {
    if (this.mode.kind === 'down') {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    this.sockets.add(client);
    this.sockets.add(upstream);
    const forget = () => {
      this.sockets.delete(client);
      this.sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', forget).on('close', forget);
    upstream.on('error', forget).on('close', forget);
    upstream.connect(port, host);
    client.on('data', (request) => {
      if (this.mode.kind !== 'down') upstream.write(request);
    });
    // Replies are handed on in order; while armed, each waits for the change count.
    let queue = Promise.resolve();
    upstream.on('data', (reply) => {
      queue = queue.then(() => this.relayReply(client, reply)).catch(() => forget());
    });
  }

  private async relayReply(client: Socket, reply: Buffer): Promise<void> {
    if (this.mode.kind === 'armed') {
      const armed = this.mode;
      const changes = (await this.changeCount()) - armed.baseline;
      // The mode may have moved on while the count was asked for (another connection failed it).
      if (this.mode === armed && changes >= armed.changes) {
        this.failures += 1;
        this.mode = { kind: 'down' };
        for (const socket of this.sockets) socket.destroy();
        this.sockets.clear();
        armed.failed();
        return;
      }
    }
    if (this.mode.kind === 'down') return;
    client.write(reply);
  }

  private async changeCount(): Promise<number> {
    const info = await this.probe.info('persistence');
    const match = /rdb_changes_since_last_save:(\d+)/.exec(info);
    if (!match) throw new Error(`Redis's INFO persistence has no rdb_changes_since_last_save: ${info.slice(0, 200)}`);
    return Number(match[1]);
  }
}
