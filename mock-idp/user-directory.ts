/**
 * The live set of users. The control API and the programmatic API change it at run time; the
 * provider reads it on every request. Listeners hear about every change (the mock rebuilds its
 * provider when a new claim name appears, because oidc-provider fixes claim names at construction).
 *
 * Claims are stored in Maps and handed out as fresh copies (claims.ts): a claim named
 * `__proto__` or `constructor` is data like any other and cannot reach another user's claims.
 */
import { type Claims, type ClaimValue, claimsFromEntries, claimsToMap, copyJson } from './claims.ts';
import { type MockUser, subjectOf } from './users.ts';

interface StoredUser {
  username: string;
  password?: string;
  claims: Map<string, ClaimValue>;
}

/**
 * The users of a running mock IdP ({@link MockIdp.users}). Every change is served from the next
 * request on: userinfo, id_tokens and the login page, new claim names included. Everything handed
 * out is a copy: change users through these methods.
 * @example
 * ```ts
 * idp.users.put({ username: 'dana', claims: { sub: 'dana', email: 'dana@example.com', groups: ['ops'] } });
 * idp.users.mergeClaims('alice', { org_info: { department: 'Sales' } });
 * idp.users.remove('bob');
 * ```
 */
export class UserDirectory {
  private users = new Map<string, StoredUser>();
  /** OpenID subject -> username: the provider looks users up by subject on every claims request. */
  private bySub = new Map<string, string>();
  private readonly listeners: Array<() => void> = [];
  private readonly initial: readonly StoredUser[];

  /** @internal */
  constructor(initial: readonly MockUser[]) {
    this.initial = initial.map(stored);
    this.load(this.initial);
  }

  /** Every user, in the order they were added. */
  list(): MockUser[] {
    return [...this.users.values()].map(shown);
  }

  /** Every username. */
  usernames(): string[] {
    return [...this.users.keys()];
  }

  /**
   * One user.
   * @returns undefined when there is no such user
   */
  get(username: string): MockUser | undefined {
    const user = this.users.get(username);
    return user ? shown(user) : undefined;
  }

  /** The user whose OpenID subject is `sub` (the provider's account id). */
  bySubject(sub: string): MockUser | undefined {
    const username = this.bySub.get(sub);
    const user = username === undefined ? undefined : this.users.get(username);
    return user ? shown(user) : undefined;
  }

  /**
   * Every claim name some user has now.
   * @internal
   */
  claimNames(): Set<string> {
    const names = new Set<string>();
    for (const user of this.users.values()) for (const name of user.claims.keys()) names.add(name);
    return names;
  }

  /** Replace every user with these. */
  replaceAll(users: readonly MockUser[]): void {
    this.load(users.map(stored));
    this.changed();
  }

  /** Add a user or replace the one with the same username. */
  put(user: MockUser): void {
    this.users.set(user.username, stored(user));
    this.reindex();
    this.changed();
  }

  /**
   * Replace a user's claims.
   * @returns false when there is no such user
   */
  setClaims(username: string, claims: Claims): boolean {
    const user = this.users.get(username);
    if (!user) return false;
    user.claims = claimsToMap(claims);
    this.reindex();
    this.changed();
    return true;
  }

  /**
   * Merge claims into a user's claims, at the top level: a claim given replaces the one of that name
   * (a nested object is replaced whole), a `null` value removes the claim.
   * @returns false when there is no such user
   */
  mergeClaims(username: string, claims: Claims): boolean {
    const user = this.users.get(username);
    if (!user) return false;
    for (const [name, value] of claimsToMap(claims)) {
      if (value === null) user.claims.delete(name);
      else user.claims.set(name, value);
    }
    this.reindex();
    this.changed();
    return true;
  }

  /**
   * Remove a user.
   * @returns false when there was no such user
   */
  remove(username: string): boolean {
    const removed = this.users.delete(username);
    if (removed) {
      this.reindex();
      this.changed();
    }
    return removed;
  }

  /** Back to the users the mock started with (also part of {@link MockIdp.reset}). */
  reset(): void {
    this.load(this.initial);
    this.changed();
  }

  /** @internal */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private load(users: readonly StoredUser[]): void {
    this.users = new Map(users.map((u) => [u.username, copyStored(u)]));
    this.reindex();
  }

  /** The first user with a subject wins, as a linear search in list order would. */
  private reindex(): void {
    this.bySub = new Map();
    for (const user of this.users.values()) {
      const sub = user.claims.get('sub');
      const subject = subjectOf({ username: user.username, claims: sub === undefined ? {} : { sub } });
      if (!this.bySub.has(subject)) this.bySub.set(subject, user.username);
    }
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

function stored(user: MockUser): StoredUser {
  return {
    username: user.username,
    ...(user.password !== undefined ? { password: user.password } : {}),
    claims: claimsToMap(user.claims),
  };
}

function copyStored(user: StoredUser): StoredUser {
  return { ...user, claims: new Map([...user.claims].map(([name, value]) => [name, copyJson(value)])) };
}

function shown(user: StoredUser): MockUser {
  return {
    username: user.username,
    ...(user.password !== undefined ? { password: user.password } : {}),
    claims: claimsFromEntries(user.claims),
  };
}
