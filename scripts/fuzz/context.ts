/**
 * What an endpoint's fuzz input needs while it runs: the servers, the HTTP client, fresh client
 * addresses, a small cookie-keeping browser for the steps that set up a valid request (a login
 * half-way through, an authorization code, an interaction), and pools that let one such set-up
 * serve several inputs.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestSpec } from './model.ts';
import { toWire } from './model.ts';
import type { Systems } from './systems.ts';
import type { WireAnswer, WireClient } from './wire.ts';

/** A set-up step got a 5xx or no answer: that is a finding in itself. */
export class FixtureFailure extends Error {
  constructor(
    readonly step: string,
    readonly answer: WireAnswer,
  ) {
    super(
      `set-up step ${step} answered ${answer.status || answer.error}: ${answer.body.toString('utf8').slice(0, 300)}`,
    );
    this.name = 'FixtureFailure';
  }
}

/** A set-up step did not go as a valid request should (e.g. an earlier input used the state up). */
export class FixtureUnavailable extends Error {
  constructor(
    readonly step: string,
    detail: string,
  ) {
    super(`set-up step ${step}: ${detail}`);
    this.name = 'FixtureUnavailable';
  }
}

/** Cookies of one browser, per host, path ignored (each journey gets its own jar). */
export class Jar {
  private readonly cookies = new Map<string, Map<string, string>>();

  absorb(host: string, headers: IncomingHttpHeaders): void {
    const set = headers['set-cookie'];
    for (const line of Array.isArray(set) ? set : set ? [set] : []) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let forHost = this.cookies.get(host);
      if (!forHost) {
        forHost = new Map();
        this.cookies.set(host, forHost);
      }
      if (/;\s*expires=Thu, 01 Jan 1970/i.test(line) || value === '') forHost.delete(name);
      else forHost.set(name, value);
    }
  }

  header(host: string): string | undefined {
    const forHost = this.cookies.get(host);
    if (!forHost || forHost.size === 0) return undefined;
    return [...forHost].map(([n, v]) => `${n}=${v}`).join('; ');
  }

  get(host: string, name: string): string | undefined {
    return this.cookies.get(host)?.get(name);
  }
}

interface PoolEntry<T> {
  value: T;
  uses: number;
  dead: boolean;
}

/** Set-ups reused by several inputs, up to `max` uses or until an input used them up. */
export class FixturePool {
  private readonly entries = new Map<string, PoolEntry<unknown>>();
  made = 0;
  reused = 0;

  async get<T>(key: string, max: number, make: () => Promise<T>): Promise<{ value: T; retire: () => void }> {
    let entry = this.entries.get(key) as PoolEntry<T> | undefined;
    if (!entry || entry.dead || entry.uses >= max) {
      entry = { value: await make(), uses: 0, dead: false };
      this.entries.set(key, entry as PoolEntry<unknown>);
      this.made += 1;
    } else this.reused += 1;
    entry.uses += 1;
    const used = entry;
    return { value: entry.value, retire: () => (used.dead = true) };
  }

  clear(): void {
    this.entries.clear();
  }
}

export interface Sent {
  spec: RequestSpec;
  answer: WireAnswer;
}

export class FuzzContext {
  readonly pool = new FixturePool();
  private nextAddress = 1;
  /** Every request of the current input (set-up steps and the fuzzed one), for echo checks. */
  sent: RequestSpec[] = [];
  requests = 0;

  constructor(
    readonly systems: Systems,
    readonly client: WireClient,
  ) {}

  /** A client address never used before in this run: 127.1.0.1, 127.1.0.2, ... */
  fresh = (): string => {
    const n = this.nextAddress++;
    return `127.${1 + ((n >> 16) & 0x7f)}.${(n >> 8) & 0xff}.${n & 0xff}`;
  };

  async send(base: URL, spec: RequestSpec): Promise<WireAnswer> {
    this.sent.push(spec);
    this.requests += 1;
    return this.client.send(base, toWire(spec, base.host, this.fresh));
  }

  /** A set-up request: a 5xx or no answer fails the input; `expect` says which statuses are normal. */
  async step(label: string, base: URL, spec: RequestSpec, expect: (status: number) => boolean): Promise<WireAnswer> {
    const answer = await this.send(base, spec);
    if (answer.status === 0 || answer.status >= 500) throw new FixtureFailure(label, answer);
    if (!expect(answer.status)) {
      throw new FixtureUnavailable(label, `answered ${answer.status}: ${answer.body.toString('utf8').slice(0, 200)}`);
    }
    return answer;
  }
}

export function get(
  path: string,
  query: Array<[string, string]> = [],
  headers: Array<[string, string]> = [],
): RequestSpec {
  return { method: 'GET', path, query, headers, body: { kind: 'none' } };
}

/** A path-and-query (as in a Location header) as a spec: the query decoded into pairs. */
export function specOfTarget(method: string, target: string, headers: Array<[string, string]> = []): RequestSpec {
  const url = new URL(target, 'http://placeholder');
  return { method, path: url.pathname, query: [...url.searchParams], headers, body: { kind: 'none' } };
}

export function jsonOf(answer: WireAnswer): unknown {
  try {
    return JSON.parse(answer.body.toString('utf8'));
  } catch {
    return undefined;
  }
}

export function locationOf(answer: WireAnswer): string | undefined {
  const location = answer.headers.location;
  return typeof location === 'string' ? location : undefined;
}
