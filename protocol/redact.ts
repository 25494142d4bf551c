/**
 * One place that keeps secrets out of logs, URLs and error messages (architecture.md, convention 13).
 * Keys, poll secrets, user codes, browser tokens, authorization codes, client secrets and bearer
 * tokens are replaced by a short marker that keeps only enough to correlate lines.
 */

import { USER_CODE_ALPHABET } from './cli-sso.ts';

const REDACTED = '[redacted]';

/** Field and parameter names whose values are always secret (compared lower-cased, `-` as `_`). */
const SECRET_NAMES = new Set([
  'key',
  'api_key',
  'poll_secret',
  'x_litellm_cli_poll_secret',
  'user_code',
  'browser_complete_token',
  'code',
  'code_verifier',
  'client_secret',
  'access_token',
  'refresh_token',
  'id_token',
  'token',
  'authorization',
  'cookie',
  'set_cookie',
  'password',
  'jwt_token',
  'master_key',
  'device_code',
]);

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/-/g, '_');
}

/** Names already judged: log field names are a few dozen constants, asked about on every line. */
const SECRET_NAME_ANSWERS = new Map<string, boolean>();
const MAX_REMEMBERED_NAMES = 1000;

/** Whether a field, parameter or header of this name holds a secret (`code`, `client_secret`, `*_token`, `*_key`, ...). */
export function isSecretName(name: string): boolean {
  const known = SECRET_NAME_ANSWERS.get(name);
  if (known !== undefined) return known;
  const n = normalizeName(name);
  const secret = SECRET_NAMES.has(n) || n.endsWith('_secret') || n.endsWith('_token') || n.endsWith('_key');
  if (SECRET_NAME_ANSWERS.size < MAX_REMEMBERED_NAMES) SECRET_NAME_ANSWERS.set(name, secret);
  return secret;
}

/** Patterns of secret-looking values inside free text. */
const SECRET_VALUE_PATTERNS: RegExp[] = [
  /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, // JWTs
  /\bsk-[A-Za-z0-9_-]{8,}/g, // LiteLLM virtual keys
  /\bllm_(gcode|srefresh)_[A-Za-z0-9._-]+/g, // PKCE-native authorization codes and refresh tokens (whole, all five JWE parts)
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, // authorization header values
];

/**
 * What every match of the patterns below holds (a JWT's `eyJ`, `sk-`, a Bearer or Basic scheme, a
 * query's `?` or `&`): text without any is returned as it is, as most log values (methods, paths,
 * ids, addresses) are, without running the patterns.
 */
const MIGHT_HOLD_SECRET = /eyJ|sk-|bearer|basic|[?&]/i;

/** Redact secrets inside a free-form string (log message, URL, error text). */
export function redactText(text: string): string {
  return MIGHT_HOLD_SECRET.test(text) ? redactByPatterns(text) : text;
}

/**
 * redactText without the pre-check: every pattern run on the text. Exported for the test that the
 * pre-check never lets a secret through.
 * @internal
 */
export function redactByPatterns(text: string): string {
  let out = text;
  for (const pattern of SECRET_VALUE_PATTERNS) {
    out = out.replace(pattern, (_match, scheme?: string) =>
      typeof scheme === 'string' && /^(bearer|basic)$/i.test(scheme) ? `${scheme} ${REDACTED}` : REDACTED,
    );
  }
  // A name holds no "?": in "/a&b/callback?code=X" the parameter is "code", not "b/callback?code".
  return out.replace(/([?&])([^=&#?\s]+)=([^&#\s]*)/g, (match, sep: string, name: string) =>
    isSecretName(decodeSafe(name)) ? `${sep}${name}=${REDACTED}` : match,
  );
}

/** A user code as a CLI shows it (`XXXX-XXXX` of the code alphabet), anywhere in a text. */
const SHOWN_USER_CODE = new RegExp(`\\b[${USER_CODE_ALPHABET}]{4}-[${USER_CODE_ALPHABET}]{4}\\b`, 'g');

/**
 * {@link redactText}, and every user code a CLI printed (`Verification code: ABCD-EFGH`): for a CLI's
 * transcript, whose code sits in free text under no name. Kept off the log path, where codes only
 * ever travel in named fields and parameters.
 */
export function redactTranscript(text: string): string {
  return redactText(text).replace(SHOWN_USER_CODE, REDACTED);
}

function decodeSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Redact a URL's secret query parameters (e.g. `?code=`), keeping its shape. */
export function redactUrl(url: string): string {
  return redactText(url);
}

/** Deep copy of a JSON-like value with secret fields and secret-looking strings redacted. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[too deep]';
  if (typeof value === 'string') return redactText(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: redactText(value.message) };
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = isSecretName(k) && v !== null && v !== undefined && v !== '' ? REDACTED : redact(v, depth + 1);
    }
    return out;
  }
  return value;
}

/**
 * Pieces of a known secret shorter than this are not looked for on their own: a piece of a few
 * characters matches ordinary words; the whole secret, in every form below, is still replaced.
 */
const MIN_SECRET_PIECE = 6;
/** Where a secret breaks into pieces: whitespace, control characters and the escape sequences they start. */
const SECRET_BREAKS =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a secret may hold control characters, and is cut at them
  /(?:\u001b(?:\[[0-?]*[ -/]*[@-~]?|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|.)?|[\s\u0000-\u001a\u001c-\u001f\u007f-\u009f])+/gu;

/**
 * The forms a known secret can take once a message has carried it: as it is, JSON- or URL-encoded,
 * with its whitespace collapsed or its control characters dropped, and each piece between its line
 * breaks, spaces and control characters (a printer that cuts the secret into lines shows only
 * pieces). Longest first, so a whole form wins over its pieces.
 */
function secretForms(secret: string): string[] {
  const pieces = secret.split(SECRET_BREAKS).filter((p) => p !== undefined && p.length >= MIN_SECRET_PIECE);
  const forms = new Set([
    secret,
    JSON.stringify(secret).slice(1, -1),
    encodeURIComponent(secret),
    secret.replace(/\s+/g, ' '),
    secret.replace(SECRET_BREAKS, ''),
    ...pieces,
  ]);
  return [...forms].filter((f) => f.length > 0).sort((a, b) => b.length - a.length);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Replace every known secret (a key, a poll secret) in `text`, whatever it holds: line breaks,
 * spaces, escape sequences. For text whose secrets are known by value, such as everything a CLI
 * prints once it holds a key; redactText() still handles secrets it can only recognise by shape.
 */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  const forms = [...new Set([...secrets].filter((s) => s.length > 0).flatMap(secretForms))].sort(
    (a, b) => b.length - a.length,
  );
  if (forms.length === 0) return text;
  return text.replace(new RegExp(forms.map(escapeRegExp).join('|'), 'g'), REDACTED);
}
