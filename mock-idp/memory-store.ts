/**
 * oidc-provider's storage, one per mock IdP. oidc-provider's built-in MemoryAdapter keeps a single
 * module-wide cache, shared by every provider in the process; the suite runs several mock IdPs in one
 * process and resets them between scenarios, so each gets its own store. The store outlives the
 * provider instance: when the provider is rebuilt (new claim names, key rotation), sessions, codes
 * and tokens survive. Expiry uses the real clock, as oidc-provider itself does (`Date.now()`).
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';

interface Entry {
  payload: AdapterPayload;
  expiresAtMs: number | undefined;
}

export class MemoryStore {
  private readonly entries = new Map<string, Entry>();

  /** The adapter factory handed to oidc-provider (`adapter` option): one namespace per model name. */
  readonly adapterFactory = (model: string): Adapter => new ModelAdapter(this, model);

  get(key: string): AdapterPayload | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAtMs !== undefined && entry.expiresAtMs <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.payload;
  }

  set(key: string, payload: AdapterPayload, expiresInSeconds: number | undefined): void {
    const expiresAtMs = expiresInSeconds ? Date.now() + expiresInSeconds * 1000 : undefined;
    this.entries.set(key, { payload, expiresAtMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Every live payload whose key starts with `prefix`. */
  *scan(prefix: string): Iterable<[string, AdapterPayload]> {
    for (const key of [...this.entries.keys()]) {
      if (!key.startsWith(prefix)) continue;
      const payload = this.get(key);
      if (payload) yield [key, payload];
    }
  }

  clear(): void {
    this.entries.clear();
  }
}

class ModelAdapter implements Adapter {
  constructor(
    private readonly store: MemoryStore,
    private readonly model: string,
  ) {}

  private key(id: string): string {
    return `${this.model}:${id}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    this.store.set(this.key(id), payload, expiresIn);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.store.get(this.key(id));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.findWhere((p) => p.userCode === userCode);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.findWhere((p) => p.uid === uid);
  }

  async consume(id: string): Promise<void> {
    const payload = this.store.get(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    this.store.delete(this.key(id));
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    for (const [key, payload] of this.store.scan(`${this.model}:`)) {
      if (payload.grantId === grantId) this.store.delete(key);
    }
  }

  private findWhere(test: (payload: AdapterPayload) => boolean): AdapterPayload | undefined {
    for (const [, payload] of this.store.scan(`${this.model}:`)) if (test(payload)) return payload;
    return undefined;
  }
}
