/**
 * Moves the clock of a process the harness started, whatever its language, with libfaketime
 * (Debian package `faketime`): the process runs with LD_PRELOAD and a timestamp file holding an
 * offset such as `+25h`; FAKETIME_NO_CACHE makes every clock read see a change at once.
 * The monotonic clock is left alone so timers and event loops keep working.
 */
import { rename, writeFile } from 'node:fs/promises';

export class FakeClock {
  private offsetSeconds = 0;

  private constructor(readonly timestampFile: string) {}

  static async create(timestampFile: string): Promise<FakeClock> {
    const clock = new FakeClock(timestampFile);
    await clock.setOffsetSeconds(0);
    return clock;
  }

  /** Environment that puts a process on this clock. */
  processEnv(faketimeLibrary: string): Record<string, string> {
    return {
      LD_PRELOAD: faketimeLibrary,
      FAKETIME_TIMESTAMP_FILE: this.timestampFile,
      FAKETIME_NO_CACHE: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    };
  }

  get offset(): number {
    return this.offsetSeconds;
  }

  /** Wall-clock offset from real time, in seconds (may be negative). */
  async setOffsetSeconds(seconds: number): Promise<void> {
    this.offsetSeconds = seconds;
    const sign = seconds < 0 ? '-' : '+';
    // Write then rename: libfaketime re-reads the file on every clock read, and must never see it
    // half-written (an empty file means "no offset").
    const next = `${this.timestampFile}.next`;
    await writeFile(next, `${sign}${Math.abs(Math.trunc(seconds))}s\n`);
    await rename(next, this.timestampFile);
  }

  async reset(): Promise<void> {
    if (this.offsetSeconds !== 0) await this.setOffsetSeconds(0);
  }
}
