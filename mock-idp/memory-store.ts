/**
 * oidc-provider's storage, one per mock IdP. oidc-provider's built-in MemoryAdapter keeps a single
 * module-wide cache, shared by every provider in the process; the suite runs several mock IdPs in one
 * process and resets them between scenarios, so each gets its own store. The store outlives the
 * provider instance: when the provider is rebuilt (new claim names, key rotation), sessions, codes
 * and tokens survive.
 *
 * Every operation costs the same however long the mock has run: lookups by `uid` (sessions,
 * interactions), `userCode` (device codes) and `grantId` (revocation) go through indexes, not scans;
 * entries leave when their `expiresAt` passes (swept second by second, as time goes by, not by
 * walking the store); and past `maxEntries` the entries used longest ago (read or written) are
 * dropped, so memory is bounded too, and a grant still refreshed is never one of them. Expiry uses the real clock, as oidc-provider itself does (`Date.now()`).
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';

/**
 * How many sessions, grants, codes and tokens a store keeps at most (a login leaves about four that
 * outlive it: session, grant, access and refresh token): thousands of recent logins, tens of MB.
 */
export const MAX_STORED_ENTRIES = 20_000;

interface Entry {
  model: string;
  payload: AdapterPayload;
  expiresAtMs: number | undefined;
}

/** Index keys are per model: `Session:<uid>`, `DeviceCode:<userCode>`, `RefreshToken:<grantId>`. */
type IndexKey = string;

export interface MemoryStoreOptions {
  maxEntries?: number;
  /** Milliseconds since the epoch; tests pass their own. */
  now?: () => number;
}

