/**
 * The harness between a CLI under test and the gateway: the CLI is given the tap's URL as its base
 * URL, every request is forwarded (streamed, so long polls work) and every exchange is recorded, so
 * that scenarios judge a CLI by what crossed the wire (architecture convention 12), never by its
 * internals or its exit code alone.
 *
 * The tap can also stand in for the gateway and shape its answers, the way a real gateway behaves
 * on a bad day: answer the next N matching requests itself (a 503, a 429, a pending poll that was
 * not held open, a 403 with a hostile detail), rewrite a real answer (drop `expires_in`, put terminal
 * escapes into a user id), or send an answer far larger than any CLI should hold. It can serve the
 * gateway under a path prefix (`http://host/litellm`), as a gateway behind a reverse proxy is.
 *
 * Evidence written to reports is redacted.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen, type RunningServer } from '../../common/http-server.ts';
import { writePaddedPendingAnswer } from '../../common/padded-answer.ts';
import { redact, redactUrl } from '../../protocol/redact.ts';

export interface Exchange {
  method: string;
  /** Path and query as the gateway sees them: the tap's path prefix removed (may hold secrets). */
  path: string;
  /** The gateway path without its query: what routes are matched against. */
  route: string;
  /** Path and query exactly as the client sent them. */
  sentPath: string;
  requestHeaders: Record<string, string>;
  status: number;
  responseHeaders: Record<string, string>;
  /** The answer's body as recorded (at most RECORDED_BODY_BYTES; a flood is not recorded whole). */
  responseBody: string;
  /** When the request arrived and when its answer was finished or abandoned (ms since the epoch). */
  startedAtMs: number;
  finishedAtMs: number;
  /** Bytes of the answer's body written to the client's connection. */
  bytesSent: number;
  /** The client closed the connection before the whole answer was written. */
  abandoned: boolean;
  /** The name of the shaping rule that answered, when the tap stood in for the gateway. */
  shapedBy: string | undefined;
}

/** Which requests a rule applies to: the method and a test on the gateway path (no query). */
export interface RequestMatch {
  method: string;
  path: RegExp;
}

/** The tap answers by itself, without asking the gateway. */
export interface CannedAnswer {
  kind: 'canned';
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** The gateway answers, and the tap changes the JSON body before the client sees it. */
export interface RewrittenAnswer {
  kind: 'rewrite';
  rewrite: (body: unknown, status: number) => unknown;
}

/** A JSON answer of `bytes` bytes, written as fast as the client reads it. */
export interface FloodAnswer {
  kind: 'flood';
  bytes: number;
}

export interface ShapeRule {
  /** Named in evidence and in the exchange that it answered. */
  name: string;
  match: RequestMatch;
  /** How many matching requests the rule answers before it steps aside. */
  times: number;
  answer: CannedAnswer | RewrittenAnswer | FloodAnswer;
}

/** Bodies are kept whole up to this size; larger ones are cut (a flood is 100 MiB). */
const RECORDED_BODY_BYTES = 1 << 20;

export class WireTap {
  readonly exchanges: Exchange[] = [];
  private server: RunningServer | undefined;
  private readonly rules: Array<ShapeRule & { used: number }> = [];
  private readonly changeListeners = new Set<() => void>();
  private readonly droppedHeaders = new Set<string>();

  /**
   * @param upstream the gateway; undefined when the gateway can start only once the tap's URL is
   *   known (its public base URL names the tap): given later with forwardTo, and until then every
   *   request is answered 502 and recorded
   * @param pathPrefix the tap serves the gateway under this path (e.g. `/litellm`); requests outside
   *   it are answered 404 by the tap, as a reverse proxy would, and recorded
   */
  constructor(
    private upstream: URL | undefined,
    readonly pathPrefix = '',
  ) {}

  /** Forward to this gateway from now on (a tap made without one). */
  forwardTo(upstream: URL): void {
    this.upstream = upstream;
  }

  /** The base URL to give the CLI: the tap's origin and path prefix. */
  get url(): string {
    if (!this.server) throw new Error('wire tap is not started');
    return `${this.server.url.replace(/\/+$/, '')}${this.pathPrefix}`;
  }

  get origin(): string {
    if (!this.server) throw new Error('wire tap is not started');
    return new URL(this.server.url).origin;
  }

  /** @param port where to listen: a port claimed beforehand, when the gateway must be told it; else any free one */
  async start(port = 0): Promise<void> {
    this.server = await listen((req, res) => this.handle(req, res), '127.0.0.1', port);
  }

  /** Stop answering: the CLI finds the gateway unreachable (connection refused). */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await server?.close();
  }

  /** Stand in for the gateway for the next `rule.times` requests that match. Rules apply in order. */
  shape(rule: ShapeRule): void {
    this.rules.push({ ...rule, used: 0 });
  }

