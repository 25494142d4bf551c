/**
 * The fuzzer's HTTP client. Two ways to send a request:
 *
 * - `http`: node:http with a keep-alive agent per client address, so a run of ten thousand inputs
 *   does not open ten thousand connections. node:http refuses some bytes before sending (spaces and
 *   control characters in the target, characters above U+00FF or control characters in header
 *   values), so text is sent as its UTF-8 bytes, which is what a real client puts on the wire.
 * - `raw`: the request's bytes verbatim on a new socket, for what node:http would refuse (control
 *   characters, bare LF, obs-fold, smuggling-shaped framing, odd request lines).
 *
 * Every answer is read whole, up to a cap, within a deadline; "no answer" is a result, not a throw.
 * A client address (127.x.y.z) can be chosen per request: the gateway limits starts per address.
 */
import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';

export interface WireRequest {
  method: string;
  /** Path and query as sent (may hold %-escapes and any character; above U+00FF goes as UTF-8). */
  target: string;
  /** In order; a name may repeat. */
  headers: Array<[string, string]>;
  body?: Buffer | undefined;
  /** Local address to connect from (127.0.0.0/8); default 127.0.0.1. */
  from?: string | undefined;
  /** Send these bytes verbatim instead (the whole request: line, headers, body). */
  raw?: Buffer | undefined;
}

export interface WireAnswer {
  /** HTTP status, or 0 when no answer came (see `error`). */
  status: number;
  headers: IncomingHttpHeaders;
  /** The body, cut at MAX_BODY_BYTES. */
  body: Buffer;
  ms: number;
  /** 'timeout', 'reset', 'client: ...' (the request could not be sent) when status is 0. */
  error?: string;
}

const UNSURE_CONNECTION = new Set([400, 408, 413, 414, 415, 417, 431]);

/** Answers are read up to this size (a poll answer with a 65,536-character user id is 400 KB). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** A string as the bytes a client would send: latin1 when it fits, else UTF-8 bytes shown as latin1. */
export function asLatin1(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to find any character above U+00FF
  return /[^\u0000-\u00ff]/.test(text) ? Buffer.from(text, 'utf8').toString('latin1') : text;
}

/** Whether node:http would refuse to send this request (so it must go raw). */
export function needsRaw(request: WireRequest): boolean {
  if (request.raw) return true;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: node:http refuses these in a request target
  if (/[\u0000-\u0020\u007f]/.test(request.target) || request.target === '') return true;
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(request.method)) return true;
  for (const [name, value] of request.headers) {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) return true;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: node:http refuses control characters in values
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) return true;
  }
  return false;
}

