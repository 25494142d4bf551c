/**
 * The user's identity from the IdP's userinfo answer (docs/contract.md section 4) and the claims
 * captured for attribution (GENERIC_USER_EXTRA_ATTRIBUTES, section 5). Pure functions, no I/O.
 */
import type { IdentityAttributes } from './config.ts';

/** LiteLLM's user roles; a role claim is used only when it is one of these. */
export const KNOWN_ROLES = [
  'proxy_admin',
  'proxy_admin_viewer',
  'org_admin',
  'internal_user',
  'internal_user_viewer',
  'team',
  'customer',
] as const;
export type UserRole = (typeof KNOWN_ROLES)[number];
/** The role of a new user whose IdP sends no known role. */
export const DEFAULT_NEW_USER_ROLE: UserRole = 'internal_user_viewer';

export function isKnownRole(value: unknown): value is UserRole {
  return typeof value === 'string' && (KNOWN_ROLES as readonly string[]).includes(value);
}

/**
 * Split a claim path on dots; `\.` is a literal dot and a leading `metadata.` is ignored
 * (section 4), so `org\.unit.name` reads `userinfo["org.unit"]["name"]`.
 */
export function splitClaimPath(path: string): string[] {
  const trimmed = path.trim().replace(/^metadata\./, '');
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < trimmed.length; i++) {
    const char = trimmed[i];
    if (char === '\\' && trimmed[i + 1] === '.') {
      current += '.';
      i++;
    } else if (char === '.') {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

/** The value at a claim path, or undefined when any step is missing. */
export function readClaim(userinfo: unknown, path: string): unknown {
  let node: unknown = userinfo;
  for (const part of splitClaimPath(path)) {
    if (typeof node !== 'object' || node === null || Array.isArray(node) || !Object.hasOwn(node, part)) {
      return undefined;
    }
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** A claim as text: strings trimmed, numbers as digits, anything else (or empty) undefined. */
function readText(userinfo: unknown, path: string | undefined): string | undefined {
  if (path === undefined || path === '') return undefined;
  const value = readClaim(userinfo, path);
  const text = typeof value === 'string' ? value.trim() : typeof value === 'number' ? String(value) : '';
  return text === '' ? undefined : text;
}

export interface IdpIdentity {
  userId: string;
  /** Normalised (see readEmail); null when the IdP sends none, or one that must not be used. */
  email: string | null;
  /** Why the IdP's email is not used (unverified); null when it is used or there is none. */
  emailNotUsed: string | null;
  displayName: string | null;
  firstName: string | null;
  lastName: string | null;
  /** Only a known role; null means "keep the stored role, or the default for a new user". */
  role: UserRole | null;
  teams: string[];
}

export type IdentityResult = { ok: true; identity: IdpIdentity } | { ok: false; reason: string };

/**
 * Bounds on what the IdP may say about a person (reference choice, CLISSO-IDENTITY-09), in Unicode
 * characters. The user id and a team id travel inside every key: without a bound a 20,000-character
 * id made a key longer than the gateway's own 16 KiB header limit, refused with 431. 254 is the
 * longest address RFC 5321 lets through (its 256-octet path less the angle brackets).
 */
export const IDENTITY_LIMITS = {
  /** The user id, names and display name. */
  text: 256,
  email: 254,
  emailLocalPart: 64,
  teamId: 256,
  teams: 100,
} as const;

/** The standard OpenID Connect claim saying whether the IdP checked the person owns the email. */
export const EMAIL_VERIFIED_CLAIM = 'email_verified';

export function buildIdentity(userinfo: unknown, attributes: IdentityAttributes): IdentityResult {
  const problems: string[] = [];
  const text = (path: string | undefined) => checkedText(userinfo, path, problems);
  const email = readEmail(userinfo, attributes.email, problems);
  const firstName = text(attributes.firstName) ?? null;
  const lastName = text(attributes.lastName) ?? null;
  const idClaim = text(attributes.userId);
  const displayName = text(attributes.displayName) ?? null;
  const teams = readTeams(readClaim(userinfo, attributes.teams));
  checkTeams(teams, attributes.teams, problems);
  if (problems.length > 0) return { ok: false, reason: problems.join('; ') };
  // user_id = the id attribute; if empty, first + last name; if still empty, the email (section 4).
  // An email the IdP did not verify never names anyone (CLISSO-IDENTITY-07): email.value is null then.
  const fullName = [firstName, lastName].filter((n) => n !== null).join(' ');
  const userId = idClaim ?? (fullName !== '' ? fullName : null) ?? email.value;
  if (userId === null) {
    const unverified = email.notUsed !== null ? ` (${email.notUsed})` : '';
    // mutation-equivalent: the reason only words the 4xx answer's message, which the contract leaves free
    return {
      ok: false,
      reason: `the IdP sent no ${attributes.userId}, name or usable email to identify the user${unverified}`,
    };
  }
  // mutation-equivalent: CLISSO-IDENTITY-09 lets a gateway refuse such an identity with a 4xx or log it in,
  // and the reason only words that 4xx's message
  if (characterCount(userId) > IDENTITY_LIMITS.text) {
    return {
      ok: false,
      reason: `the user id made of the first and last name is longer than ${IDENTITY_LIMITS.text} characters`,
    };
  }
  const role = readClaim(userinfo, attributes.role);
  return {
    ok: true,
    identity: {
      userId,
      email: email.value,
      emailNotUsed: email.notUsed,
      displayName,
      firstName,
      lastName,
      role: isKnownRole(role) ? role : null,
      teams,
    },
  };
}

/** Unicode characters (code points), not UTF-16 units. */
function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Text that cannot be stored or shown as it is: control characters (a NUL cannot even be stored in
 * PostgreSQL, an escape sequence rewrites a terminal) and lone UTF-16 surrogates (not Unicode).
 */
function unsafeTextReason(text: string): string | undefined {
  if (LONE_SURROGATE.test(text)) return 'holds a lone UTF-16 surrogate';
  if (/\p{Cc}/u.test(text)) return 'holds control characters';
  return undefined;
}

/** A text claim, checked for length and content; a problem is added (naming the claim) when it fails. */
function checkedText(userinfo: unknown, path: string | undefined, problems: string[]): string | undefined {
  const value = readText(userinfo, path);
  if (value === undefined) return undefined;
  const problem = describeTextProblem(value, IDENTITY_LIMITS.text);
  // mutation-equivalent: CLISSO-IDENTITY-09 lets a gateway refuse such a claim with a 4xx or log the
  // person in with it
  if (problem !== undefined) {
    problems.push(`the IdP's "${path}" claim ${problem}`);
    return undefined;
  }
  return value;
}

function describeTextProblem(value: string, limit: number): string | undefined {
  const length = characterCount(value);
  if (length > limit) return `is ${length} characters long, more than the ${limit} accepted`;
  return unsafeTextReason(value);
}

function checkTeams(teams: readonly string[], path: string, problems: string[]): void {
  // mutation-equivalent: CLISSO-IDENTITY-09 lets a gateway refuse a long team list with a 4xx or log
  // it in, so where the reference draws its line (100) is its own; the message only words that 4xx
  if (teams.length > IDENTITY_LIMITS.teams) {
    problems.push(
      `the IdP's "${path}" claim lists ${teams.length} teams, more than the ${IDENTITY_LIMITS.teams} accepted`,
    );
    return;
  }
  for (const team of teams) {
    const problem = describeTextProblem(team, IDENTITY_LIMITS.teamId);
    if (problem !== undefined) {
      problems.push(`a team id in the IdP's "${path}" claim ${problem}`);
      return;
    }
  }
}

/**
 * The email, as the one form every comparison uses (reference choice, CLISSO-IDENTITY-07/-08):
 *
 * - an email the IdP marks unverified (`email_verified: false`, or the string "false" some IdPs
 *   send) is not used at all: not as the user id, not stored, not for ALLOWED_EMAIL_DOMAINS;
 * - otherwise it must be one plain address (exactly one `@`, a dot-atom local part, a domain of
 *   letter, digit and hyphen labels) that Unicode normalisation NFKC leaves unchanged: the Kelvin
 *   sign U+212A, full-width letters or ligatures would lower-case or normalise into someone
 *   else's address, so such an email refuses the login instead;
 * - what is kept is that address lower-cased (section 4), so `Dana@Example.COM` is `dana@example.com`.
 */
function readEmail(
  userinfo: unknown,
  path: string,
  problems: string[],
): { value: string | null; notUsed: string | null } {
  const raw = readText(userinfo, path);
  if (raw === undefined) return { value: null, notUsed: null };
  if (isMarkedUnverified(readClaim(userinfo, EMAIL_VERIFIED_CLAIM))) {
    return { value: null, notUsed: `the IdP marks the email unverified (${EMAIL_VERIFIED_CLAIM}: false)` };
  }
  const problem = emailProblem(raw);
  if (problem !== undefined) {
    problems.push(`the IdP's "${path}" claim ${problem}`);
    // mutation-equivalent: a problem was pushed just before: the identity is refused whatever this returns
    return { value: null, notUsed: null };
  }
  return { value: raw.toLowerCase(), notUsed: null };
}

function isMarkedUnverified(value: unknown): boolean {
  return value === false || (typeof value === 'string' && value.trim().toLowerCase() === 'false');
}

/** Characters RFC 5322 does not allow unquoted in a local part (quoted local parts are not accepted). */
const LOCAL_PART = /^[^\s()<>[\]:;@\\,"]+$/u;
/** One domain label: letters and digits, hyphens inside (IDNA labels in their Unicode or xn-- form). */
const DOMAIN_LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{N}\p{M}-]{0,61}[\p{L}\p{N}\p{M}])?$/u;

function emailProblem(email: string): string | undefined {
  const textProblem = describeTextProblem(email, IDENTITY_LIMITS.email);
  if (textProblem !== undefined) return textProblem;
  if (email.normalize('NFKC') !== email) {
    return 'is not in Unicode normal form NFKC (it holds look-alike characters such as the Kelvin sign)';
  }
  const parts = email.split('@');
  if (parts.length !== 2) return `must hold exactly one "@", it holds ${parts.length - 1}`;
  const [local = '', domain = ''] = parts;
  if (local === '' || characterCount(local) > IDENTITY_LIMITS.emailLocalPart) {
    return `must have 1 to ${IDENTITY_LIMITS.emailLocalPart} characters before its "@"`;
  }
  // mutation-equivalent: CLISSO-IDENTITY-09 lets a gateway refuse an identity it cannot use safely with a 4xx,
  // or log it in; a stray dot in an email's local part names no one else either way
  if (!LOCAL_PART.test(local) || local.startsWith('.') || local.endsWith('.') || local.includes('..')) {
    return 'must have a plain local part (no spaces, quotes, brackets or stray dots) before its "@"';
  }
  if (!domain.split('.').every((label) => DOMAIN_LABEL.test(label))) {
    return 'must end in a domain name of letters, digits, hyphens and dots';
  }
  return undefined;
}

/** Team ids from a list claim (strings or numbers) or a comma-separated string; duplicates dropped. */
export function readTeams(value: unknown): string[] {
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
  const teams = items
    .map((item) => (typeof item === 'string' ? item.trim() : typeof item === 'number' ? String(item) : ''))
    .filter((item) => item !== '');
  return [...new Set(teams)];
}

/** ALLOWED_EMAIL_DOMAINS: empty allows all; otherwise the email's domain must be listed. */
export function isEmailDomainAllowed(email: string | null, allowedDomains: readonly string[]): boolean {
  if (allowedDomains.length === 0) return true;
  if (email === null) return false;
  const at = email.lastIndexOf('@');
  // mutation-equivalent: beyond the contract: an email with nothing before its `@` has the listed domain, and
  // LiteLLM (which takes the part after the `@`) lets it in; refusing it is our choice, not a rule a conformant
  // gateway must follow
  return at > 0 && allowedDomains.includes(email.slice(at + 1).toLowerCase());
}

/**
 * GENERIC_USER_EXTRA_ATTRIBUTES: each path's value captured under the path as written
 * (`org_info.department` is both the path and the key), ready for the claim map (section 5).
 */
export function captureExtraAttributes(userinfo: unknown, paths: readonly string[]): Record<string, unknown> {
  // No prototype: a path named `__proto__` must be captured as data, not change the object.
  const captured: Record<string, unknown> = Object.create(null);
  for (const path of paths) {
    const value = readClaim(userinfo, path);
    if (value !== undefined) captured[path] = value;
  }
  return captured;
}
