/**
 * Where the mock IdP listens. The issuer defaults to the bound address, which port 0 gives only
 * once bound, so the listener binds first and is handed the app afterwards. Until then it answers
 * 503 (startMockIdp builds the app synchronously right after binding, so nothing is answered so).
 */
import type { RequestListener } from 'node:http';
import { listen, type RunningServer } from '../common/http-server.ts';

export class Listener {
  private handler: RequestListener | undefined;
  private lastRequestMs = performance.now();

  private constructor(private readonly server: RunningServer) {}

  /** Bind `host:port` (0 = any free port). */
  static async open(host: string, port: number): Promise<Listener> {
    let self: Listener | undefined;
    const server = await listen(
      (req, res) => {
        if (self) self.lastRequestMs = performance.now();
        const handler = self?.handler;
        if (handler) handler(req, res);
        else res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"temporarily_unavailable"}');
      },
      host,
      port,
    );
    self = new Listener(server);
    return self;
  }

  /** `http://host:port` with the port actually bound. */
  get url(): string {
    return this.server.url;
  }

  get port(): number {
    return this.server.port;
  }

  /** Milliseconds since the last request arrived (or since the port was opened). */
  idleMs(): number {
    return performance.now() - this.lastRequestMs;
  }

  /** From now on every request goes to `handler`. */
  serve(handler: RequestListener): void {
    this.handler = handler;
  }

  /** Stop listening and end open connections. */
  close(): Promise<void> {
    return this.server.close();
  }
}
