/**
 * A recording relay between a CLI under test and the gateway: the CLI is given the tap's URL as its
 * base URL, every request is forwarded unchanged (streamed, so long polls work), and each exchange
 * is recorded. Scenarios assert on what crossed the wire (architecture.md, convention 12) without
 * knowing anything about the CLI's internals; evidence written to reports is redacted.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen, type RunningServer } from '../../common/http-server.ts';
import { redact, redactUrl } from '../../protocol/redact.ts';

export interface Exchange {
  method: string;
  /** Path and query as the client sent them (may hold secrets: never print unredacted). */
  path: string;
  requestHeaders: Record<string, string>;
  status: number;
  responseBody: string;
}

export class WireTap {
  readonly exchanges: Exchange[] = [];
  private server: RunningServer | undefined;

  constructor(private readonly upstream: URL) {}

  get url(): string {
    if (!this.server) throw new Error('wire tap is not started');
    return this.server.url;
  }

  async start(): Promise<void> {
    this.server = await listen((req, res) => this.relay(req, res), '127.0.0.1', 0);
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  /** Parsed JSON bodies of the answers to requests whose path starts with `pathPrefix`. */
  jsonAnswers(method: string, pathPrefix: string): Array<{ status: number; body: unknown }> {
    return this.exchanges
      .filter((e) => e.method === method && e.path.startsWith(pathPrefix))
      .map((e) => ({ status: e.status, body: parseJsonOrText(e.responseBody) }));
  }

  /** Redacted, human-readable log of every exchange, for reports. */
  evidence(): string {
    return this.exchanges
      .map((e) => {
        const body = redact(parseJsonOrText(e.responseBody));
        return `${e.method} ${redactUrl(e.path)} -> ${e.status}\n  ${typeof body === 'string' ? body.slice(0, 500) : JSON.stringify(body)}`;
      })
      .join('\n');
  }

  private relay(req: IncomingMessage, res: ServerResponse): void {
    const requestHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string') requestHeaders[name] = value;
    }
    const upstreamRequest = httpRequest(
      {
        host: this.upstream.hostname,
        port: this.upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: this.upstream.host },
      },
      (upstreamResponse) => {
        res.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        const chunks: Buffer[] = [];
        upstreamResponse.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          res.write(chunk);
        });
        upstreamResponse.on('end', () => {
          res.end();
          this.exchanges.push({
            method: req.method ?? 'GET',
            path: req.url ?? '/',
            requestHeaders,
            status: upstreamResponse.statusCode ?? 0,
            responseBody: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    upstreamRequest.on('error', (error) => {
      this.exchanges.push({
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        requestHeaders,
        status: 0,
        responseBody: error.message,
      });
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`wire tap: gateway unreachable (${error.message})`);
    });
    req.pipe(upstreamRequest);
  }
}

function parseJsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
