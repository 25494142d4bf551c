/**
 * Servers are created without listening and listen where they are told (port 0 in tests)
 * (architecture.md, convention 11). close() ends keep-alive sockets so processes exit at once.
 */
import { createServer, type RequestListener, type Server, STATUS_CODES } from 'node:http';
import { type AddressInfo, Socket } from 'node:net';
import { httpCall } from './http-client.ts';

export interface RunningServer {
  server: Server;
  /** `http://host:port` with the port actually bound. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * How many connections the kernel may hold for us before we accept them. Node's default, 511, is
 * what a burst of logins overflows (1,000 CLIs starting at once): the kernel then drops the SYNs
 * beyond it, and each dropped client tries again only after TCP's 1 s, 3 s, 7 s retransmission
 * delays, so logins already admitted waited seconds for their next connection. The kernel caps the
 * value at net.core.somaxconn (4096 on current Linux).
 */
export const LISTEN_BACKLOG = 4096;

export async function listen(handler: RequestListener, host: string, port: number): Promise<RunningServer> {
  const server = createServer(handler);
  server.on('clientError', answerUnparsableRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    close: () => closeServer(server),
  };
}

/** How long a refused client may go on sending before its connection is closed anyway. */
const LINGER_MS = 2000;

/**
 * A request the HTTP parser refuses (headers over 16 KiB, a malformed request line) gets a 4xx the
 * client can read. Node's default writes the answer and destroys the socket at once; a client still
 * sending its oversized headers then has its bytes answered by a TCP reset, which discards the answer
 * it has not read yet (seen on Node 24 with a 64 KiB header: ECONNRESET, no status). So the answer is
 * written and our side ended, and what the client still sends is read and dropped until it closes
 * or for LINGER_MS at most (a lingering close, as nginx and Apache do).
 */
function answerUnparsableRequest(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? 431
      : error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
        ? 413
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 408
          : 400;
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.setTimeout(LINGER_MS, () => socket.destroy());
  socket.on('end', () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.resume();
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A port free on 127.0.0.1 right now (for a process that must be told its port up front). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return address.port;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:`port`, or rejects at the deadline. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const open = await new Promise<boolean>((resolveOpen) => {
      const socket = new Socket();
      socket.once('connect', () => {
        socket.destroy();
        resolveOpen(true);
      });
      socket.once('error', () => resolveOpen(false));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    // A poll interval until the deadline, not a sleep standing in for a condition.
    await new Promise((resolveWait) => setTimeout(resolveWait, 25));
  }
  throw new Error(`nothing listened on port ${port} within ${timeoutMs} ms`);
}

export interface WaitForHttpOptions {
  timeoutMs: number;
  /** Why waiting is pointless now (e.g. the process exited), or undefined to keep waiting. */
  gone?: () => string | undefined;
}

/**
 * Wait until `url` answers HTTP at all (any status), polling every 50 ms until the deadline.
 * Throws with the reason `gone` gave, or with the last connection error.
 */
export async function waitForHttpAnswer(url: string, options: WaitForHttpOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    const gone = options.gone?.();
    if (gone) throw new Error(gone);
    try {
      await httpCall(url, { timeoutMs: 1000 });
      return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    // A poll interval until the deadline, not a sleep standing in for a condition.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(50, deadline - Date.now()))));
  }
  throw new Error(`nothing answered at ${url} within ${options.timeoutMs} ms (${lastError})`);
}
