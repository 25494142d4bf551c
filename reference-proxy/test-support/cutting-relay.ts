/**
 * Test support: a TCP relay between the gateway and a store (Redis) that can lose one answer the
 * way a dying network or store does: the chosen request reaches the store, which carries it out,
 * and then the connection breaks before the store's reply gets back. Everything else is relayed as
 * it is, and the gateway's reconnections go through the relay too.
 */
import { createServer, type Server, Socket } from 'node:net';

export interface CuttingRelay {
  /** Where the gateway connects instead of the store. */
  port: number;
  /** Lose the reply to the next request whose bytes `match`es (once). */
  cutAfterNext(match: (request: Buffer) => boolean): void;
  /** How many replies were lost so far. */
  readonly cuts: number;
  close(): Promise<void>;
}

export async function startCuttingRelay(targetPort: number): Promise<CuttingRelay> {
  let armed: ((request: Buffer) => boolean) | undefined;
  let cuts = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client);
    sockets.add(upstream);
    let cut = false;
    const forget = () => {
      sockets.delete(client);
      client.destroy();
      // After a cut the store's side ends by itself, once the request has reached it.
      if (cut) return;
      sockets.delete(upstream);
      upstream.destroy();
    };
    client.on('error', forget).on('close', forget);
    upstream.on('error', forget).on('close', forget);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.connect(targetPort, '127.0.0.1');
    upstream.on('data', (reply) => {
      if (!cut) client.write(reply);
    });
    client.on('data', (request) => {
      if (!cut && armed?.(request)) {
        armed = undefined;
        cuts += 1;
        cut = true;
        // The request reaches the store in full (FIN after it); the gateway sees its connection drop.
        upstream.end(request);
        client.destroy();
        return;
      }
      upstream.write(request);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the relay has no port');
  return {
    port: address.port,
    cutAfterNext(match) {
      armed = match;
    },
    get cuts() {
      return cuts;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
