/**
 * The loopback listener a native CLI starts to catch the browser's redirect after the consent page
 * (docs/contract.md section 10.6): an HTTP server on 127.0.0.1 that notes the query of every request
 * to its callback path and answers a short plain-text page, as a CLI does.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer } from '../../common/http-server.ts';

const CALLBACK_PATH = '/callback';

export class LoopbackListener {
  /** The query of every request to the callback path, in order. */
  readonly callbacks: URLSearchParams[] = [];
  private waiters: Array<() => void> = [];

  private constructor(
    private readonly server: Server,
    /** The redirect URI a CLI registers for this listener. */
    readonly redirectUri: string,
  ) {}

  static async start(): Promise<LoopbackListener> {
    let listener: LoopbackListener | undefined;
    const server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== CALLBACK_PATH) {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found.');
        return;
      }
      listener?.note(url.searchParams);
      res
        .writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' })
        .end('Sign-in finished. You can close this window.');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const { port } = server.address() as AddressInfo;
    listener = new LoopbackListener(server, `http://127.0.0.1:${port}${CALLBACK_PATH}`);
    return listener;
  }

  private note(query: URLSearchParams): void {
    this.callbacks.push(query);
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** The `index`-th callback (0 = the first), once it has come; undefined when it has not within `deadlineMs`. */
  async callback(index: number, deadlineMs: number): Promise<URLSearchParams | undefined> {
    const until = Date.now() + deadlineMs;
    while (this.callbacks.length <= index) {
      const left = until - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.callbacks[index];
  }

  /**
   * Stop listening first, then end every connection: the browser may open a connection (a
   * preconnect) between the two, which a close waiting for connections to end would wait on.
   */
  close(): Promise<void> {
    return closeServer(this.server);
  }
}
