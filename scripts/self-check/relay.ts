/**
 * The relay under every broken gateway: an HTTP server that forwards each request to a real gateway
 * (the "upstream") and lets one fault look at, change or answer the exchange. Requests a fault does
 * not touch are streamed both ways untouched, so a `Prefer: wait=N` long poll (docs/contract.md
 * section 2, poll, reference choice) is held open exactly as long as the upstream holds it.
 */
import { type IncomingHttpHeaders, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { Logger } from '../../common/logger.ts';

/** Hop-by-hop headers (RFC 9110 section 7.6.1) belong to one connection and are never relayed. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Buffered bodies are small JSON or HTML answers; anything larger is refused rather than held. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/** What a fault may change about the request it sends upstream. */
export interface UpstreamRequest {
  /** Path and query, e.g. `/sso/cli/poll/cli-abc`; default: the incoming one. */
  path?: string;
  /** Replaces the incoming headers (hop-by-hop ones are dropped either way). */
  headers?: IncomingHttpHeaders;
  /** A body to send instead of the incoming one. */
  body?: Buffer;
  /** Source address of the connection to the upstream (a loopback alias such as 127.0.0.7). */
  localAddress?: string;
  /** Default: the incoming method. */
  method?: string;
}

/** A complete upstream answer, read into memory so a fault can inspect or rewrite it. */
export interface UpstreamAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** One request through the relay, with the tools a fault uses on it. */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The path without the query, e.g. `/sso/cli/poll/cli-abc`. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** The whole incoming body (read once, on first call). */
  requestBody(): Promise<Buffer>;
  /** Send a request upstream and read the whole answer. */
  fetch(request?: UpstreamRequest): Promise<UpstreamAnswer>;
  /** Send a request upstream and stream its answer to the client as it comes. */
  forward(request?: UpstreamRequest): Promise<void>;
  /** Answer the client with a complete answer (usually an upstream one, possibly rewritten). */
  reply(answer: UpstreamAnswer): void;
}

/**
 * A deliberate fault: answers the exchange itself (returning true) or returns false so the relay
 * streams it untouched. `fired` is called each time the fault actually changed something.
 */
export type FaultHandler = (exchange: Exchange) => Promise<boolean>;

export interface RelayOptions {
  upstreamUrl: string;
  fault: FaultHandler;
  logger: Logger;
}

export function createRelayHandler(options: RelayOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const upstream = new URL(options.upstreamUrl);
  return (req, res) => {
    const exchange = new RelayExchange(req, res, upstream);
    options
      .fault(exchange)
      .then((handled) => (handled ? undefined : exchange.forward()))
      .catch((error: unknown) => {
        options.logger.error('relay_failed', {
          method: req.method,
          path: exchange.path,
          error: error instanceof Error ? error.message : String(error),
        });
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ detail: 'Bad gateway: the relay could not reach the gateway behind it' }));
        } else res.destroy();
      });
  };
}

class RelayExchange implements Exchange {
  readonly path: string;
  readonly query: URLSearchParams;
  private body: Promise<Buffer> | undefined;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    private readonly upstream: URL,
  ) {
    const url = new URL(req.url ?? '/', 'http://relay.invalid');
    this.path = url.pathname;
    this.query = url.searchParams;
  }

  requestBody(): Promise<Buffer> {
    this.body ??= readAll(this.req);
    return this.body;
  }

  async fetch(over: UpstreamRequest = {}): Promise<UpstreamAnswer> {
    const body = over.body ?? (await this.requestBody());
    const upstreamRes = await this.send(over, body);
    return { status: upstreamRes.statusCode ?? 502, headers: upstreamRes.headers, body: await readAll(upstreamRes) };
  }

  async forward(over: UpstreamRequest = {}): Promise<void> {
    // A body already read by the fault is re-sent; otherwise the incoming stream is piped through.
    const body = over.body ?? (this.body ? await this.body : undefined);
    const upstreamRes = await this.send(over, body);
    upstreamRes.once('error', () => this.res.destroy());
    this.res.writeHead(upstreamRes.statusCode ?? 502, endToEnd(upstreamRes.headers));
    // Send the status line at once: a held-open long poll must not look like a dead relay.
    this.res.flushHeaders();
    upstreamRes.pipe(this.res);
    await new Promise<void>((resolve) => {
      this.res.once('close', () => {
        upstreamRes.destroy();
        resolve();
      });
    });
  }

  reply(answer: UpstreamAnswer): void {
    const headers = endToEnd(answer.headers);
    delete headers['content-length'];
    this.res.writeHead(answer.status, { ...headers, 'content-length': String(answer.body.length) });
    this.res.end(answer.body);
  }

  /** Open the upstream request; resolves with its response head. The client hanging up aborts it. */
  private send(over: UpstreamRequest, body: Buffer | undefined): Promise<IncomingMessage> {
    const headers = endToEnd(over.headers ?? this.req.headers);
    if (body !== undefined) {
      delete headers['content-length'];
      if (body.length > 0 || this.req.method !== 'GET') headers['content-length'] = String(body.length);
    }
    return new Promise((resolve, reject) => {
      const upstreamReq = request({
        protocol: this.upstream.protocol,
        hostname: this.upstream.hostname,
        port: this.upstream.port,
        method: over.method ?? this.req.method,
        path: over.path ?? this.req.url ?? '/',
        headers,
        agent: false,
        ...(over.localAddress ? { localAddress: over.localAddress } : {}),
      });
      upstreamReq.once('response', resolve);
      upstreamReq.once('error', reject);
      this.res.once('close', () => {
        if (!this.res.writableFinished) upstreamReq.destroy();
      });
      if (body !== undefined) upstreamReq.end(body);
      else {
        // A client that hangs up mid-body ends the upstream request too (via res 'close' above).
        this.req.once('error', () => upstreamReq.destroy());
        this.req.pipe(upstreamReq);
      }
    });
  }
}

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!HOP_BY_HOP.has(name.toLowerCase()) && value !== undefined) kept[name] = value;
  }
  return kept;
}

async function readAll(stream: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_BUFFERED_BYTES) throw new Error(`body larger than ${MAX_BUFFERED_BYTES} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

// ---- helpers the faults share -------------------------------------------------------------------

/** The JSON body of an answer, or undefined when it is not JSON. */
export function jsonOf(answer: UpstreamAnswer): unknown {
  try {
    return JSON.parse(answer.body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The same answer with another status and JSON body. */
export function withJson(answer: UpstreamAnswer, status: number, body: unknown): UpstreamAnswer {
  return {
    status,
    headers: { ...answer.headers, 'content-type': 'application/json; charset=utf-8' },
    body: Buffer.from(JSON.stringify(body)),
  };
}

/** A plain JSON answer made by the relay itself. */
export function jsonAnswer(status: number, body: unknown): UpstreamAnswer {
  return withJson({ status, headers: {}, body: Buffer.alloc(0) }, status, body);
}
