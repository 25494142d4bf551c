/**
 * One request of the CLI and its answer, through node:http(s) rather than fetch(): a process's first
 * fetch() loads Node's bundled undici and compiles its WebAssembly HTTP parser, which measured
 * 240 ms of CPU against 40 ms for a first http.request on this project's 2-core machine, most of
 * the time `cli-sso login` took to show its code. (common/http-client.ts makes the same choice for
 * the gateway; the CLI needs more: Ctrl-C, redirects, and failures it can tell apart.)
 *
 * What fetch() did for the CLI and this keeps: redirects followed (at most 20; 303, and 301/302
 * after a POST, become a GET; the Authorization and Cookie headers are dropped when a redirect
 * leaves the origin), the whole exchange bounded by one deadline, an answer read up to a size and
 * then dropped (CLISSO-CLI-24), `User-Agent: node`. On purpose not: no Accept-Encoding is sent, so a
 * gateway answers uncompressed, and nothing is decompressed.
 */
import type { IncomingHttpHeaders, IncomingMessage, RequestOptions } from 'node:http';
import { request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';

export interface Exchange {
  method: 'GET' | 'POST';
  headers: Readonly<Record<string, string>>;
  /** Cancels the exchange (Ctrl-C): it rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  /** The whole exchange (redirects and the answer's body included) must be over by then. */
  timeoutMs: number;
  /** An answer longer than this is not read: the exchange fails with AnswerTooLargeError. */
  maxBytes: number;
  /** A POST's body (its content-type goes in `headers`); dropped when a redirect turns the POST into a GET. */
  body?: string | undefined;
}

export interface ExchangeAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body, as UTF-8 text. */
  text: string;
}

/** The request could not be built (a header name or value HTTP cannot carry): nothing was sent. */
export class RequestNotBuiltError extends Error {
  constructor() {
    super('the request could not be built');
    this.name = 'RequestNotBuiltError';
  }
}

/** The answer is longer than the exchange's maxBytes; the rest was not read. */
export class AnswerTooLargeError extends Error {
  constructor(maxBytes: number) {
    super(`is larger than ${maxBytes} bytes, more than any answer of the contract`);
    this.name = 'AnswerTooLargeError';
  }
}

/** The deadline passed before the whole answer had arrived. */
export class ExchangeTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`no whole answer within ${timeoutMs} ms`);
    this.name = 'ExchangeTimeoutError';
  }
}

/** No answer: refused, reset, unknown host, an answer that is not HTTP... `code` says which. */
export class NetworkError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'NetworkError';
  }
}

const MAX_REDIRECTS = 20;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Headers fetch() drops when a redirect leaves the origin (Fetch standard, "HTTP-redirect fetch"). */
const CROSS_ORIGIN_DROPPED = ['authorization', 'cookie', 'proxy-authorization'];

export async function exchange(url: string, options: Exchange): Promise<ExchangeAnswer> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const failure = (error: unknown): unknown => {
    if (options.signal?.aborted) return options.signal.reason ?? error;
    if (timeout.aborted) return new ExchangeTimeoutError(options.timeoutMs);
    return error;
  };
  let target = new URL(url);
  let method: string = options.method;
  let body = method === 'POST' ? (options.body ?? '') : undefined;
  let headers: Record<string, string> = {
    'user-agent': 'node',
    ...options.headers,
    ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
  };
  for (let redirects = 0; ; redirects++) {
    let answer: IncomingMessage;
    try {
      answer = await send(target, { method, headers, signal, body });
    } catch (error) {
      throw failure(error);
    }
    const location = answer.headers.location;
    if (!REDIRECT_STATUSES.has(answer.statusCode ?? 0) || location === undefined) {
      try {
        return {
          status: answer.statusCode ?? 0,
          headers: answer.headers,
          text: await readBody(answer, options.maxBytes),
        };
      } catch (error) {
        throw error instanceof AnswerTooLargeError ? error : failure(error);
      }
    }
    answer.resume();
    if (redirects === MAX_REDIRECTS)
      throw new NetworkError('ETOOMANYREDIRECTS', `more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, target);
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      throw new NetworkError('EREDIRECT', `a redirect to a ${next.protocol} URL`);
    }
    if (answer.statusCode === 303 || ((answer.statusCode === 301 || answer.statusCode === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      const { 'content-length': _dropped, 'content-type': _droppedType, ...rest } = headers;
      headers = rest;
    }
    if (next.origin !== target.origin) {
      headers = Object.fromEntries(
        Object.entries(headers).filter(([name]) => !CROSS_ORIGIN_DROPPED.includes(name.toLowerCase())),
      );
    }
    target = next;
  }
}

/** One request; resolves with the answer's head, its body still to read. */
function send(
  target: URL,
  options: { method: string; headers: Record<string, string>; signal: AbortSignal; body: string | undefined },
): Promise<IncomingMessage> {
  // node:https (and TLS under it) only for a gateway that needs it: loading it costs every start.
  // Through require: an import() would need a loader callback in a bundle compiled through node:vm.
  const request =
    target.protocol === 'https:'
      ? (createRequire(import.meta.url)('node:https') as typeof import('node:https')).request
      : httpRequest;
  const requestOptions: RequestOptions = { method: options.method, headers: options.headers, signal: options.signal };
  return new Promise((resolve, reject) => {
    let outgoing: ReturnType<typeof httpRequest>;
    try {
      outgoing = request(target, requestOptions, resolve);
    } catch (error) {
      // node:http refuses a header it cannot send (ERR_INVALID_CHAR, ERR_INVALID_HTTP_TOKEN) before
      // anything leaves, with the header's name in its message; it is never shown.
      reject(error instanceof TypeError ? new RequestNotBuiltError() : error);
      return;
    }
    outgoing.on('error', (error: NodeJS.ErrnoException) => reject(asNetworkError(error)));
    outgoing.end(options.body);
  });
}

/** The body as text, reading no more than `maxBytes`; a longer answer is dropped (its socket closed). */
function readBody(answer: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    if (Number(answer.headers['content-length'] ?? '0') > maxBytes) {
      answer.destroy();
      reject(new AnswerTooLargeError(maxBytes));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    answer.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        answer.destroy();
        reject(new AnswerTooLargeError(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    answer.on('error', (error: NodeJS.ErrnoException) => reject(asNetworkError(error)));
    answer.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    // A connection closed before the end of the answer (whatever Node reports as an error first).
    answer.on('close', () => {
      if (!answer.complete) reject(new NetworkError('ECONNRESET', 'the connection closed before the whole answer'));
    });
  });
}

function asNetworkError(error: NodeJS.ErrnoException): unknown {
  if (error.name === 'AbortError') return error;
  return new NetworkError(typeof error.code === 'string' ? error.code : 'ERROR', error.message);
}
