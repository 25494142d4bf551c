/**
 * Everything about a mock IdP that changes while it runs, in one place: users, the claim names its
 * provider releases, faults, the journal, token lifetimes, the clock offset, auto-login, signing
 * keys, and the sessions, codes and tokens oidc-provider stores. `reset()` puts every one of them
 * back as it was at the start. The app (app.ts) serves from this state and listens for the changes
 * that need a new oidc-provider instance (claim names and keys are fixed when one is made).
 */
import type { Clock } from '../common/clock.ts';
import { FaultBook } from './faults.ts';
import { Journal } from './journal.ts';
import { MemoryStore } from './memory-store.ts';
import type { TokenLifetimes } from './provider.ts';
import { type PrivateSigningKey, SigningKeys } from './signing-keys.ts';
import { UserDirectory } from './user-directory.ts';
import type { MockUser } from './users.ts';

export interface StartState {
  users: readonly MockUser[];
  autoLogin: string | undefined;
  lifetimes: TokenLifetimes;
  /** Timestamps of journal entries. */
  clock: Clock;
  /** The first signing keys, made ahead of time (key-cache.ts); made at start when absent. */
  keys?: PrivateSigningKey[] | undefined;
}

/** Why the provider must be made again. */
export type ProviderChange = 'new claim names' | 'key rotation' | 'reset';

export class MockIdpState {
  readonly users: UserDirectory;
  readonly faults = new FaultBook();
  readonly journal: Journal;
  /** oidc-provider's sessions, grants, codes and tokens: they outlive any one provider instance. */
  readonly store = new MemoryStore();
  private autoLoginUser: string | undefined;
  private currentLifetimes: TokenLifetimes;
  private offsetSeconds = 0;
  private readonly startClaimNames: ReadonlySet<string>;
  /** Every claim name some user has had since the start: oidc-provider releases only these. */
  private releasedClaimNames: Set<string>;
  private readonly providerListeners: Array<(change: ProviderChange) => void> = [];

  private constructor(
    private readonly start: StartState,
    readonly keys: SigningKeys,
  ) {
    this.users = new UserDirectory(start.users);
    if (start.autoLogin !== undefined && !this.users.get(start.autoLogin)) {
      throw new Error(`autoLogin names no known user: ${start.autoLogin}`);
    }
    this.journal = new Journal(start.clock);
    this.autoLoginUser = start.autoLogin;
    this.currentLifetimes = { ...start.lifetimes };
    this.startClaimNames = this.users.claimNames();
    this.releasedClaimNames = new Set(this.startClaimNames);
    this.users.onChange(() => this.noteClaimNames());
  }

  static async create(start: StartState): Promise<MockIdpState> {
    return new MockIdpState(start, await SigningKeys.create(start.keys));
  }

  autoLogin(): string | undefined {
    return this.autoLoginUser;
  }

  setAutoLogin(username: string | undefined): void {
    if (username !== undefined && !this.users.get(username)) throw new Error(`no user named ${username}`);
    this.autoLoginUser = username;
  }

  lifetimes(): TokenLifetimes {
    return { ...this.currentLifetimes };
  }

  setLifetimes(changes: Partial<TokenLifetimes>): TokenLifetimes {
    this.currentLifetimes = { ...this.currentLifetimes, ...changes };
    return this.lifetimes();
  }

  clockOffsetSeconds(): number {
    return this.offsetSeconds;
  }

  setClockOffsetSeconds(seconds: number): void {
    this.offsetSeconds = seconds;
  }

  claimNames(): ReadonlySet<string> {
    return this.releasedClaimNames;
  }

  async rotateKeys(): Promise<string[]> {
    await this.keys.rotate();
    this.providerChanged('key rotation');
    return this.keys.kids();
  }

  /** Called with the reason whenever the provider must be made again. */
  onProviderChange(listener: (change: ProviderChange) => void): void {
    this.providerListeners.push(listener);
  }

  reset(): void {
    this.users.reset();
    this.faults.reset();
    this.journal.reset();
    this.store.clear();
    this.autoLoginUser = this.start.autoLogin;
    this.currentLifetimes = { ...this.start.lifetimes };
    this.offsetSeconds = 0;
    const keysChanged = this.keys.reset();
    const namesChanged = !sameNames(this.releasedClaimNames, this.startClaimNames);
    this.releasedClaimNames = new Set(this.startClaimNames);
    if (keysChanged || namesChanged) this.providerChanged('reset');
  }

  /** Names only grow while the mock runs: a provider is made again only for a name never seen. */
  private noteClaimNames(): void {
    const added = [...this.users.claimNames()].filter((name) => !this.releasedClaimNames.has(name));
    if (added.length === 0) return;
    for (const name of added) this.releasedClaimNames.add(name);
    this.providerChanged('new claim names');
  }

  private providerChanged(change: ProviderChange): void {
    for (const listener of this.providerListeners) listener(change);
  }
}

function sameNames(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((name) => b.has(name));
}
