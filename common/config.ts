/**
 * Configuration is read once, at the edge, and every problem is reported together
 * (architecture.md, convention 1). Each problem names the variable, the rule and the offending
 * value; a secret's value is never echoed.
 *
 *   const env = new EnvReader(process.env);
 *   const port = env.port('PORT', 4000);
 *   const key = env.string('LITELLM_MASTER_KEY', { secret: true });
 *   env.finish(); // throws ConfigError listing every problem found above
 */

/** One configuration problem: the variable (or flag, or file path), the rule it breaks, its value. */
export interface ConfigProblem {
  /** The variable, flag or file that is wrong, e.g. `LITELLM_MASTER_KEY`. */
  variable: string;
  /** The rule it breaks. */
  rule: string;
  /** The offending value, or a placeholder for secrets. */
  value: string;
}

/**
 * A configuration that cannot be used. `problems` lists every problem found, not only the first;
 * the message lists them one a line, secrets by their length only.
 */
export class ConfigError extends Error {
  readonly code = 'config_invalid';
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      `invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p.variable}: ${p.rule} (got ${p.value})`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Environment variables by name, as the process environment has them. */
export type Env = Readonly<Record<string, string | undefined>>;

interface ReadOptions {
  /** Secrets are reported as `<secret, N characters>`, never by value. */
  secret?: boolean;
  /** Other names accepted for the same setting, tried after the main name. */
  aliases?: readonly string[];
}

const TRUE_WORDS = new Set(['true']);
const FALSE_WORDS = new Set(['false']);

export class EnvReader {
  private readonly problems: ConfigProblem[] = [];

  constructor(private readonly env: Env) {}

  /** Raw lookup honouring aliases; empty strings count as unset. */
  raw(name: string, options: ReadOptions = {}): { name: string; value: string } | undefined {
    for (const candidate of [name, ...(options.aliases ?? [])]) {
      const value = this.env[candidate];
      if (value !== undefined && value.trim() !== '') return { name: candidate, value };
    }
    return undefined;
  }

  /** Record a problem found by the caller's own rule. */
  problem(variable: string, rule: string, value: string, secret = false): void {
    this.problems.push({ variable, rule, value: secret ? describeSecret(value) : JSON.stringify(value) });
  }

  string(name: string, options: ReadOptions & { default: string }): string;
  string(name: string, options?: ReadOptions & { default?: undefined }): string | undefined;
  string(name: string, options: ReadOptions & { default?: string } = {}): string | undefined {
    return this.raw(name, options)?.value.trim() ?? options.default;
  }

  required(name: string, options: ReadOptions = {}): string {
    const found = this.raw(name, options);
    if (!found) {
      this.problems.push({ variable: name, rule: 'is required', value: 'nothing' });
      return '';
    }
    return found.value.trim();
  }

  /**
   * `true`/`false` in any case (docs/contract.md section 3); anything else is a problem, not "off".
   */
  bool(name: string, fallback: boolean, options: ReadOptions = {}): boolean {
    const found = this.raw(name, options);
    if (!found) return fallback;
    const word = found.value.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
    this.problem(found.name, 'must be true or false (any case)', found.value, options.secret);
    return fallback;
  }

  /** A whole number from `min` (default 1) to `max`. */
  wholeNumber(name: string, fallback: number, options: ReadOptions & { min?: number; max?: number } = {}): number {
    const found = this.raw(name, options);
    if (!found) return fallback;
    const text = found.value.trim();
    const min = options.min ?? 1;
    const max = options.max ?? Number.MAX_SAFE_INTEGER;
    if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) {
      this.problem(found.name, `must be a whole number from ${min} to ${max}`, found.value, options.secret);
      return fallback;
    }
    return Number(text);
  }

  port(name: string, fallback: number): number {
    const found = this.raw(name);
    if (!found) return fallback;
    const text = found.value.trim();
    if (!/^[0-9]+$/.test(text) || Number(text) > 65535) {
      this.problem(found.name, 'must be a port number from 0 to 65535', found.value);
      return fallback;
    }
    return Number(text);
  }

  url(name: string, options: ReadOptions & { default?: string } = {}): string | undefined {
    const found = this.raw(name, options);
    if (!found) return options.default;
    const text = found.value.trim();
    if (!isHttpUrl(text)) {
      this.problem(found.name, 'must be an absolute http(s) URL', found.value, options.secret);
      return options.default;
    }
    return text;
  }

  /** Comma-separated list; entries trimmed, empty entries dropped. */
  list(name: string, options: ReadOptions = {}): string[] {
    const found = this.raw(name, options);
    if (!found) return [];
    return found.value
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const found = this.raw(name);
    if (!found) return fallback;
    const text = found.value.trim() as T;
    if (allowed.includes(text)) return text;
    this.problem(found.name, `must be one of ${allowed.join(', ')}`, found.value);
    return fallback;
  }

  /** Throws one ConfigError with every problem recorded so far. */
  finish(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}

export function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function describeSecret(value: string): string {
  return `<secret, ${value.length} characters>`;
}

/** Parse a duration such as `24h`, `30m`, `7d`, `90s` or plain seconds; undefined when invalid. */
export function parseDurationSeconds(text: string): number | undefined {
  const match = /^\s*([0-9]+)\s*([smhd]?)\s*$/i.exec(text);
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = (match[2] ?? '').toLowerCase();
  const factor = unit === 'm' ? 60 : unit === 'h' ? 3600 : unit === 'd' ? 86400 : 1;
  const seconds = amount * factor;
  return seconds > 0 ? seconds : undefined;
}