export class MemoryStore {
  /** Insertion order is the order of the last use: the first entry is the one read or written longest ago. */
  private readonly entries = new Map<string, Entry>();
  private readonly byUid = new Map<IndexKey, string>();
  private readonly byUserCode = new Map<IndexKey, string>();
  private readonly byGrantId = new Map<IndexKey, Set<string>>();
  /** Keys by the second (epoch seconds, rounded up) in which they expire. */
  private readonly expiring = new Map<number, Set<string>>();
  private sweptUpToSecond: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: MemoryStoreOptions = {}) {
    this.maxEntries = options.maxEntries ?? MAX_STORED_ENTRIES;
    this.now = options.now ?? Date.now;
    this.sweptUpToSecond = Math.floor(this.now() / 1000);
  }

  /** The adapter factory handed to oidc-provider (`adapter` option): one namespace per model name. */
  readonly adapterFactory = (model: string): Adapter => new ModelAdapter(this, model);

  /** How many entries are kept now (expired ones included until the sweep reaches them). */
  get size(): number {
    return this.entries.size;
  }

  get(model: string, id: string): AdapterPayload | undefined {
    this.sweep();
    const key = keyOf(model, id);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAtMs !== undefined && entry.expiresAtMs <= this.now()) {
      this.remove(key);
      return undefined;
    }
    // Read: to the end of the use order. A refresh reads its grant and session without writing
    // them; dropped by write order, a login refreshed all day lost its grant to others' logins.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.payload;
  }

  getByUid(model: string, uid: string): AdapterPayload | undefined {
    return this.getIndexed(model, this.byUid.get(keyOf(model, uid)));
  }

  getByUserCode(model: string, userCode: string): AdapterPayload | undefined {
    return this.getIndexed(model, this.byUserCode.get(keyOf(model, userCode)));
  }

  set(model: string, id: string, payload: AdapterPayload, expiresInSeconds: number | undefined): void {
    this.sweep();
    const key = keyOf(model, id);
    // Written again: out of the indexes it may have left, and to the end of the write order.
    this.remove(key);
    const expiresAtMs = expiresInSeconds ? this.now() + expiresInSeconds * 1000 : undefined;
    this.entries.set(key, { model, payload, expiresAtMs });
    if (typeof payload.uid === 'string') this.byUid.set(keyOf(model, payload.uid), key);
    if (typeof payload.userCode === 'string') this.byUserCode.set(keyOf(model, payload.userCode), key);
    if (typeof payload.grantId === 'string') addTo(this.byGrantId, keyOf(model, payload.grantId), key);
    if (expiresAtMs !== undefined) addTo(this.expiring, Math.ceil(expiresAtMs / 1000), key);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.remove(oldest);
    }
  }

  delete(model: string, id: string): void {
    this.remove(keyOf(model, id));
  }

  /** Every entry of `model` issued under `grantId`. */
  deleteByGrantId(model: string, grantId: string): void {
    for (const key of [...(this.byGrantId.get(keyOf(model, grantId)) ?? [])]) this.remove(key);
  }

  clear(): void {
    this.entries.clear();
    this.byUid.clear();
    this.byUserCode.clear();
    this.byGrantId.clear();
    this.expiring.clear();
    this.sweptUpToSecond = Math.floor(this.now() / 1000);
  }

  private getIndexed(model: string, key: string | undefined): AdapterPayload | undefined {
    const id = key?.slice(model.length + 1);
    return id === undefined ? undefined : this.get(model, id);
  }

  /**
   * Drop what expired in the seconds since the last sweep. Each second is visited once, and an
   * entry once, so the cost is spread over the operations; after a long idle time the (fewer)
   * seconds that have entries are visited instead of every second that passed.
   */
  private sweep(): void {
    const nowSecond = Math.floor(this.now() / 1000);
    if (nowSecond <= this.sweptUpToSecond) return;
    const from = this.sweptUpToSecond + 1;
    this.sweptUpToSecond = nowSecond;
    if (nowSecond - from + 1 > this.expiring.size) {
      for (const second of [...this.expiring.keys()]) if (second <= nowSecond) this.expireSecond(second);
      return;
    }
    for (let second = from; second <= nowSecond; second++) this.expireSecond(second);
  }

  private expireSecond(second: number): void {
    const keys = this.expiring.get(second);
    if (!keys) return;
    this.expiring.delete(second);
    for (const key of keys) this.remove(key);
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    const { model, payload, expiresAtMs } = entry;
    if (typeof payload.uid === 'string') deleteIfAt(this.byUid, keyOf(model, payload.uid), key);
    if (typeof payload.userCode === 'string') deleteIfAt(this.byUserCode, keyOf(model, payload.userCode), key);
    if (typeof payload.grantId === 'string') removeFrom(this.byGrantId, keyOf(model, payload.grantId), key);
    if (expiresAtMs !== undefined) removeFrom(this.expiring, Math.ceil(expiresAtMs / 1000), key);
  }
}

function keyOf(model: string, id: string): string {
  return `${model}:${id}`;
}

function addTo<K>(index: Map<K, Set<string>>, at: K, key: string): void {
  const keys = index.get(at);
  if (keys) keys.add(key);
  else index.set(at, new Set([key]));
}

function removeFrom<K>(index: Map<K, Set<string>>, at: K, key: string): void {
  const keys = index.get(at);
  if (!keys) return;
  keys.delete(key);
  if (keys.size === 0) index.delete(at);
}

/** An index entry is removed only when it still points at this key (a later entry may own it). */
function deleteIfAt(index: Map<IndexKey, string>, at: IndexKey, key: string): void {
  if (index.get(at) === key) index.delete(at);
}

class ModelAdapter implements Adapter {
  constructor(
    private readonly store: MemoryStore,
    private readonly model: string,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    this.store.set(this.model, id, payload, expiresIn);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.store.get(this.model, id);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.store.getByUserCode(this.model, userCode);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.store.getByUid(this.model, uid);
  }

  async consume(id: string): Promise<void> {
    const payload = this.store.get(this.model, id);
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id: string): Promise<void> {
    this.store.delete(this.model, id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    this.store.deleteByGrantId(this.model, grantId);
  }
}
