/**
 * Structured logs: one JSON line per event, every field passed through redact()
 * (architecture.md, convention 13). Writes to the stream it is given; only main.ts picks stderr.
 */
import { redact, redactText } from '../protocol/redact.ts';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';

/** How much a logger writes: each level includes the ones after it. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Where log lines go: standard error, or anything with a `write`. */
export interface LogSink {
  /** Write one line (a JSON object and a newline). */
  write(line: string): unknown;
}

/** A structured logger: one JSON line per event, every field passed through redaction. */
export interface Logger {
  /** Log an event at debug level, with its fields. */
  debug(event: string, fields?: Record<string, unknown>): void;
  /** Log an event at info level, with its fields. */
  info(event: string, fields?: Record<string, unknown>): void;
  /** Log an event at warn level, with its fields. */
  warn(event: string, fields?: Record<string, unknown>): void;
  /** Log an event at error level, with its fields. */
  error(event: string, fields?: Record<string, unknown>): void;
  /** A logger that adds these fields to every line. */
  child(fields: Record<string, unknown>): Logger;
}

/** How {@link createLogger} writes. */
export interface LoggerOptions {
  /** Where the lines go. */
  sink: LogSink;
  /**
   * The lowest level written.
   * @defaultValue `'info'`
   */
  level?: LogLevel;
  /** The `component` field of every line, e.g. `mock-idp`. */
  component: string;
  /** The time stamped on lines. */
  clock?: Clock;
  /** Fields added to every line. */
  fields?: Record<string, unknown>;
}

/**
 * A logger writing one JSON line per event (`time`, `level`, `component`, `event` and the fields),
 * with secrets redacted.
 * @example
 * ```ts
 * const idp = await startMockIdp({ logger: createLogger({ sink: process.stderr, component: 'mock-idp' }) });
 * ```
 */
export function createLogger(options: LoggerOptions): Logger {
  const minimum = LEVEL_ORDER[options.level ?? 'info'];
  const clock = options.clock ?? systemClock;
  const base = options.fields ?? {};
  const hasBase = Object.keys(base).length > 0;
  const emit = (level: LogLevel, event: string, fields: Record<string, unknown> = {}) => {
    if (LEVEL_ORDER[level] < minimum) return;
    const line = {
      time: new Date(clock.nowMs()).toISOString(),
      level,
      component: options.component,
      event: redactText(event),
      ...(redact(hasBase ? { ...base, ...fields } : fields) as Record<string, unknown>),
    };
    options.sink.write(`${JSON.stringify(line)}\n`);
  };
  return {
    debug: (e, f) => emit('debug', e, f),
    info: (e, f) => emit('info', e, f),
    warn: (e, f) => emit('warn', e, f),
    error: (e, f) => emit('error', e, f),
    child: (fields) => createLogger({ ...options, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything, for tests that do not look at logs. */
export const silentLogger: Logger = createLogger({ sink: { write: () => true }, component: 'silent', level: 'error' });
