/**
 * startReferenceProxy: build the stores the configuration asks for (memory or Redis for flows,
 * SQLite or PostgreSQL for users), the key issuer and the routes, then listen.
 */
import { type Clock, systemClock } from '../common/clock.ts';
import { listen } from '../common/http-server.ts';
import { createLogger, type Logger, type LogSink } from '../common/logger.ts';
import { Admission, gateStarts, measureConnectionWaits } from './admission.ts';
import { MasterKey } from './api-auth.ts';
import { createProxyListener } from './app.ts';
import { SessionRevocations } from './cli-sessions.ts';
import type { ProxyConfig } from './config.ts';
import { type FlowStore, MemoryFlowStore } from './flow-store.ts';
import { KeyIssuer } from './key-issuer.ts';
import type { ProxyContext } from './proxy-context.ts';
import { SQLITE_STORE_NAME, SqliteUserStore } from './sqlite-user-store.ts';
import { MemoryStartRateLimit, type StartRateLimit } from './start-rate-limit.ts';
import { UiSessions } from './ui-session.ts';
import type { UserStore } from './user-store.ts';

/** Where and how {@link startReferenceProxy} runs the gateway, over what the configuration says. */
export interface StartOptions {
  /**
   * The address to listen on.
   * @defaultValue the configuration's `host` (`HOST`, else `127.0.0.1`)
   */
  host?: string;
  /**
   * The port to listen on; `0` picks a free one (read it from {@link RunningProxy.port}).
   * @defaultValue the configuration's `port` (`PORT`, else 4000)
   */
  port?: number;
  /**
   * The gateway's time: flow lifetimes, key expiry, UI sessions. A {@link ManualClock} lets a test
   * expire a key without waiting.
   * @defaultValue the system clock
   */
  clock?: Clock;
  /**
   * Where the JSON log lines go (one per request and per login step, secrets redacted), e.g.
   * `process.stderr`, or `{ write: (line) => lines.push(line) }` to assert on them.
   * @defaultValue dropped
   */
  logSink?: LogSink;
}

/** A reference gateway running in this process. */
export interface RunningProxy {
  /** `http://host:port` with the port actually bound. */
  url: string;
  /** The port actually bound (the free one picked for port `0`). */
  port: number;
  /** Stop listening, close open connections and the stores (SQLite, Redis, PostgreSQL). */
  close(): Promise<void>;
}

interface Stores {
  flows: FlowStore;
  startLimit: StartRateLimit;
  users: UserStore;
  flowStoreName: string;
  userStoreName: string;
  close(): Promise<void>;
}

/**
 * Start the reference gateway in this process: the whole CLI SSO contract (start, browser entry,
 * IdP callback, code confirmation, poll, `/models`, `/user/info`), ready when the promise resolves.
 * Its configuration comes from LiteLLM's variables through {@link loadProxyConfig}. Users are
 * stored in the SQLite file `reference-proxy-users.sqlite` in the working directory unless the
 * configuration says otherwise: give tests `REFERENCE_PROXY_SQLITE_PATH: ':memory:'`.
 * @param config - the checked configuration
 * @param options - where to listen (`port: 0` for a free port), the clock, the log
 * @returns the running gateway; stop it with {@link RunningProxy.close}
 * @throws Error when the port is taken or a store cannot be opened
 * @example
 * ```ts
 * const config = loadProxyConfig({
 *   ...idp.gatewayEnv(),
 *   LITELLM_MASTER_KEY: `sk-${randomBytes(32).toString('hex')}`,
 *   EXPERIMENTAL_UI_LOGIN: 'true',
 *   REFERENCE_PROXY_SQLITE_PATH: ':memory:',
 * });
 * const gateway = await startReferenceProxy(config, { port: 0 });
 * ```
 */