/** The request's bytes as a raw HTTP/1.1 request (used for `raw` sending and for reports). */
export function toRawBytes(request: WireRequest, host: string): Buffer {
  if (request.raw) return request.raw;
  const names = new Set(request.headers.map(([n]) => n.toLowerCase()));
  const lines = [`${request.method} ${asLatin1(request.target)} HTTP/1.1`];
  if (!names.has('host')) lines.push(`Host: ${host}`);
  for (const [name, value] of request.headers) lines.push(`${name}: ${asLatin1(value)}`);
  if (request.body !== undefined && !names.has('content-length') && !names.has('transfer-encoding')) {
    lines.push(`Content-Length: ${request.body.length}`);
  }
  if (!names.has('connection')) lines.push('Connection: close');
  let body = request.body ?? Buffer.alloc(0);
  // A request that says it is chunked gets a whole chunked body: a server waiting for the rest of
  // an unfinished body is doing its job, and the fuzzer wants an answer.
  const te = request.headers.find(([n]) => n.toLowerCase() === 'transfer-encoding')?.[1] ?? '';
  if (/chunked\s*$/i.test(te)) {
    body = Buffer.concat([
      body.length > 0 ? Buffer.from(`${body.length.toString(16)}\r\n`) : Buffer.alloc(0),
      body,
      Buffer.from(body.length > 0 ? '\r\n0\r\n\r\n' : '0\r\n\r\n'),
    ]);
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

export class WireClient {
  private readonly agents = new Map<string, Agent>();

  constructor(
    private readonly timeoutMs: number,
    private readonly maxAgents = 64,
  ) {}

  private agentFor(from: string): Agent {
    let agent = this.agents.get(from);
    if (!agent) {
      if (this.agents.size >= this.maxAgents) {
        // Addresses used once (a fresh client per login) need no pool: drop the oldest.
        const [oldest, old] = this.agents.entries().next().value as [string, Agent];
        old.destroy();
        this.agents.delete(oldest);
      }
      agent = new Agent({ keepAlive: true, maxSockets: 8, maxFreeSockets: 4 });
      this.agents.set(from, agent);
    }
    return agent;
  }

  async send(base: URL, request: WireRequest): Promise<WireAnswer> {
    if (needsRaw(request)) return this.sendRaw(base, request);
    return this.sendHttp(base, request);
  }

  private sendHttp(base: URL, request: WireRequest): Promise<WireAnswer> {
    const started = performance.now();
    const from = request.from ?? '127.0.0.1';
    return new Promise((resolve) => {
      let settled = false;
      // Declared before `done`: a request node:http refuses to make settles before the timer exists.
      let timer: NodeJS.Timeout | undefined;
      const done = (answer: Omit<WireAnswer, 'ms'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...answer, ms: performance.now() - started });
      };
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of request.headers) {
        const key = name.toLowerCase();
        const existing = headers[key];
        const sent = asLatin1(value);
        if (existing === undefined) headers[key] = sent;
        else headers[key] = Array.isArray(existing) ? [...existing, sent] : [existing, sent];
      }
      // Host and Content-Length are ours unless the request sets them (node:http adds them otherwise).
      if (request.body !== undefined && headers['content-length'] === undefined && !headers['transfer-encoding']) {
        headers['content-length'] = String(request.body.length);
      }
      let req: ReturnType<typeof httpRequest>;
      try {
        req = httpRequest({
          host: base.hostname,
          port: base.port,
          method: request.method,
          path: asLatin1(request.target),
          headers,
          agent: this.agentFor(from),
          localAddress: from,
          setHost: headers['host'] === undefined,
          // A server may answer with headers over node's 16 KB default (a Location built from a long
          // Host): read them, the answer is what is judged.
          maxHeaderSize: 1024 * 1024,
        });
      } catch (error) {
        done({ status: 0, headers: {}, body: Buffer.alloc(0), error: `client: ${(error as Error).message}` });
        return;
      }
      timer = setTimeout(() => {
        req.destroy(new Error('timeout'));
        done({ status: 0, headers: {}, body: Buffer.alloc(0), error: 'timeout' });
      }, this.timeoutMs);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          if (bytes < MAX_BODY_BYTES) chunks.push(chunk);
          bytes += chunk.length;
        });
        const finish = () => {
          // After an answer that may come before the server read the whole request (a refused
          // body, a parse error), the connection is not reused: leftover bytes would be read as
          // the start of the next request, and that request would be judged for them.
          if (UNSURE_CONNECTION.has(res.statusCode ?? 0)) res.socket?.destroy();
          done({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES),
          });
        };
        res.on('end', finish);
        res.on('error', finish);
        res.on('aborted', finish);
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        done({
          status: 0,
          headers: {},
          body: Buffer.alloc(0),
          error: error.message === 'timeout' ? 'timeout' : `reset (${error.code ?? error.message})`,
        });
      });
      req.end(request.body);
    });
  }

  private sendRaw(base: URL, request: WireRequest): Promise<WireAnswer> {
    const started = performance.now();
    const bytes = toRawBytes(request, base.host);
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let settled = false;
      const socket = connect({
        host: base.hostname,
        port: Number(base.port),
        localAddress: request.from ?? '127.0.0.1',
      });
      const done = (error?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        resolve({ ...parseRawAnswer(Buffer.concat(chunks), error), ms: performance.now() - started });
      };
      const timer = setTimeout(() => done('timeout'), this.timeoutMs);
      socket.on('connect', () => socket.write(bytes));
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        // The first answer is enough: stop once it is whole.
        if (firstAnswerComplete(Buffer.concat(chunks), request.method)) done();
      });
      socket.on('end', () => done());
      socket.on('close', () => done());
      socket.on('error', (error: NodeJS.ErrnoException) => done(`reset (${error.code ?? error.message})`));
    });
  }

  close(): void {
    for (const agent of this.agents.values()) agent.destroy();
    this.agents.clear();
  }
}

/** Interim answers (100 Continue) come before the real one: skip them. */
function withoutInterim(data: Buffer): Buffer {
  let rest = data;
  while (/^HTTP\/1\.[01] 1\d\d/.test(rest.subarray(0, 16).toString('latin1'))) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return rest;
    rest = rest.subarray(end + 4);
  }
  return rest;
}

function headEnd(data: Buffer): number {
  return data.indexOf('\r\n\r\n');
}

function firstAnswerComplete(all: Buffer, method: string): boolean {
  const data = withoutInterim(all);
  const end = headEnd(data);
  if (end < 0) return false;
  const head = data.subarray(0, end).toString('latin1');
  // No body follows a HEAD answer, a 204 or a 304, whatever Content-Length says.
  if (/^head$/i.test(method) || /^HTTP\/1\.[01] (204|304)/.test(head)) return true;
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (length) return data.length - (end + 4) >= Number(length[1]);
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) return data.includes('\r\n0\r\n\r\n', end);
  return false;
}

function parseRawAnswer(all: Buffer, error: string | undefined): Omit<WireAnswer, 'ms'> {
  const data = withoutInterim(all);
  const end = headEnd(data);
  const head = (end < 0 ? data : data.subarray(0, end)).toString('latin1');
  const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (!statusLine) {
    return {
      status: 0,
      headers: {},
      body: Buffer.alloc(0),
      error: error ?? (data.length ? 'not HTTP' : 'reset (closed)'),
    };
  }
  const headers: IncomingHttpHeaders = {};
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return {
    status: Number(statusLine[1]),
    headers,
    body: end < 0 ? Buffer.alloc(0) : data.subarray(end + 4, end + 4 + MAX_BODY_BYTES),
  };
}
