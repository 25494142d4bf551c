/**
 * Nothing the gateway sends reaches the person's terminal as a control sequence (requirement
 * CLISSO-CLI-23): a user id, a team name, an error detail or a model id can carry escape sequences
 * that retitle the window, clear the screen or plant a hyperlink. Every line the CLI writes passes
 * through here, so no printing path can forget it.
 *
 * Kept: newline, tab, carriage return and backspace; on a terminal also the sequences our own
 * progress line uses (colours, erase line or below, cursor column/up/down, show/hide cursor; the team menu's too). Everything else
 * (OSC, DCS and other string sequences, other CSI sequences, lone ESC, C0 and C1 controls, DEL) is
 * dropped. A pipe gets no escape sequence at all.
 */
import { Writable } from 'node:stream';

/** ESC-introduced sequences: string sequences (OSC, DCS, SOS, PM, APC) up to BEL or ST, CSI, or a two-byte escape. */
const ESCAPE_SEQUENCE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this module's purpose
  /\u001b(?:[\]PX^_][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\[[0-?]*[ -/]*[@-~]?|[@-Z\\-_]?)|[\u0080-\u009f]/g;
/** CSI sequences our own progress output uses on a terminal. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this module's purpose
const OWN_CSI = /^\u001b\[(?:[0-9;]*m|[0-2]?K|0?J|[0-9]*[GABCD]|\?25[lh])$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this module's purpose
const OTHER_CONTROLS = /[\u0000-\u0007\u000b\u000c\u000e-\u001a\u001c-\u001f\u007f]/g;

export function terminalSafe(text: string, isTerminal: boolean): string {
  return text
    .replace(ESCAPE_SEQUENCE, (sequence) => (isTerminal && OWN_CSI.test(sequence) ? sequence : ''))
    .replace(OTHER_CONTROLS, '');
}

/** A stream that writes to `target` what terminalSafe() leaves of each chunk. */
export function terminalSafeStream(target: NodeJS.WritableStream, isTerminal: boolean): NodeJS.WritableStream {
  const safe = new Writable({
    decodeStrings: false,
    write(chunk: Buffer | string, _encoding, done) {
      target.write(terminalSafe(typeof chunk === 'string' ? chunk : chunk.toString('utf8'), isTerminal));
      done();
    },
  });
  // The terminal's own cursor methods (used by the progress spinner) write our sequences, not the
  // network's: they go straight to the terminal.
  const terminal = target as Partial<Record<(typeof TERMINAL_METHODS)[number], (...args: unknown[]) => unknown>>;
  const methods = Object.fromEntries(
    TERMINAL_METHODS.filter((name) => typeof terminal[name] === 'function').map((name) => [
      name,
      (...args: unknown[]) => terminal[name]?.apply(target, args),
    ]),
  );
  return Object.assign(safe, methods, {
    isTTY: (target as { isTTY?: boolean }).isTTY,
    columns: (target as { columns?: number }).columns,
    rows: (target as { rows?: number }).rows,
  });
}

const TERMINAL_METHODS = [
  'cursorTo',
  'moveCursor',
  'clearLine',
  'clearScreenDown',
  'getWindowSize',
  'hasColors',
  'getColorDepth',
] as const;

export function isTerminal(stream: NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true;
}
