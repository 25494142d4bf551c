/**
 * Claims as data. A claim may have any name — `constructor`, `__proto__`, `toString` included —
 * because the mock exists to feed hostile input to a gateway's claim mapping. Such names are unsafe
 * with plain JavaScript objects: `object['__proto__'] = value` replaces the prototype instead of
 * adding a claim, and an own `constructor` makes libraries that test `value.constructor === Object`
 * (oidc-provider does) refuse the whole object. So claims are kept in Maps, and whenever they must be
 * an object they are built with `Object.fromEntries`, which always makes an own data property
 * whatever the name (as JSON.parse does), never by assignment.
 */

/** A claim's value: any JSON value (nested objects and lists included). */
export type ClaimValue = string | number | boolean | null | ClaimValue[] | { [name: string]: ClaimValue };
/** A user's claims by name, `sub` included; any name is allowed, `__proto__` and `constructor` too. */
export type Claims = Record<string, ClaimValue>;

/**
 * Names oidc-provider cannot release: its claim filter skips them (lib/helpers/_/merge.js), an own
 * `constructor` in a claim set makes it refuse the set (lib/helpers/_/is_plain_object.js), and
 * declaring `__proto__` in its scope configuration empties the whole scope. The mock releases these
 * itself, next to what oidc-provider answers (provider-middleware.ts).
 */
export const NAMES_OUTSIDE_PROVIDER: ReadonlySet<string> = new Set(['__proto__', 'constructor']);

/** A deep copy of a JSON value that keeps every own key as an own key (structuredClone does too, slower). */
export function copyJson<T extends ClaimValue>(value: T): T;
export function copyJson(value: ClaimValue): ClaimValue {
  if (Array.isArray(value)) return value.map(copyJson);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.keys(value).map((name) => [name, copyJson(ownValue(value, name) ?? null)]));
}

/** The value of an own property, never one inherited from Object.prototype. */
export function ownValue(claims: Readonly<Record<string, ClaimValue>>, name: string): ClaimValue | undefined {
  return Object.hasOwn(claims, name) ? Object.getOwnPropertyDescriptor(claims, name)?.value : undefined;
}

/** Claims object -> Map (values copied). */
export function claimsToMap(claims: Readonly<Claims>): Map<string, ClaimValue> {
  const map = new Map<string, ClaimValue>();
  for (const name of Object.keys(claims)) map.set(name, copyJson(ownValue(claims, name) ?? null));
  return map;
}

/** Map (or entries) -> claims object with an own property per claim (values copied). */
export function claimsFromEntries(entries: Iterable<readonly [string, ClaimValue]>): Claims {
  return Object.fromEntries([...entries].map(([name, value]) => [name, copyJson(value)]));
}

/**
 * Deepest nesting of lists and objects accepted in claims and control API bodies. Checking and
 * copying walk the value recursively, so a deeper one would overflow the stack.
 */
export const MAX_JSON_DEPTH = 256;

/** Whether `value` nests lists and objects deeper than `max` levels (walked without recursion). */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const pending: Array<[unknown, number]> = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item !== 'object' || item === null) continue;
    if (depth + 1 > max) return true;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return false;
}
