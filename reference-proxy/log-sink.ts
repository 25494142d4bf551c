/**
 * The gateway's log lines to a stream with one write per turn of the event loop, not one per line:
 * on a pipe (how the harness and most process managers read stderr) every write is a system call
 * that also wakes the reader, and the request line alone is one per request. Lines keep their order
 * and reach the stream at the end of the turn that logged them, before the next I/O; `flush()` puts
 * out what is pending at once (main.ts calls it before writing to the stream itself and at exit).
 */
import type { LogSink } from '../common/logger.ts';

/** Above this many characters pending, lines go out at once rather than at the end of the turn. */
const MAX_PENDING_CHARS = 64 * 1024;

export interface CoalescingSink extends LogSink {
  /** Write what is pending now. */
  flush(): void;
}

export function coalescingSink(target: LogSink): CoalescingSink {
  let pending = '';
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending === '') return;
    const out = pending;
    pending = '';
    target.write(out);
  };
  return {
    write(line: string) {
      pending += line;
      if (pending.length >= MAX_PENDING_CHARS) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      return true;
    },
    flush,
  };
}
