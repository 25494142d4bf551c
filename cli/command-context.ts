/**
 * What every command receives instead of touching `process` (architecture.md, convention 3):
 * settings, the environment, streams, TTY facts, the Ctrl-C signal and the clock.
 */
import type { ChildProcess } from 'node:child_process';
import type { Clock } from '../common/clock.ts';
import type { Env } from '../common/config.ts';
import type { CliSettings } from './settings.ts';
import type { TokenStore } from './token-store.ts';

export interface CommandContext {
  settings: CliSettings;
  store: TokenStore;
  env: Env;
  stdin: NodeJS.ReadableStream;
  /**
   * The secrets this command holds (the key, the poll secret): whatever is written to stdout and
   * stderr has them redacted, in any form (CLISSO-CLI-28, CLISSO-CLI-30). A command adds each one as
   * it learns it; `token` prints the key on purpose and never adds it.
   */
  secrets: Set<string>;
  /** Data for scripts. */
  stdout: NodeJS.WritableStream;
  /** Everything for people. */
  stderr: NodeJS.WritableStream;
  /** Prompts need a person at both ends: stdin and stderr are terminals. */
  interactive: boolean;
  /** Spinners only on a terminal (convention 5). */
  stderrIsTTY: boolean;
  /** Aborted by Ctrl-C (wired in main.ts). */
  signal: AbortSignal;
  /** Real time by default; whoami's "expired" must follow the machine clock (libfaketime in the suite). */
  clock: Clock;
  platform: NodeJS.Platform;
  /** The platform browser opener; replaced only in tests. */
  openWithPlatform?: (url: string) => Promise<ChildProcess>;
}

/** Write one line for people. */
export function say(ctx: Pick<CommandContext, 'stderr'>, line = ''): void {
  ctx.stderr.write(`${line}\n`);
}
