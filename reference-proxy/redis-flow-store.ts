/**
 * Flows in Redis (REDIS_URL), shared by every replica (docs/contract.md section 9: without a shared
 * store, replicas fail logins at random).
 *
 * - Each flow is one JSON string under `cli-sso:flow:{login_id}` whose Redis TTL ends when the
 *   flow does (flowExpiresAtMs in flow-store.ts: a write does not extend it, except the IdP
 *   callback's); the flow's `expiresAtMs` is also checked against our clock, so a clock moved by
 *   libfaketime expires flows as it should.
 * - Writes are compare-and-set Lua scripts on the exact JSON read, so two replicas cannot both
 *   act on one version (e.g. two polls both getting the key).
 * - Every write and delete is published on `cli-sso:flow-changed`; each replica feeds those
 *   messages to its local watchers, so a long poll on replica A wakes when the browser finishes on B.
 * - The start limit is a sliding window in a sorted set per client IP.
 *
 * Commands fail at once while Redis is down (no offline queue): the routes answer 503 instead of
 * hanging, and nothing falls back to memory, so no flow is silently split between stores.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { z } from 'zod';
import type { Clock } from '../common/clock.ts';
import type { Logger } from '../common/logger.ts';
import {
  type Flow,
  type FlowDecision,
  type FlowStore,
  type FlowWatch,
  FlowWatchers,
  flowExpiresAtMs,
} from './flow-store.ts';
import {
  retryAfterSeconds,
  START_LIMIT,
  START_WINDOW_MS,
  type StartDecision,
  type StartRateLimit,
} from './start-rate-limit.ts';
import { isNetworkFailure, StoreUnavailableError, storeOperation } from './store-errors.ts';

export const REDIS_STORE_NAME = 'login session store (Redis)';
const FLOW_KEY_PREFIX = 'cli-sso:flow:';
const START_KEY_PREFIX = 'cli-sso:start-rate:';
const MARK_KEY_PREFIX = 'cli-sso:once:';
export const FLOW_CHANGED_CHANNEL = 'cli-sso:flow-changed';
/** Lost compare-and-set races are retried this often before giving up with a 503. */
const MAX_UPDATE_ATTEMPTS = 20;

// KEYS[1] flow key; ARGV[1] expected JSON ('' = must be absent), ARGV[2] new JSON ('' = delete),
// ARGV[3] TTL ms, ARGV[4] channel, ARGV[5] login id. Returns 1 when applied, 0 when the flow changed.
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if (current == false and ARGV[1] ~= '') or (current ~= false and current ~= ARGV[1]) then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`;

// KEYS[1] window key; ARGV[1] now ms, ARGV[2] window ms, ARGV[3] limit, ARGV[4] unique member.
// Returns {1} when the start is counted, {0, oldest start ms} when the window is full.
const SLIDING_WINDOW = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2])}
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1}`;

const flowSchema = z.object({
  loginId: z.string(),
  status: z.enum(['pending', 'sso_complete', 'user_code_verified']),
  pollSecretHash: z.string(),
  userCodeHash: z.string(),
  browserTokenHash: z.string().nullable(),
  pkceVerifier: z.string().nullable(),
  failedCodeAttempts: z.number().int(),
  session: z
    .object({
      userId: z.string(),
      userEmail: z.string().nullable(),
      userRole: z.string(),
      teams: z.array(z.string()),
      attributionMetadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    })
    .nullable(),
  keyClaim: z
    .object({
      jti: z.string(),
      issuedAt: z.number(),
      teamId: z.string().nullable(),
      leaseUntilMs: z.number(),
      sessionToken: z.string().optional(),
    })
    .optional(),
  createdAtMs: z.number(),
  expiresAtMs: z.number(),
  version: z.number().int(),
});

interface StoredFlow {
  raw: string;
  flow: Flow;
}

export class RedisFlowStore implements FlowStore, StartRateLimit {
  private readonly watchers = new FlowWatchers();

  private constructor(
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly clock: Clock,
  ) {}

