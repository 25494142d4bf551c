/**
 * One place that keeps secrets out of logs, URLs and error messages (architecture.md, convention 13).
 * Keys, poll secrets, user codes, browser tokens, authorization codes, client secrets and bearer
 * tokens are replaced by a short marker that keeps only enough to correlate lines.
 */

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

export function isSecretName(name: string): boolean {
  const n = normalizeName(name);
  return SECRET_NAMES.has(n) || n.endsWith('_secret') || n.endsWith('_token') || n.endsWith('_key');
}

/** Patterns of secret-looking values inside free text. */
const SECRET_VALUE_PATTERNS: RegExp[] = [
  /\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g, // JWTs
  /\bsk-[A-Za-z0-9_-]{8,}/g, // LiteLLM virtual keys
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, // authorization header values
];

/** Redact secrets inside a free-form string (log message, URL, error text). */
export function redactText(text: string): string {
  let out = text;
  for (const pattern of SECRET_VALUE_PATTERNS) {
    out = out.replace(pattern, (_match, scheme?: string) =>
      typeof scheme === 'string' && /^(bearer|basic)$/i.test(scheme) ? `${scheme} ${REDACTED}` : REDACTED,
    );
  }
  return out.replace(/([?&])([^=&#\s]+)=([^&#\s]*)/g, (match, sep: string, name: string) =>
    isSecretName(decodeSafe(name)) ? `${sep}${name}=${REDACTED}` : match,
  );
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
