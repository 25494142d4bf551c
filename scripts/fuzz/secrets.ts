/**
 * The "no secret in any log" oracle. The fuzzer learns every secret as it appears (the keys and
 * secrets it configured, and the poll secrets, codes, browser tokens, issued keys and IdP tokens the
 * servers hand out) and scans every log line the servers write for any of them.
 *
 * A hit is a leak unless the request itself carried the secret in a place no server can know to be
 * secret (the path, a query parameter or header with an ordinary name): a server that logs its
 * request line echoes what it was sent, which is not the same as leaking what it issued or what it
 * was given in the fields that carry secrets. Those are counted as echoes and reported apart.
 */
import { isSecretName } from '../../protocol/redact.ts';
import { bodyText, type RequestSpec, targetOf } from './model.ts';

export type SecretKind =
  | 'master key'
  | 'signing secret'
  | 'client secret'
  | 'control token'
  | 'poll secret'
  | 'user code'
  | 'browser token'
  | 'cli key'
  | 'authorization code'
  | 'access token'
  | 'refresh token'
  | 'id token'
  | 'device code'
  | 'ui session'
  | 'password';

/** Every secret is at least this long; it is also the length of the index key of short secrets. */
const PREFIX = 8;
/**
 * Secrets of WINDOW characters or more are also indexed by their WINDOW-long pieces at every
 * multiple of WINDOW, so a log line holding any 2 * WINDOW - 1 characters of one (a secret cut
 * or wrapped) is caught too, not only the whole secret.
 */
const WINDOW = 16;
const TOKEN_RUN = /[A-Za-z0-9_\-.~+/=:]{8,}/g;

export interface SecretHit {
  kind: SecretKind;
  /** The secret with its middle hidden (enough to tell two apart in a report). */
  shown: string;
  line: string;
  source: string;
  echo: boolean;
}

export class SecretBook {
  private readonly kinds = new Map<string, SecretKind>();
  private readonly byPrefix = new Map<string, string[]>();
  private readonly byWindow = new Map<string, string>();

  /** `pieces: false` for a secret that is not random (its pieces may well be ordinary words). */
  add(value: string | undefined | null, kind: SecretKind, options: { pieces?: boolean } = {}): void {
    if (typeof value !== 'string' || value.length < PREFIX || this.kinds.has(value)) return;
    this.kinds.set(value, kind);
    const prefix = value.slice(0, PREFIX);
    const list = this.byPrefix.get(prefix);
    if (list) list.push(value);
    else this.byPrefix.set(prefix, [value]);
    if (options.pieces === false) return;
    for (let at = 0; at + WINDOW <= value.length; at += WINDOW) this.byWindow.set(value.slice(at, at + WINDOW), value);
  }

  get size(): number {
    return this.kinds.size;
  }

  kindOf(value: string): SecretKind | undefined {
    return this.kinds.get(value);
  }

  /** The secrets that occur in `text`, whole or as a piece of 2 * WINDOW - 1 characters or more. */
  findIn(text: string): string[] {
    const found = new Set<string>();
    for (const match of text.matchAll(TOKEN_RUN)) {
      const run = match[0];
      for (let i = 0; i + PREFIX <= run.length; i++) {
        const candidates = this.byPrefix.get(run.slice(i, i + PREFIX));
        if (candidates) for (const secret of candidates) if (run.startsWith(secret, i)) found.add(secret);
        if (i + WINDOW <= run.length) {
          const piece = this.byWindow.get(run.slice(i, i + WINDOW));
          if (piece) found.add(piece);
        }
      }
    }
    return [...found];
  }
}

export function showSecret(secret: string): string {
  return secret.length <= 12 ? `${secret.slice(0, 2)}…` : `${secret.slice(0, 6)}…${secret.slice(-4)}`;
}

/**
 * The text of a request where a server cannot tell a secret from ordinary data: the path, and the
 * values of query parameters, headers and form fields whose names are not secret names (the query
 * read as a server reads the request line: a `?` put inside a path segment starts the query
 * there), and a body that is not a form (read as form data by some routes).
 */
export function ordinaryText(spec: RequestSpec): string {
  const target = targetOf(spec);
  const at = target.indexOf('?');
  const parts = [at < 0 ? target : target.slice(0, at)];
  if (at >= 0) {
    for (const [name, value] of new URLSearchParams(target.slice(at + 1))) {
      if (!isSecretName(name)) parts.push(name, value);
    }
    // As sent, too: a server logs the path percent-encoded, and an encoding can spell a secret
    // ("<FXC-ZJCC" is sent as "%3CFXC-ZJCC", which holds the user code CFXC-ZJCC).
    for (const raw of target.slice(at + 1).split('&')) {
      const name = new URLSearchParams(raw).keys().next().value ?? '';
      if (!isSecretName(name)) parts.push(raw);
    }
  }
  for (const [name, value] of spec.headers) {
    if (!/^(authorization|cookie|x-litellm-cli-poll-secret)$/i.test(name)) parts.push(value);
  }
  // Form fields too: the mock IdP journals the OAuth parameters it read, a secret one redacted.
  if (spec.body.kind === 'form')
    for (const [name, value] of spec.body.fields) if (!isSecretName(name)) parts.push(value);
  if (spec.body.kind === 'text' || spec.body.kind === 'bytes') parts.push(bodyText(spec.body) ?? '');
  return parts.join('\n');
}

/**
 * Log lines of one component, held until the current input is over (its answer may hand the
 * fuzzer a secret the server logged a moment earlier), then scanned.
 */
export class LogCapture {
  private pending: string[] = [];
  /** The newest lines, for context in reports. */
  readonly recent: string[] = [];
  lines = 0;
  bytes = 0;
  /** Lines at level error, with the event name (a server that logs an error had a bug or a store fault). */
  readonly errors: string[] = [];

  constructor(readonly name: string) {}

  readonly sink = {
    write: (line: string): boolean => {
      const text = line.trimEnd();
      this.pending.push(text);
      this.lines += 1;
      this.bytes += text.length;
      return true;
    },
  };

  /** Lines written since the last call. */
  take(): string[] {
    const lines = this.pending;
    this.pending = [];
    for (const line of lines) {
      this.recent.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
      if (this.recent.length > 50) this.recent.shift();
    }
    return lines;
  }
}

/** Scan lines; `ordinary` is the text of the requests that may have been echoed into them. */
export function scanLines(
  book: SecretBook,
  source: string,
  lines: readonly string[],
  ordinary: readonly string[],
): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const line of lines) {
    for (const secret of book.findIn(line)) {
      hits.push({
        kind: book.kindOf(secret) ?? 'password',
        shown: showSecret(secret),
        line: maskSecret(line, secret),
        source,
        echo: ordinary.some((text) => text.includes(secret) || sharesPiece(text, secret)),
      });
    }
  }
  return hits;
}

/** Whether `text` holds a WINDOW-long piece of the secret (the request carried part of it). */
function sharesPiece(text: string, secret: string): boolean {
  for (let at = 0; at + WINDOW <= secret.length; at += WINDOW)
    if (text.includes(secret.slice(at, at + WINDOW))) return true;
  return false;
}

function maskSecret(line: string, secret: string): string {
  let masked = line.split(secret).join(`<${showSecret(secret)}>`);
  for (let at = 0; at + WINDOW <= secret.length; at += WINDOW) {
    masked = masked.split(secret.slice(at, at + WINDOW)).join('<piece>');
  }
  return masked.length > 600 ? `${masked.slice(0, 600)}…` : masked;
}
