/**
 * Moves the wall clock of a process the harness started, whatever its language, with libfaketime
 * (Debian package `faketime`, 0.9.10 on bookworm): the process runs with LD_PRELOAD and a timestamp
 * file holding an offset such as `+90000s`; FAKETIME_NO_CACHE makes every clock read see a change
 * at once (the file is re-read at each read of the wall clock).
 *
 * Only the wall clock moves (CLOCK_REALTIME: time.time(), Date.now(), System.currentTimeMillis(),
 * an HTTP server's Date header). The monotonic clocks stay real (FAKETIME_DONT_FAKE_MONOTONIC=1),
 * as on a real machine whose wall clock is set. Faking them too was measured: moving 25 h forward
 * ends pending sleeps and timers at once (an 800 ms setTimeout in Node or Thread.sleep in Java
 * "lasted" 90000 s); moving back stalls them (an 800 ms setTimeout had not fired 6 s later; it
 * would in 25 h) and can abort Node (libuv's "Assertion failed: (now) >= (timer_base())"); and even
 * unmoved, Python's threading.Event().wait(0.2) never returns (sem_clockwait gets a fake monotonic
 * deadline that libfaketime does not translate). The harness moves clocks back after every
 * scenario, on gateways it reuses.
 *
 * Leaving the monotonic clocks real takes two repairs of libfaketime 0.9.10:
 * - FAKETIME_FORCE_MONOTONIC_FIX=0. By default (glibc >= 2.24) libfaketime rewrites the deadline of
 *   pthread_cond_timedwait on a CLOCK_MONOTONIC condition variable against the fake wall time: the
 *   wait ends at once. The JVM (Thread.sleep, Object.wait, LockSupport.parkNanos), V8 (Atomics.wait)
 *   and, by its source, CPython's GIL wait that way; measured with Java 17 and Node 20:
 *   Object.wait(200) and parkNanos(200 ms) returned after 0 ms, Thread.sleep(200) and Atomics.wait
 *   spun on the CPU (86 and 95 ms of CPU). With 0 the deadline, already on the real monotonic
 *   clock, is passed on unchanged.
 * - clock/faketime-fix.c, preloaded in front of libfaketime when a C compiler could build it (see
 *   system-packages.ts): libfaketime makes an absolute clock_nanosleep on a monotonic clock fail
 *   with EINVAL (timerfd_settime too, once the clock has moved). Python 3.11+ time.sleep() sleeps
 *   that way and raises OSError: [Errno 22] Invalid argument. Without a compiler the harness runs
 *   without the fix and says so: Python 3.11+ targets then fail where they call time.sleep on a
 *   moved clock. (Faking the monotonic clock instead would make Python's sleep work and break every
 *   runtime's timers and Python's other waits, as measured above.)
 * Unaffected: relative sleeps and waits (nanosleep, poll, epoll, select: Node's and asyncio's event
 * loops), sem_clockwait on the monotonic clock (Python's locks, Event.wait, Queue.get), and the
 * deadlines on the wall clock that libfaketime translates (pthread_cond_timedwait, sem_timedwait,
 * clock_nanosleep, timerfd_settime). Still wrong, and used by none of Python, Node or the JVM: a
 * deadline on the wall clock given to a call libfaketime does not know (pthread_cond_clockwait and
 * sem_clockwait with CLOCK_REALTIME, pthread_mutex_timedlock, timer_settime from programs linked
 * against glibc >= 2.34) waits the offset too long (25 h after a move forward).
 *
 * Go: libfaketime cannot move a Go program's clock at all. Go's runtime does not read time through
 * the C library: at start it looks up __vdso_clock_gettime in the kernel's vDSO and calls it from
 * assembly (runtime.walltime and runtime.nanotime; a raw syscall when there is no vDSO). A static
 * Go binary (CGO_ENABLED=0, the usual build) has no dynamic loader, so LD_PRELOAD is not even read;
 * a cgo binary does load libfaketime, but only its C code sees the moved clock, never time.Now().
 * Nothing breaks, the clock just does not move; the same goes for any static binary. Linux time
 * namespaces are no way out either: they offset CLOCK_MONOTONIC and CLOCK_BOOTTIME, never the wall
 * clock. clockOffsetSeenBy() below tells such a gateway apart, so that clock scenarios are skipped
 * with that reason rather than failed.
 */