export async function startReferenceProxy(config: ProxyConfig, options: StartOptions = {}): Promise<RunningProxy> {
  const clock = options.clock ?? systemClock;
  const logger = createLogger({
    sink: options.logSink ?? { write: () => true },
    component: 'reference-proxy',
    level: config.logLevel,
    clock,
  });
  for (const warning of config.claimMapWarnings) logger.warn('claim_map_entry_ignored', { detail: warning });

  const stores = await openStores(config, clock, logger);
  const ctx: ProxyContext = {
    config,
    masterKey: new MasterKey(config.masterKey),
    clock,
    logger,
    flows: stores.flows,
    users: stores.users,
    sessions: new SessionRevocations(stores.users),
    startLimit: stores.startLimit,
    keys: new KeyIssuer(config.signingSecret, config.cliKeyLifetimeSeconds, clock, config.keyLeewaySeconds),
    uiSessions: new UiSessions(config.signingSecret, config.uiSessionSeconds, clock),
    admission: new Admission(config.admission, stores.flows, (event, fields) => logger.warn(event, fields)),
  };
  const listener = gateStarts(ctx.admission, createProxyListener(ctx));
  const [host, port] = [options.host ?? config.host, options.port ?? config.port];
  let server: Awaited<ReturnType<typeof listen>>;
  // mutation-equivalent: the clean-up of a gateway that cannot take its port, a start the contract
  // does not judge
  try {
    server = await listen(listener, host, port);
  } catch (error) {
    ctx.admission.close();
    await stores.close();
    throw error;
  }
  measureConnectionWaits(server.server);
  logger.info('listening', {
    url: server.url,
    flow_store: stores.flowStoreName,
    user_store: stores.userStoreName,
    models: config.modelsFile.models.length,
    experimental_ui_login: config.experimentalUiLogin,
  });
  return {
    url: server.url,
    port: server.port,
    close: async () => {
      await server.close();
      ctx.admission.close();
      await stores.close();
    },
  };
}

/**
 * Memory or Redis for flows and the start limit; SQLite or PostgreSQL for users. The Redis and
 * PostgreSQL clients are loaded only when configured: most gateways start without them, faster.
 */
async function openStores(config: ProxyConfig, clock: Clock, logger: Logger): Promise<Stores> {
  let flows: FlowStore;
  let startLimit: StartRateLimit;
  let flowStoreName: string;
  let closeFlows: () => Promise<void>;
  if (config.redisUrl !== undefined) {
    const { RedisFlowStore, REDIS_STORE_NAME } = await import('./redis-flow-store.ts');
    const redis = await RedisFlowStore.open(config.redisUrl, clock, logger);
    flows = redis;
    startLimit = redis;
    flowStoreName = REDIS_STORE_NAME;
    closeFlows = () => redis.close();
  } else {
    const memory = new MemoryFlowStore(clock);
    flows = memory;
    startLimit = new MemoryStartRateLimit(clock);
    flowStoreName = 'login session store (memory)';
    closeFlows = () => memory.close();
  }
  let opened: { users: UserStore; userStoreName: string };
  // mutation-equivalent: the clean-up of a gateway whose user store cannot be opened at start, a
  // start the contract does not judge
  try {
    opened = await openUserStore(config, logger);
  } catch (error) {
    await closeFlows();
    throw error;
  }
  const { users, userStoreName } = opened;
  return {
    flows,
    startLimit,
    users,
    flowStoreName,
    userStoreName,
    close: async () => {
      await Promise.allSettled([closeFlows(), users.close()]);
    },
  };
}

/** SQLite, or PostgreSQL when DATABASE_URL is set. */
async function openUserStore(
  config: ProxyConfig,
  logger: Logger,
): Promise<{ users: UserStore; userStoreName: string }> {
  if (config.databaseUrl === undefined) {
    return { users: new SqliteUserStore(config.sqlitePath), userStoreName: SQLITE_STORE_NAME };
  }
  const { PostgresUserStore, POSTGRES_STORE_NAME } = await import('./postgres-user-store.ts');
  return { users: await PostgresUserStore.open(config.databaseUrl, logger), userStoreName: POSTGRES_STORE_NAME };
}
