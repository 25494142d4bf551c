/**
 * Values one step off a right one, for the scenarios that put a rule on both sides of its edge
 * (docs/mutation.md, "Boundaries"): the right value in another case, with one character more, without
 * its last character, with its last character changed. Each is asserted to differ from the right value,
 * so a scenario never sends the right value while it claims to send a wrong one.
 */
import assert from 'node:assert/strict';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The ways a value is moved one step off; the words the feature files use. */
export const NEAR_MISSES = [
  'in the other case',
  'with one character more',
  'without its last character',
  'with its last character changed',
] as const;
export type NearMiss = (typeof NEAR_MISSES)[number];

export function isNearMiss(how: string): how is NearMiss {
  return (NEAR_MISSES as readonly string[]).includes(how);
}

function swapCase(text: string): string {
  return [...text].map((c) => (c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase())).join('');
}

/**
 * `value` moved one step off. `alphabet` is where added or changed characters come from, so that the
 * result keeps the value's own form (a user code stays in the code's alphabet, a secret in base64url).
 */
export function nearMiss(value: string, how: NearMiss, alphabet: string = BASE64URL): string {
  assert.ok(value.length > 0, 'no value to move off');
  const last = value.at(-1) as string;
  const other = alphabet[(alphabet.indexOf(last) + 1) % alphabet.length] as string;
  const moved = {
    'in the other case': () => swapCase(value),
    'with one character more': () => `${value}${alphabet[0]}`,
    'without its last character': () => value.slice(0, -1),
    'with its last character changed': () => `${value.slice(0, -1)}${other === last ? alphabet[1] : other}`,
  }[how]();
  assert.notEqual(moved, value, `"${how}" left the value as it was (it has no letter to change case)`);
  return moved;
}

/**
 * A login id one step off the session's own (docs/contract.md section 2.1: `cli-` and 12 to 124
 * characters of url-safe base64): the near misses above, the prefix in capitals, or no prefix.
 */
export function loginIdNearMiss(loginId: string, how: string): string {
  const prefix = 'cli-';
  assert.ok(loginId.startsWith(prefix), `the session's login id does not start with ${prefix}`);
  const rest = loginId.slice(prefix.length);
  if (how === 'with its letters in the other case') return `${prefix}${nearMiss(rest, 'in the other case')}`;
  if (how === 'with "CLI-" for its "cli-"') return `CLI-${rest}`;
  if (how === 'without its "cli-"') return rest;
  assert.ok(isNearMiss(how), `no such change to a login id: ${how}`);
  return nearMiss(loginId, how);
}