import { rename, writeFile } from 'node:fs/promises';
import { httpCall } from '../../common/http-client.ts';

export class FakeClock {
  private offsetSeconds = 0;

  private constructor(readonly timestampFile: string) {}

  static async create(timestampFile: string): Promise<FakeClock> {
    const clock = new FakeClock(timestampFile);
    await clock.setOffsetSeconds(0);
    return clock;
  }

  /**
   * Environment that puts a process on this clock. `faketimeLibrary` is what LD_PRELOAD holds:
   * SystemTools.faketimeLibrary, libfaketime alone or preceded by the fix (see faketimePreload).
   */
  processEnv(faketimeLibrary: string): Record<string, string> {
    return {
      LD_PRELOAD: faketimeLibrary,
      FAKETIME_TIMESTAMP_FILE: this.timestampFile,
      FAKETIME_NO_CACHE: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
      FAKETIME_FORCE_MONOTONIC_FIX: '0',
    };
  }

  get offset(): number {
    return this.offsetSeconds;
  }

  /**
   * Wall-clock offset from real time, in seconds (may be negative), kept to the millisecond:
   * libfaketime reads a fractional offset (`+599.250s`), which lets a scenario put a gateway's clock
   * a precise fraction of a second past an edge (the 600 s of a login session).
   */
  async setOffsetSeconds(seconds: number): Promise<void> {
    const millis = Math.round(seconds * 1000);
    this.offsetSeconds = millis / 1000;
    const sign = millis < 0 ? '-' : '+';
    // Write then rename: libfaketime re-reads the file on every clock read, and must never see it
    // half-written (an empty file means "no offset").
    const next = `${this.timestampFile}.next`;
    await writeFile(next, `${sign}${(Math.abs(millis) / 1000).toFixed(3)}s\n`);
    await rename(next, this.timestampFile);
  }

  async reset(): Promise<void> {
    if (this.offsetSeconds !== 0) await this.setOffsetSeconds(0);
  }
}

/**
 * The LD_PRELOAD value for libfaketime, with the fix (a compiled clock/faketime-fix.c) in front
 * when there is one: it must come first to see the calls before libfaketime does. LD_PRELOAD
 * splits on colons and white space, so a path holding one cannot be listed.
 */
export function faketimePreload(faketimeLibrary: string, fix: string | undefined): string {
  const libraries = fix ? [fix, faketimeLibrary] : [faketimeLibrary];
  const unlistable = libraries.find((path) => /[\s:]/.test(path));
  if (unlistable) throw new Error(`LD_PRELOAD cannot hold a path with a colon or a space: ${unlistable}`);
  return libraries.join(':');
}

/**
 * How far, in seconds, the wall clock of the server at `url` is from the harness's, read from the
 * Date header of its answer to GET {url}/health/liveliness (any status will do); undefined when the
 * answer has no valid Date header. Fails when nothing answers.
 *
 * Good to a second or two: a Date header has whole seconds, and Node's HTTP server reuses one for
 * up to a second, so right after a move poll until the figure settles. That is plenty to tell a
 * gateway whose clock moved by hours from one whose clock cannot move (a Go or other static
 * binary: see above).
 */
export async function clockOffsetSeenBy(url: string, timeoutMs = 5000): Promise<number | undefined> {
  const sent = Date.now();
  const reply = await httpCall(`${url.replace(/\/+$/, '')}/health/liveliness`, { timeoutMs, maxBytes: 1 << 20 });
  const received = Date.now();
  const served = reply.headers.date ? Date.parse(reply.headers.date) : Number.NaN;
  if (Number.isNaN(served)) return undefined;
  // The header is the server's time cut to the second: on average half a second earlier.
  return Math.round((served + 500 - (sent + received) / 2) / 1000);
}

/**
 * The offset the server at `url` shows once it has settled on `expectedSeconds` (within
 * `toleranceS`), or the last one it showed when the deadline passed; undefined when it sends no
 * Date header. Polls: a server may reuse its Date header for up to a second after the clock moved.
 */
export async function settledClockOffsetSeenBy(
  url: string,
  expectedSeconds: number,
  { timeoutMs = 3000, toleranceS = 2 }: { timeoutMs?: number; toleranceS?: number } = {},
): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await clockOffsetSeenBy(url);
    if (seen === undefined || Math.abs(seen - expectedSeconds) <= toleranceS || Date.now() > deadline) return seen;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
