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
 *
 * Two layers, because the stream filter cannot tell our cursor moves from the gateway's: every string
 * from the network is first passed through shown() where it is put in a line (its controls become
 * visible text), and the stream filter catches whatever a printing path forgot. The stream also
 * redacts the command's secrets (the key, the poll secret) before anything else.
 */
import { Writable } from 'node:stream';
import { redactSecrets } from '../protocol/redact.ts';

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

/**
 * Characters of a string from the network that must not act on a terminal, even one that lets our
 * own cursor moves through: C0 and C1 controls (ESC and CSI start every escape sequence), DEL, and the
 * Unicode bidirectional controls that make a printed line read differently from what it holds.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is this module's purpose
const NETWORK_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A value the gateway sent (a user id, a team name, an error detail, a model id), ready to be put in
 * a line: every control character is shown as text (`\x1b`), so a cursor move or a screen clear that
 * the terminal filter lets through for our own progress line cannot come from the network
 * (CLISSO-CLI-23), and a line break in it cannot forge a line of ours.
 */
export function shown(value: string): string {
  return value.replace(NETWORK_UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/**
 * A stream that writes to `target` what terminalSafe() leaves of each chunk, after every secret in
 * `secrets` (the key, the poll secret: added as the command learns them) has been replaced in any
 * form it may take (CLISSO-CLI-28, CLISSO-CLI-30).
 */
export function terminalSafeStream(
  target: NodeJS.WritableStream,
  isTerminal: boolean,
  secrets: ReadonlySet<string> = new Set(),
): NodeJS.WritableStream {
  const safe = new Writable({
    decodeStrings: false,
    write(chunk: Buffer | string, _encoding, done) {
      const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      target.write(terminalSafe(redactSecrets(text, secrets), isTerminal));
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
