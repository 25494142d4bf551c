/**
 * A JSON answer of a chosen size, for judging how a client reads answers it cannot want (a CLI must
 * give up before 64 MiB, CLISSO-CLI-24): `{"status":"pending","padding":"xxx..."}` exactly `bytes`
 * long, written with backpressure, so the server never holds the whole answer in memory and stops
 * when the client hangs up.
 */
import type { ServerResponse } from 'node:http';

const HEAD = Buffer.from('{"status":"pending","padding":"');
const TAIL = Buffer.from('"}');
const FILLER = Buffer.alloc(1 << 16, 'x');

/** Writes the answer's body (status and headers are the caller's); `onWrite` hears every chunk's size. */
export function writePaddedPendingAnswer(res: ServerResponse, bytes: number, onWrite: (size: number) => void): void {
  let padding = bytes - HEAD.length - TAIL.length;
  const write = (chunk: Buffer): boolean => {
    onWrite(chunk.length);
    return res.write(chunk);
  };
  const pump = () => {
    while (padding > 0 && !res.destroyed) {
      const next = padding >= FILLER.length ? FILLER : FILLER.subarray(0, padding);
      padding -= next.length;
      if (!write(next)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) {
      write(TAIL);
      res.end();
    }
  };
  write(HEAD);
  pump();
}
