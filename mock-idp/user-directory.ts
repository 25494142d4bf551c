/**
 * The live set of users. The control API and the programmatic API change it at run time; the
 * provider reads it on every request. Listeners hear about every change (the mock rebuilds its
 * provider when a new claim name appears, because oidc-provider fixes claim names at construction).
 */
import { type Claims, type MockUser, subjectOf } from './users.ts';

export class UserDirectory {
  private users = new Map<string, MockUser>();
  private readonly listeners: Array<() => void> = [];

  constructor(private readonly initial: readonly MockUser[]) {
    this.load(initial);
  }

  list(): MockUser[] {
    return [...this.users.values()].map(copyUser);
  }

  usernames(): string[] {
    return [...this.users.keys()];
  }

  get(username: string): MockUser | undefined {
    const user = this.users.get(username);
    return user ? copyUser(user) : undefined;
  }

  /** The user whose OpenID subject is `sub` (the provider's account id). */
  bySubject(sub: string): MockUser | undefined {
    for (const user of this.users.values()) if (subjectOf(user) === sub) return copyUser(user);
    return undefined;
  }

  replaceAll(users: readonly MockUser[]): void {
    this.load(users);
    this.changed();
  }

  /** Add a user or replace the one with the same username. */
  put(user: MockUser): void {
    this.users.set(user.username, copyUser(user));
    this.changed();
  }

  /** Replace a user's claims; false when there is no such user. */
  setClaims(username: string, claims: Claims): boolean {
    const user = this.users.get(username);
    if (!user) return false;
    this.users.set(username, { ...user, claims: structuredClone(claims) });
    this.changed();
    return true;
  }

  /** Merge claims into a user's claims (top level; a null value removes the claim). */
  mergeClaims(username: string, claims: Claims): boolean {
    const user = this.users.get(username);
    if (!user) return false;
    const merged: Claims = { ...user.claims };
    for (const [name, value] of Object.entries(claims)) {
      if (value === null) delete merged[name];
      else merged[name] = structuredClone(value);
    }
    this.users.set(username, { ...user, claims: merged });
    this.changed();
    return true;
  }

  remove(username: string): boolean {
    const removed = this.users.delete(username);
    if (removed) this.changed();
    return removed;
  }

  /** Back to the users the mock started with. */
  reset(): void {
    this.load(this.initial);
    this.changed();
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private load(users: readonly MockUser[]): void {
    this.users = new Map(users.map((u) => [u.username, copyUser(u)]));
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

function copyUser(user: MockUser): MockUser {
  return structuredClone(user);
}
