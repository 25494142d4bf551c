/**
 * A local HTTP server for tests of HTTP clients: each request reaches the server's current handler
 * with its whole body read, so a test sets `handle` to the answer it needs and checks what arrived.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen } from '../http-server.ts';

export type BodyHandler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

export interface BodyServer {
  /** `http://127.0.0.1:port` */
  readonly url: string;
  /** What answers the next requests; by default an empty 200. */
  handle: BodyHandler;
  close(): Promise<void>;
}

export async function startBodyServer(): Promise<BodyServer> {
  let current: BodyHandler = (_request, _body, response) => response.end();
  const running = await listen(
    (request, response) => {
      let body = '';
      request.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      request.on('end', () => current(request, body, response));
    },
    '127.0.0.1',
    0,
  );
  return {
    url: running.url,
    get handle() {
      return current;
    },
    set handle(handler: BodyHandler) {
      current = handler;
    },
    close: () => running.close(),
  };
}