  /**
   * From now on the CLI finds no PKCE-native login here: its discovery request
   * (`GET /.well-known/litellm-cli-auth`) is answered 404, as a gateway of the documented (v3)
   * contract answers it, whatever the gateway behind offers. A CLI that prefers the PKCE login where
   * it is advertised (docs/contract.md section 10.6) then runs its classic login, which is what the
   * CLI chapter judges.
   */
  hidePkceLogin(): void {
    this.shape({
      name: 'no PKCE login advertised to the CLI',
      match: { method: 'GET', path: /^\/+\.well-known\/litellm-cli-auth\/*$/ },
      times: Number.POSITIVE_INFINITY,
      answer: { kind: 'canned', status: 404, body: { detail: 'Not Found' } },
    });
  }

  /** The gateway never sees this request header (e.g. `prefer`: it then answers polls at once). */
  dropRequestHeader(name: string): void {
    this.droppedHeaders.add(name.toLowerCase());
  }

  /** Exchanges whose gateway path (without query) matches, in the order they finished. */
  exchangesTo(method: string, path: RegExp): Exchange[] {
    return this.exchanges.filter((e) => e.method === method && path.test(e.route));
  }

  /** Requests sent outside the tap's path prefix (each answered 404 by the tap, never by the gateway). */
  outsidePrefix(): Exchange[] {
    return this.exchanges.filter((e) => this.gatewayPath(e.sentPath) === undefined);
  }

  /** Parsed JSON bodies of the answers to requests whose path starts with `pathPrefix`. */
  jsonAnswers(method: string, pathPrefix: string): Array<{ status: number; body: unknown }> {
    return this.exchanges
      .filter((e) => e.method === method && e.path.startsWith(pathPrefix))
      .map((e) => ({ status: e.status, body: parseJsonOrText(e.responseBody) }));
  }

  /** Wait until `predicate` holds over the exchanges so far, or throw at the deadline. */
  async waitFor(
    predicate: (exchanges: readonly Exchange[]) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.exchanges)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: not seen on the wire within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        const listeners = this.changeListeners;
        function done() {
          clearTimeout(timer);
          listeners.delete(done);
          resolve();
        }
        listeners.add(done);
      });
    }
  }

  /** Redacted, human-readable log of every exchange, for reports. */
  evidence(): string {
    return this.exchanges
      .map((e) => {
        const body = redact(parseJsonOrText(e.responseBody));
        const shaped = e.shapedBy ? ` [answered by the harness: ${e.shapedBy}]` : '';
        const cut = e.abandoned ? ` [client closed after ${e.bytesSent} bytes]` : '';
        const shown = typeof body === 'string' ? body.slice(0, 500) : JSON.stringify(body).slice(0, 2000);
        return `${e.method} ${redactUrl(e.sentPath)} -> ${e.status}${shaped}${cut}\n  ${shown}`;
      })
      .join('\n');
  }

