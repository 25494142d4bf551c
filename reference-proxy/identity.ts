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
  /** Lower-cased; null when the IdP sends none. */
  email: string | null;
  displayName: string | null;
  firstName: string | null;
  lastName: string | null;
  /** Only a known role; null means "keep the stored role, or the default for a new user". */
  role: UserRole | null;
  teams: string[];
}

export type IdentityResult = { ok: true; identity: IdpIdentity } | { ok: false; reason: string };

export function buildIdentity(userinfo: unknown, attributes: IdentityAttributes): IdentityResult {
  const email = readText(userinfo, attributes.email)?.toLowerCase() ?? null;
  const firstName = readText(userinfo, attributes.firstName) ?? null;
  const lastName = readText(userinfo, attributes.lastName) ?? null;
  // user_id = the id attribute; if empty, first + last name; if still empty, the email (section 4).
  const fullName = [firstName, lastName].filter((n) => n !== null).join(' ');
  const userId = readText(userinfo, attributes.userId) ?? (fullName !== '' ? fullName : null) ?? email;
  if (userId === null) {
    // mutation-equivalent: the reason only words the 4xx answer's message, which the contract leaves free
    return { ok: false, reason: `the IdP sent no ${attributes.userId}, name or email to identify the user` };
  }
  const role = readClaim(userinfo, attributes.role);
  return {
    ok: true,
    identity: {
      userId,
      email,
      displayName: readText(userinfo, attributes.displayName) ?? null,
      firstName,
      lastName,
      role: isKnownRole(role) ? role : null,
      teams: readTeams(readClaim(userinfo, attributes.teams)),
    },
  };
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
