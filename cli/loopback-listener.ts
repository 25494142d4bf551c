/**
 * The loopback listener of `login --pkce` (RFC 8252 section 7.3): an HTTP server on 127.0.0.1, on a
 * port the system picks, that waits for the browser to be sent back with the authorization code.
 * Replies are short text/plain pages, never cached. An answer whose `state` is not this sign-in's
 * is refused (400) and the wait goes on: another page cannot end or steer this login.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CALLBACK_PATH } from './native-login.ts';

export const REPLIES = {
  signedIn: 'Signed in. You can close this window and return to the terminal.',
  denied: 'Sign-in was not approved. You can close this window.',
  failed: 'Sign-in failed. You can close this window; the terminal says why.',
  wrongState: 'This response does not belong to the pending sign-in; still waiting.',
  noCode: 'The sign-in response carried no authorization code; still waiting.',
  notFound: 'Not found.',
} as const;

/** What the browser brought back for this sign-in. */
export type Callback = { code: string } | { error: string; description: string | undefined };

export interface LoopbackListener {
  /** `http://127.0.0.1:<port>/callback`. */
  redirectUri: string;
  /** Resolves with the first answer that carries this sign-in's state. */
  callback: Promise<Callback>;
  close(): Promise<void>;
}

function reply(res: ServerResponse, status: number, text: string): void {
  res
    .writeHead(status, {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      // The browser's connection must not keep the CLI's process alive once it is done.
      connection: 'close',
    })
    .end(`${text}\n`);
}

/** Listen for the answer to the sign-in whose `state` is given. */
export async function startLoopbackListener(state: string): Promise<LoopbackListener> {
  let expectedState: string | undefined = state;
  let settle: (callback: Callback) => void = () => undefined;
  const callback = new Promise<Callback>((resolve) => {
    settle = resolve;
  });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== CALLBACK_PATH) {
      reply(res, 404, REPLIES.notFound);
      return;
    }
    const query = url.searchParams;
    if (expectedState === undefined || query.get('state') !== expectedState) {
      reply(res, 400, REPLIES.wrongState);
      return;
    }
    const error = query.get('error');
    const code = query.get('code');
    let answer: Callback;
    if (error !== null) {
      answer = { error, description: query.get('error_description') ?? undefined };
      reply(res, 200, error === 'access_denied' ? REPLIES.denied : REPLIES.failed);
    } else if (code !== null && code !== '') {
      answer = { code };
      reply(res, 200, REPLIES.signedIn);
    } else {
      reply(res, 400, REPLIES.noCode);
      return;
    }
    // Only the first answer for this state counts; a second one (a reload) changes nothing.
    expectedState = undefined;
    settle(answer);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    redirectUri: `http://127.0.0.1:${port}${CALLBACK_PATH}`,
    callback,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
