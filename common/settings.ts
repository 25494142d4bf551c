/**
 * One settings table per component: each row is a setting's variable (and flag, aliases), its
 * default as a reader sees it, its meaning and its rule. The same table reads the settings
 * (`readSettings`), writes `--help` (`settingsHelp`, `addSettingFlags`) and the README's table
 * (`settingsMarkdown`; a test compares it with the README), so the three cannot drift apart, in
 * the spirit of oidc-provider's defaults file that is also its documentation.
 *
 *   const SETTINGS = {
 *     port: portSetting({ variable: 'PORT', flag: '--port <port>', default: 4000, meaning: 'port; 0 = any free port' }),
 *   };
 *   const { values, reader } = readSettings(SETTINGS, process.env, flags);
 *   reader.finish(); // after the component's own cross-checks: every problem at once
 */
import type { Command } from 'commander';
import { type Env, EnvReader, parseDurationSeconds } from './config.ts';

/** One row of a settings table. */
export interface Setting<T> {
  /** The environment variable. */
  readonly variable: string;
  /** Other variables read for the same setting, after `variable`. */
  readonly aliases: readonly string[];
  /** The flag that wins over the variable, as commander declares it: `--port <port>`, `--verbose`. */
  readonly flag: string | undefined;
  /** The default as the README and `--help` show it: `4000`, `(required)`, `(none)`. */
  readonly shownDefault: string;
  /** What it does, in Markdown (backticks are dropped in `--help`). */
  readonly meaning: string;
  /** Reported by length only, never by value. */
  readonly secret: boolean;
  /** Reads the setting; `name` is the variable or, when the flag was given, the flag's name. */
  read(reader: EnvReader, name: string): T;
}

export type SettingsTable = Readonly<Record<string, Setting<unknown>>>;

/** The values a table reads, by row name. */
export type SettingValues<T extends SettingsTable> = { [K in keyof T]: T[K] extends Setting<infer V> ? V : never };

interface Common {
  variable: string;
  aliases?: readonly string[];
  flag?: string;
  meaning: string;
  /** Overrides the default shown in the docs (e.g. `(request base URL)`). */
  shownDefault?: string;
}

function row<T>(common: Common, shownDefault: string, secret: boolean, read: Setting<T>['read']): Setting<T> {
  return {
    variable: common.variable,
    aliases: common.aliases ?? [],
    flag: common.flag,
    shownDefault: common.shownDefault ?? shownDefault,
    meaning: common.meaning,
    secret,
    read,
  };
}

/** Text, trimmed; `default` when unset or blank. */
export function textSetting(options: Common & { default: string }): Setting<string>;
export function textSetting(options: Common & { default?: undefined }): Setting<string | undefined>;
export function textSetting(options: Common & { default?: string }): Setting<string | undefined> {
  return row(
    options,
    options.default === undefined ? '(none)' : `\`${options.default}\``,
    false,
    (reader, name) => reader.string(name, readOptions(options, name)) ?? options.default,
  );
}

/** A secret: never echoed in a problem, never given as a flag (a command line shows in `ps`). */
export function secretSetting(options: Common & { required?: boolean }): Setting<string | undefined> {
  return row(options, options.required ? '**required**' : '(none)', true, (reader, name) =>
    options.required
      ? reader.required(name, readOptions(options, name, true))
      : reader.string(name, readOptions(options, name, true)),
  );
}

/** Text that must be set. */
export function requiredSetting(options: Common): Setting<string> {
  return row(options, '**required**', false, (reader, name) => reader.required(name, readOptions(options, name)));
}

/** `true` or `false` in any case; anything else is a problem, not "off". */
export function booleanSetting(options: Common & { default: boolean }): Setting<boolean> {
  return row(options, `\`${options.default}\``, false, (reader, name) =>
    reader.bool(name, options.default, readOptions(options, name)),
  );
}

/** A whole number from `min` (default 1) to `max`. */
export function wholeNumberSetting(options: Common & { default: number; min?: number; max: number }): Setting<number> {
  return row(options, `\`${options.default}\``, false, (reader, name) =>
    reader.wholeNumber(name, options.default, {
      ...readOptions(options, name),
      min: options.min ?? 1,
      max: options.max,
    }),
  );
}

/** A TCP port, 0 = any free port. */
export function portSetting(options: Common & { default: number }): Setting<number> {
  return row(options, `\`${options.default}\``, false, (reader, name) => reader.port(name, options.default));
}

/** An absolute http(s) URL; `required`: its absence is a problem too (the value is then ''). */
export function urlSetting(options: Common & { secret?: boolean; required: true }): Setting<string>;
export function urlSetting(options: Common & { secret?: boolean; required?: false }): Setting<string | undefined>;
export function urlSetting(options: Common & { secret?: boolean; required?: boolean }): Setting<string | undefined> {
  return row(options, options.required ? '**required**' : '(none)', options.secret ?? false, (reader, name) => {
    const read = readOptions(options, name, options.secret);
    if (options.required && !reader.raw(name, read)) return reader.required(name, read);
    return reader.url(name, read) ?? (options.required ? '' : undefined);
  });
}

