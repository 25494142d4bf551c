/**
 * What a person sees while the CLI waits for the browser: on a terminal, a
 * spinner with the elapsed and remaining time; otherwise (CI logs, pipes) a plain line now and then,
 * so a log shows the CLI is alive without filling up with spinner frames.
 */
import type { Ora } from 'ora';
import type { Clock } from '../common/clock.ts';
import { formatClock, formatDuration } from './time-format.ts';

/** Without a terminal, one "still waiting" line this often. */
export const PLAIN_PROGRESS_EVERY_MS = 30_000;

export interface LoginProgress {
  /** A line for people that must not be mangled by the spinner. */
  note(line: string): void;
  /** Stop drawing (before a prompt); resume() draws again. */
  pause(): void;
  resume(): void;
  stop(): void;
}

export interface LoginProgressOptions {
  stream: NodeJS.WritableStream;
  isTTY: boolean;
  clock: Clock;
  startedMs: number;
  deadlineMs: number;
}

export async function startLoginProgress(options: LoginProgressOptions): Promise<LoginProgress> {
  const { clock, startedMs, deadlineMs, stream } = options;
  const elapsedS = () => (clock.nowMs() - startedMs) / 1000;
  const remainingS = () => Math.max(0, (deadlineMs - clock.nowMs()) / 1000);
  if (options.isTTY) {
    // Loaded only when drawn: every other command starts faster without it.
    const { default: ora } = await import('ora');
    return spinnerProgress(ora, stream, () => spinnerText(elapsedS(), remainingS()));
  }
  stream.write(
    `Waiting for the login to be completed in the browser (giving up in ${formatDuration(Math.ceil(remainingS()))})...\n`,
  );
  const timer = setInterval(() => {
    stream.write(`Still waiting: ${formatDuration(elapsedS())} elapsed, ${formatDuration(remainingS())} left.\n`);
  }, PLAIN_PROGRESS_EVERY_MS);
  timer.unref();
  return {
    note: (line) => stream.write(`${line}\n`),
    pause: () => undefined,
    resume: () => undefined,
    stop: () => clearInterval(timer),
  };
}

function spinnerText(elapsedS: number, remainingS: number): string {
  return `Waiting for the login in the browser: ${formatClock(elapsedS)} elapsed, ${formatClock(remainingS)} left (Ctrl-C to cancel)`;
}

function spinnerProgress(
  ora: typeof import('ora').default,
  stream: NodeJS.WritableStream,
  text: () => string,
): LoginProgress {
  // discardStdin: false, so Ctrl-C reaches main.ts as SIGINT and a team prompt can read stdin.
  const spinner: Ora = ora({ text: text(), stream, isEnabled: true, discardStdin: false }).start();
  const timer = setInterval(() => {
    spinner.text = text();
  }, 1000);
  timer.unref();
  return {
    note: (line) => {
      spinner.clear();
      stream.write(`${line}\n`);
      spinner.render();
    },
    pause: () => spinner.stop(),
    resume: () => {
      spinner.start(text());
    },
    stop: () => {
      clearInterval(timer);
      spinner.stop();
    },
  };
}