  /** Connects without failing: an unreachable Redis makes requests answer 503 until it is back. */
  static async open(url: string, clock: Clock, logger: Logger): Promise<RedisFlowStore> {
    const options = {
      lazyConnect: true,
      connectTimeout: 2000,
      maxRetriesPerRequest: 0,
      // mutation-equivalent: how fast a lost connection is tried again; while it is lost every answer is a 503
      retryStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
    };
    const redis = new Redis(url, { ...options, enableOfflineQueue: false });
    // The subscriber (re)subscribes on every 'ready' below: a SUBSCRIBE queued while Redis is down
    // would be dropped with the failed connection, and then nothing would ever wake a long poll.
    // mutation-equivalent: with ioredis resubscribing as well, the 'ready' handler below subscribes a second
    // time, which Redis takes as one subscription
    const subscriber = new Redis(url, { ...options, enableOfflineQueue: false, autoResubscribe: false });
    const store = new RedisFlowStore(redis, subscriber, clock);
    let lastError = '';
    for (const connection of [redis, subscriber]) {
      connection.on('error', (error: Error) => {
        // One line per distinct failure, not one per reconnect attempt.
        if (error.message === lastError) return;
        lastError = error.message;
        logger.warn('redis_error', { error: error.message });
      });
      // mutation-equivalent: it only decides whether a repeated Redis error is logged again
      connection.on('ready', () => {
        lastError = '';
      });
    }
    subscriber.on('message', (_channel: string, loginId: string) => store.watchers.notify(loginId));
    subscriber.on('ready', () => {
      subscriber.subscribe(FLOW_CHANGED_CHANNEL).catch((error: Error) => {
        logger.warn('redis_subscribe_failed', { error: error.message });
      });
    });
    await Promise.all([redis.connect().catch(() => undefined), subscriber.connect().catch(() => undefined)]);
    return store;
  }

  async create(flow: Omit<Flow, 'expiresAtMs' | 'version'>): Promise<Flow> {
    const stored: Flow = { ...flow, version: 1, expiresAtMs: flowExpiresAtMs(undefined, flow, this.clock.nowMs()) };
    const applied = await this.compareAndSet(flow.loginId, '', JSON.stringify(stored), stored.expiresAtMs);
    // 24 random bytes do not collide; if they ever did, refusing (a 500) is better than overwriting.
    // mutation-equivalent: no login id is ever made twice, so no client can reach this refusal
    if (!applied) throw new Error(`login id collision in the ${REDIS_STORE_NAME}`);
    return stored;
  }

  async get(loginId: string): Promise<Flow | undefined> {
    return (await this.read(loginId))?.flow;
  }

  async update<T>(loginId: string, decide: (flow: Flow | undefined) => FlowDecision<T>): Promise<T> {
    for (let attempt = 0; attempt < MAX_UPDATE_ATTEMPTS; attempt++) {
      const current = await this.read(loginId);
      const decision = decide(current ? structuredClone(current.flow) : undefined);
      if ('keep' in decision) return decision.result;
      let next = '';
      let expiresAtMs = 0;
      if ('write' in decision) {
        expiresAtMs = flowExpiresAtMs(current?.flow, decision.write, this.clock.nowMs());
        const flow: Flow = { ...decision.write, loginId, version: (current?.flow.version ?? 0) + 1, expiresAtMs };
        next = JSON.stringify(flow);
      }
      if (await this.compareAndSet(loginId, current?.raw ?? '', next, expiresAtMs)) return decision.result;
    }
    // Writers that keep beating this one: the store is too busy for now, so the client may retry (503).
    throw new StoreUnavailableError(REDIS_STORE_NAME, { cause: new Error('too many concurrent writes to one flow') });
  }

  watch(loginId: string): FlowWatch {
    return this.watchers.watch(loginId);
  }

