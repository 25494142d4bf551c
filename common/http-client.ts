/**
 * One HTTP request through node:http(s), for the processes this project starts by the dozen (the
 * reference gateway calling the IdP, the harness playing the CLI and waiting for gateways to
 * answer), rather than fetch(): a process's first fetch() loads and compiles Node's bundled undici
 * (measured: 95 ms of CPU against 20 ms for a first http.request), and every later one costs more
 * too (measured with a local server in the same process, 2000 requests: 1.4 ms of CPU per fetch(),
 * 0.7 ms per http.request, the server's share included); a run makes hundreds.
 *
 * What fetch() would do differently, on purpose: redirects are never followed (callers look at the
 * 3xx themselves), nothing is decompressed (no Accept-Encoding is sent, so servers answer plainly),
 * and a body is sent with its Content-Length, never chunked.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpCall {
  method?: string;
  /** A list sends the header once per value (a repeated header). */
  headers?: Readonly<Record<string, string | string[]>>;
  body?: string;
  /** The whole answer must have arrived by then. */
  timeoutMs: number;
  /** A longer answer is not read into memory: the call fails. */
  maxBytes?: number;
}

export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/**
 * The request could not be made or its answer did not arrive whole: refused, reset, timed out, too
 * long. The message names the server's origin and the reason, never the path or query (where a
 * caller may have put something secret).
 */
export class HttpCallFailed extends Error {
  constructor(origin: string, reason: string) {
    super(`no answer from ${origin}: ${reason}`);
    this.name = 'HttpCallFailed';
  }
}

export function httpCall(url: string | URL, call: HttpCall): Promise<HttpReply> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers =
    call.body === undefined
      ? { ...call.headers }
      : { ...call.headers, 'content-length': String(Buffer.byteLength(call.body)) };
  const maxBytes = call.maxBytes ?? Number.POSITIVE_INFINITY;
  return new Promise((resolve, reject) => {
    const fail = (reason: string) => reject(new HttpCallFailed(target.origin, reason));
    const request = send(
      target,
      { method: call.method ?? 'GET', headers, signal: AbortSignal.timeout(call.timeoutMs) },
      (response) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > maxBytes) request.destroy(new Error(`the answer is over ${maxBytes} bytes`));
          else chunks.push(chunk);
        });
        response.on('error', (error) => fail(reasonOf(error, call.timeoutMs)));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    request.on('error', (error) => fail(reasonOf(error, call.timeoutMs)));
    request.end(call.body);
  });
}

function reasonOf(error: Error, timeoutMs: number): string {
  return error.name === 'AbortError' || error.name === 'TimeoutError'
    ? `no whole answer within ${timeoutMs} ms`
    : error.message;
}