/** A comma-separated list; entries trimmed, empty entries dropped. */
export function listSetting(options: Common): Setting<string[]> {
  return row(options, '(none)', false, (reader, name) => reader.list(name, readOptions(options, name)));
}

/** One word of `choices`. */
export function choiceSetting<const C extends string>(
  options: Common & { choices: readonly C[]; default: C },
): Setting<C> {
  return row(options, `\`${options.default}\``, false, (reader, name) =>
    reader.oneOf(name, options.choices, options.default),
  );
}

/** A duration (`90s`, `30m`, `24h`, `7d`, or seconds), read as seconds. */
export function durationSetting(options: Common & { default: string }): Setting<number> {
  return row(options, `\`${options.default}\``, false, (reader, name) => {
    const text = reader.string(name, readOptions(options, name)) ?? options.default;
    const seconds = parseDurationSeconds(text);
    if (seconds !== undefined) return seconds;
    reader.problem(name, 'must be a duration such as 30m, 24h, 7d or seconds', text);
    return parseDurationSeconds(options.default) ?? 0;
  });
}

function readOptions(options: Common, name: string, secret = false): { secret: boolean; aliases: readonly string[] } {
  // A flag has no aliases; a variable is read under its aliases too.
  return { secret, aliases: name === options.variable ? (options.aliases ?? []) : [] };
}

/** `--port <port>` -> `--port`. */
export function flagName(flag: string): string {
  return flag.split(/[\s,]+/)[0] ?? flag;
}

/** `--id-token-claims` -> `idTokenClaims`, as commander names its option values. */
function flagKey(flag: string): string {
  return flagName(flag)
    .replace(/^--/, '')
    .replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Reads every row of `table` from `env`, a flag (commander's values, by their camelCase key)
 * winning over its variable. Problems are recorded in the returned reader, which the caller
 * finishes after its own cross-checks so that every problem is reported at once.
 */
export function readSettings<T extends SettingsTable>(
  table: T,
  env: Env,
  flags: Readonly<Record<string, unknown>> = {},
): { values: SettingValues<T>; reader: EnvReader } {
  const given: Record<string, string> = {};
  for (const setting of Object.values(table)) {
    if (!setting.flag) continue;
    const value = flags[flagKey(setting.flag)];
    if (value !== undefined) given[flagName(setting.flag)] = String(value);
  }
  const reader = new EnvReader({ ...env, ...given });
  const values: Record<string, unknown> = {};
  for (const [key, setting] of Object.entries(table)) {
    const name =
      setting.flag && given[flagName(setting.flag)] !== undefined ? flagName(setting.flag) : setting.variable;
    values[key] = setting.read(reader, name);
  }
  return { values: values as SettingValues<T>, reader };
}

/** Declares the table's flags on a commander program, each with its variable and default. */
export function addSettingFlags(program: Command, table: SettingsTable): Command {
  for (const setting of Object.values(table)) {
    if (!setting.flag) continue;
    program.option(
      setting.flag,
      `${plain(setting.meaning)} (env ${setting.variable}, default ${plain(setting.shownDefault)})`,
    );
  }
  return program;
}

/** The `Environment variables:` block of `--help`: every variable, its default and meaning. */
export function settingsHelp(table: SettingsTable): string {
  const rows = Object.values(table).map((s) => {
    const names = [s.variable, ...s.aliases].join(', ');
    return `  ${names}\n      ${plain(s.meaning)}\n      default: ${plain(s.shownDefault)}`;
  });
  return `Environment variables:\n${rows.join('\n')}\n`;
}

/** The README's settings table, columns padded as the rest of the README's tables. */
export function settingsMarkdown(table: SettingsTable): string {
  const header = ['flag', 'variable', 'default', 'meaning'];
  const rows = Object.values(table).map((s) => [
    s.flag ? `\`${s.flag}\`` : '',
    [`\`${s.variable}\``, ...s.aliases.map((a) => `(or \`${a}\`)`)].join(' '),
    s.shownDefault,
    s.meaning,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Where a README holds its generated settings table. */
export const SETTINGS_TABLE_BEGIN = '<!-- settings table: generated from the code by `npm run docs:settings` -->';
export const SETTINGS_TABLE_END = '<!-- end of settings table -->';

/** `text` with the part between the markers replaced by `table`; throws when the markers are missing. */
export function withSettingsTable(text: string, table: string, file: string): string {
  const begin = text.indexOf(SETTINGS_TABLE_BEGIN);
  const end = text.indexOf(SETTINGS_TABLE_END);
  if (begin < 0 || end < begin) throw new Error(`${file}: the settings table markers are missing`);
  return `${text.slice(0, begin + SETTINGS_TABLE_BEGIN.length)}\n${table}\n${text.slice(end)}`;
}

function plain(markdown: string): string {
  return markdown.replaceAll('`', '').replaceAll('**', '');
}
