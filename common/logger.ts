/**
 * Structured logs: one JSON line per event, every field passed through redact()
 * (architecture.md, convention 13). Writes to the stream it is given; only main.ts picks stderr.
 */
import { redact, redactText } from '../protocol/redact.ts';
import type { Clock } from './clock.ts';
import { systemClock } from './clock.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LogSink {
  write(line: string): unknown;
}

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  sink: LogSink;
  level?: LogLevel;
  component: string;
  clock?: Clock;
  fields?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions): Logger {
  const minimum = LEVEL_ORDER[options.level ?? 'info'];
  const clock = options.clock ?? systemClock;
  const base = options.fields ?? {};
  const emit = (level: LogLevel, event: string, fields: Record<string, unknown> = {}) => {
    if (LEVEL_ORDER[level] < minimum) return;
    const line = {
      time: new Date(clock.nowMs()).toISOString(),
      level,
      component: options.component,
      event: redactText(event),
      ...(redact({ ...base, ...fields }) as Record<string, unknown>),
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