  private record(exchange: Exchange): void {
    this.exchanges.push(exchange);
    const waiting = [...this.changeListeners];
    this.changeListeners.clear();
    for (const wake of waiting) wake();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const sentPath = req.url ?? '/';
    const requestHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string') requestHeaders[name] = value;
    }
    const base: Omit<Exchange, 'status' | 'responseHeaders' | 'responseBody' | 'bytesSent' | 'abandoned'> = {
      method: req.method ?? 'GET',
      path: sentPath,
      route: sentPath.split('?')[0] ?? '',
      sentPath,
      requestHeaders,
      startedAtMs: Date.now(),
      finishedAtMs: 0,
      shapedBy: undefined,
    };
    const underPrefix = this.gatewayPath(sentPath);
    if (underPrefix === undefined) {
      req.resume();
      const body = JSON.stringify({ detail: `not found: this gateway is served under ${this.pathPrefix}` });
      res.writeHead(404, { 'content-type': 'application/json' }).end(body);
      this.record({
        ...base,
        status: 404,
        responseHeaders: {},
        responseBody: body,
        bytesSent: body.length,
        abandoned: false,
        finishedAtMs: Date.now(),
      });
      return;
    }
    const exchange = { ...base, path: underPrefix, route: underPrefix.split('?')[0] ?? '' };
    const rule = this.takeRule(exchange.method, exchange.route);
    if (rule?.answer.kind === 'canned') {
      req.resume();
      this.answerCanned(res, { ...exchange, shapedBy: rule.name }, rule.answer);
    } else if (rule?.answer.kind === 'flood') {
      req.resume();
      this.answerFlood(res, { ...exchange, shapedBy: rule.name }, rule.answer.bytes);
    } else {
      const rewrite = rule?.answer.kind === 'rewrite' ? rule.answer : undefined;
      this.relay(req, res, rule ? { ...exchange, shapedBy: rule.name } : exchange, rewrite);
    }
  }

  /** The path as the gateway sees it, or undefined when it is outside the tap's prefix. */
  private gatewayPath(sentPath: string): string | undefined {
    if (this.pathPrefix === '') return sentPath;
    if (sentPath === this.pathPrefix) return '/';
    if (sentPath.startsWith(`${this.pathPrefix}/`) || sentPath.startsWith(`${this.pathPrefix}?`)) {
      const rest = sentPath.slice(this.pathPrefix.length);
      return rest.startsWith('?') ? `/${rest}` : rest;
    }
    return undefined;
  }

  private takeRule(method: string, route: string): (ShapeRule & { used: number }) | undefined {
    const rule = this.rules.find((r) => r.used < r.times && r.match.method === method && r.match.path.test(route));
    if (rule) rule.used += 1;
    return rule;
  }

  private answerCanned(res: ServerResponse, exchange: ExchangeStart, answer: CannedAnswer): void {
    const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    const headers = { 'content-type': 'application/json', ...answer.headers };
    res.writeHead(answer.status, headers).end(body);
    this.record({
      ...exchange,
      status: answer.status,
      responseHeaders: headers,
      responseBody: body,
      bytesSent: Buffer.byteLength(body),
      abandoned: false,
      finishedAtMs: Date.now(),
    });
  }

  /**
   * A pending-poll answer padded to `bytes`: valid JSON if read to the end, so that only a CLI that
   * stops reading is told apart from one that swallows it. Written with backpressure, so what was
   * written is about what the client read (plus the kernel's socket buffers, a few MiB).
   */
  private answerFlood(res: ServerResponse, exchange: ExchangeStart, bytes: number): void {
    let bytesSent = 0;
    let finished = false;
    const finish = (abandoned: boolean) => {
      if (finished) return;
      finished = true;
      this.record({
        ...exchange,
        status: 200,
        responseHeaders: { 'content-type': 'application/json' },
        responseBody: '{"status":"pending","padding":"..."}',
        bytesSent,
        abandoned,
        finishedAtMs: Date.now(),
      });
    };
    res.on('close', () => finish(!res.writableFinished));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(bytes) });
    writePaddedPendingAnswer(res, bytes, (size) => {
      bytesSent += size;
    });
  }

  private relay(
    req: IncomingMessage,
    res: ServerResponse,
    exchange: ExchangeStart,
    rewrite: RewrittenAnswer | undefined,
  ): void {
    const upstream = this.upstream;
    if (!upstream) {
      req.resume();
      this.answerCanned(res, exchange, {
        kind: 'canned',
        status: 502,
        body: { detail: 'wire tap: the gateway is not started yet' },
      });
      return;
    }
    const upstreamRequest = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: exchange.path,
        headers: Object.fromEntries(
          Object.entries({ ...req.headers, host: upstream.host }).filter(([n]) => !this.droppedHeaders.has(n)),
        ),
      },
      (upstreamResponse) => {
        const status = upstreamResponse.statusCode ?? 502;
        const responseHeaders: Record<string, string> = {};
        for (const [name, value] of Object.entries(upstreamResponse.headers)) {
          if (typeof value === 'string') responseHeaders[name] = value;
        }
        const chunks: Buffer[] = [];
        let recorded = 0;
        if (rewrite) {
          upstreamResponse.on('data', (chunk: Buffer) => chunks.push(chunk));
          upstreamResponse.on('end', () => {
            const original = Buffer.concat(chunks).toString('utf8');
            const changed = rewrite.rewrite(parseJsonOrText(original), status);
            const body = typeof changed === 'string' ? changed : JSON.stringify(changed);
            const headers = { ...upstreamResponse.headers, 'content-length': String(Buffer.byteLength(body)) };
            delete headers['transfer-encoding'];
            res.writeHead(status, headers).end(body);
            this.record({
              ...exchange,
              status,
              responseHeaders,
              responseBody: body,
              bytesSent: Buffer.byteLength(body),
              abandoned: false,
              finishedAtMs: Date.now(),
            });
          });
          return;
        }
        res.writeHead(status, upstreamResponse.headers);
        let bytesSent = 0;
        upstreamResponse.on('data', (chunk: Buffer) => {
          if (recorded < RECORDED_BODY_BYTES) {
            chunks.push(chunk);
            recorded += chunk.length;
          }
          bytesSent += chunk.length;
          res.write(chunk);
        });
        upstreamResponse.on('end', () => {
          res.end();
          this.record({
            ...exchange,
            status,
            responseHeaders,
            responseBody: Buffer.concat(chunks).toString('utf8'),
            bytesSent,
            abandoned: false,
            finishedAtMs: Date.now(),
          });
        });
      },
    );
    upstreamRequest.on('error', (error) => {
      const body = `wire tap: gateway unreachable (${error.message})`;
      this.record({
        ...exchange,
        status: 0,
        responseHeaders: {},
        responseBody: error.message,
        bytesSent: 0,
        abandoned: false,
        finishedAtMs: Date.now(),
      });
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(body);
    });
    req.pipe(upstreamRequest);
  }
}

type ExchangeStart = Omit<Exchange, 'status' | 'responseHeaders' | 'responseBody' | 'bytesSent' | 'abandoned'>;

export function parseJsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