  async markOnce(name: string, ttlMs: number): Promise<boolean> {
    // SET NX is atomic: of two replicas recording the same name, exactly one gets OK.
    const result = await this.command(() =>
      this.redis.set(`${MARK_KEY_PREFIX}${name}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'),
    );
    return result === 'OK';
  }

  async isMarked(name: string): Promise<boolean> {
    return (await this.command(() => this.redis.exists(`${MARK_KEY_PREFIX}${name}`))) === 1;
  }

  async tryStart(clientIp: string): Promise<StartDecision> {
    const now = this.clock.nowMs();
    const member = `${now}-${randomUUID()}`;
    const result = await this.command(() =>
      this.redis.eval(SLIDING_WINDOW, 1, `${START_KEY_PREFIX}${clientIp}`, now, START_WINDOW_MS, START_LIMIT, member),
    );
    const [counted, oldest] = Array.isArray(result) ? result : [];
    if (counted === 1) return { allowed: true };
    // mutation-equivalent: counted from now, Retry-After is 60 s, which CLISSO-START-09's 1 to 60 s allows
    const oldestStartMs = typeof oldest === 'number' ? oldest : now;
    return { allowed: false, retryAfterSeconds: retryAfterSeconds(oldestStartMs, now) };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    this.subscriber.disconnect();
  }

  private async read(loginId: string): Promise<StoredFlow | undefined> {
    const raw = await this.command(() => this.redis.get(`${FLOW_KEY_PREFIX}${loginId}`));
    if (raw === null) return undefined;
    const parsed = flowSchema.safeParse(safeJson(raw));
    // A value we cannot read is treated as no flow (400), never as a crash.
    if (!parsed.success || parsed.data.loginId !== loginId) return undefined;
    if (parsed.data.expiresAtMs <= this.clock.nowMs()) return undefined;
    return { raw, flow: parsed.data };
  }

  /** `expiresAtMs` is when the written flow ends (ignored for a delete); Redis drops it then. */
  private async compareAndSet(loginId: string, expected: string, next: string, expiresAtMs: number): Promise<boolean> {
    // At least 1 ms: a flow read live a moment ago may end before this write lands (PX must be > 0).
    const ttlMs = Math.max(1, expiresAtMs - this.clock.nowMs());
    const result = await this.command(() =>
      this.redis.eval(
        COMPARE_AND_SET,
        1,
        `${FLOW_KEY_PREFIX}${loginId}`,
        expected,
        next,
        ttlMs,
        FLOW_CHANGED_CHANNEL,
        loginId,
      ),
    );
    return result === 1;
  }

  /** Only Redis failing becomes a 503 (isRedisOutage); an error of ours passes through as a bug. */
  private command<T>(run: () => Promise<T>): Promise<T> {
    return storeOperation(REDIS_STORE_NAME, isRedisOutage, run);
  }
}

/**
 * Connection messages of ioredis (5.x) for a command that could not be sent or whose connection
 * closed before its reply: with `enableOfflineQueue: false` and `maxRetriesPerRequest: 0` these are
 * what a Redis that is down or restarting gives.
 */
const IOREDIS_CONNECTION_MESSAGES = [
  "Stream isn't writeable and enableOfflineQueue options is false",
  'Connection is closed.',
  'Command timed out',
  'connect ETIMEDOUT',
  'Socket timeout',
  'Ready check failed',
];
/** Error names of ioredis for the same: its queue flushed after a lost connection. */
const IOREDIS_CONNECTION_ERROR_NAMES = new Set(['MaxRetriesPerRequestError', 'AbortError', 'InterruptError']);
/**
 * Redis replies that mean "not now" (loading its data, read-only replica, out of memory, busy
 * script, failing over, credentials refused), by their error prefix. Any other reply error (a
 * script or command we got wrong) is our bug.
 */
const REDIS_UNAVAILABLE_REPLIES =
  /^(LOADING|BUSY|READONLY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|OOM|NOAUTH|WRONGPASS|NOREPLICAS|MISCONF)\b/;

/** Whether an error from an ioredis call means that Redis cannot be used right now. */
export function isRedisOutage(error: unknown): boolean {
  if (isNetworkFailure(error)) return true;
  if (!(error instanceof Error)) return false;
  if (IOREDIS_CONNECTION_ERROR_NAMES.has(error.name)) return true;
  if (IOREDIS_CONNECTION_MESSAGES.some((message) => error.message.startsWith(message))) return true;
  return error.name === 'ReplyError' && REDIS_UNAVAILABLE_REPLIES.test(error.message);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
