/**
 * The one place that turns a failure into an exit code and a message a person can act on
 * (architecture.md, conventions 2 and 5). Commands throw CliError (or let gateway-client errors
 * through); program.ts calls describeFailure() once and prints the result. No stack traces, ever.
 */
import { ConfigError } from '../common/config.ts';
import { WireFormatError } from '../protocol/cli-sso.ts';
import { redactText } from '../protocol/redact.ts';
import { GatewayHttpError, GatewayTimeoutError, GatewayUnreachableError } from './gateway-client.ts';
import { shown } from './terminal-safe.ts';

export const EXIT_CODES = {
  ok: 0,
  failed: 1,
  usage: 2,
  notLoggedIn: 3,
  refused: 4,
  timedOut: 5,
  unreachable: 6,
  gatewayError: 7,
  teamRequired: 8,
  expired: 9,
  cancelled: 130,
} as const;

export type ExitKind = keyof typeof EXIT_CODES;

/** The documented table, shown by `cli-sso --help` and in cli/README.md. */
export const EXIT_CODE_TABLE: ReadonlyArray<{ code: number; kind: ExitKind; meaning: string }> = [
  { code: EXIT_CODES.ok, kind: 'ok', meaning: 'success (logout also succeeds when nothing was stored)' },
  { code: EXIT_CODES.failed, kind: 'failed', meaning: 'unexpected failure (a bug: please report it)' },
  { code: EXIT_CODES.usage, kind: 'usage', meaning: 'bad command line, flag or environment variable' },
  {
    code: EXIT_CODES.notLoggedIn,
    kind: 'notLoggedIn',
    meaning: 'not logged in (no stored login, or not for this gateway)',
  },
  {
    code: EXIT_CODES.refused,
    kind: 'refused',
    meaning: 'the gateway refused the request (a 4xx answer other than 429)',
  },
  {
    code: EXIT_CODES.timedOut,
    kind: 'timedOut',
    meaning: 'timed out (login deadline passed, or the gateway did not answer)',
  },
  {
    code: EXIT_CODES.unreachable,
    kind: 'unreachable',
    meaning: 'gateway unreachable (connection failed after retries)',
  },
  {
    code: EXIT_CODES.gatewayError,
    kind: 'gatewayError',
    meaning: "gateway error (5xx, or an answer that is not the contract's)",
  },
  {
    code: EXIT_CODES.teamRequired,
    kind: 'teamRequired',
    meaning: 'a team must be chosen: run login again with --team <id>',
  },
  { code: EXIT_CODES.expired, kind: 'expired', meaning: 'the stored key has expired: run `cli-sso login`' },
  { code: EXIT_CODES.cancelled, kind: 'cancelled', meaning: 'cancelled with Ctrl-C' },
];

export function exitCodeHelp(): string {
  const lines = EXIT_CODE_TABLE.map((row) => `  ${String(row.code).padStart(3)}  ${row.meaning}`);
  return `\nExit codes:\n${lines.join('\n')}\n`;
}

/** A failure whose exit code and wording the command chose itself. */
export class CliError extends Error {
  constructor(
    readonly kind: Exclude<ExitKind, 'ok'>,
    message: string,
    /** What the person should do next, printed on its own line. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface Failure {
  code: number;
  /** Lines for stderr; already redacted. */
  lines: string[];
}

/** Ctrl-C: an aborted fetch or sleep, or an inquirer prompt left with Ctrl-C or aborted by the signal. */
const ABORT_ERROR_NAMES = new Set(['AbortError', 'AbortPromptError', 'ExitPromptError']);

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && ABORT_ERROR_NAMES.has(error.name);
}

/**
 * Map any error to its exit code and message. Gateway errors that reach this point without a
 * command-specific wording get a generic one that still names the gateway and the status.
 */
export function describeFailure(error: unknown): Failure {
  const make = (kind: Exclude<ExitKind, 'ok'>, message: string, hint?: string): Failure => ({
    code: EXIT_CODES[kind],
    lines: [`Error: ${redactText(message)}`, ...(hint ? [redactText(hint)] : [])],
  });
  if (error instanceof CliError) return make(error.kind, error.message, error.hint);
  if (isAbortError(error)) return { code: EXIT_CODES.cancelled, lines: ['Cancelled.'] };
  if (error instanceof ConfigError) return make('usage', error.message);
  if (error instanceof GatewayUnreachableError) {
    return make(
      'unreachable',
      error.message,
      'Check the gateway URL (--base-url or LITELLM_PROXY_URL) and your network.',
    );
  }
  if (error instanceof GatewayTimeoutError) {
    return make(
      'timedOut',
      error.message,
      'Check that the gateway is up, or give it more time with --timeout <seconds>.',
    );
  }
  if (error instanceof WireFormatError) {
    return make(
      'gatewayError',
      // The field's name can be a key the gateway chose (CLISSO-CLI-23).
      `the gateway's ${error.what} is not LiteLLM's CLI SSO contract: field "${shown(error.field)}" ${shown(error.rule)}`,
      'Check that --base-url points at a LiteLLM-style gateway.',
    );
  }
  if (error instanceof GatewayHttpError) {
    if (error.status >= 500 || error.status === 429) {
      return make(
        'gatewayError',
        error.message,
        'This is a problem on the gateway; try again later or tell its operator.',
      );
    }
    return make('refused', error.message);
  }
  const message = error instanceof Error ? error.message : String(error);
  return make('failed', `unexpected failure: ${message}`, 'This is a bug in cli-sso; please report it.');
}
