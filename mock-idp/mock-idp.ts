/**
 * startMockIdp(): the whole mock IdP in one process — express in front (health, login pages, control
 * API, journal), oidc-provider behind it for every OpenID endpoint. The server listens first, so the
 * issuer can default to `http://{host}:{bound port}` even on port 0.
 */
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import type { Provider } from 'oidc-provider';
import { type Clock, systemClock } from '../common/clock.ts';
import { listen } from '../common/http-server.ts';
import { type Logger, silentLogger } from '../common/logger.ts';
import { defaultClient, type MockClient } from './clients.ts';
import { controlApiRouter, MIN_CONTROL_TOKEN_LENGTH } from './control-api.ts';
import { FaultBook } from './faults.ts';
import { interactionRouter } from './interactions.ts';
import { Journal } from './journal.ts';
import { MemoryStore } from './memory-store.ts';
import { buildProvider, DEFAULT_TOKEN_LIFETIMES, ENDPOINT_PATHS, type TokenLifetimes } from './provider.ts';
import { installProviderMiddleware, type RequestNotes } from './provider-middleware.ts';
import { SigningKeys } from './signing-keys.ts';
import { UserDirectory } from './user-directory.ts';
import { builtInCast, claimNamesOf, claimsOutsideProvider, type DefaultUserOverrides, type MockUser } from './users.ts';

export const DEFAULT_HOST = '127.0.0.1';
/** LiteLLM's mock IdP port (docs/contract.md section 9). Pass 0 in tests. */
export const DEFAULT_PORT = 8765;

export interface MockIdpOptions {
  host?: string;
  /** 0 picks a free port. Default 8765. */
  port?: number;
  /** Default `http://{host}:{bound port}`. */
  issuer?: string;
  /** Default: the built-in cast (with `defaultUser` overrides applied to LiteLLM's default user). */
  users?: readonly MockUser[];
  defaultUser?: DefaultUserOverrides;
  /** Default: LiteLLM's `litellm-cli-test` client. */
  clients?: readonly MockClient[];
  /** Sign every authorization in as this user, without a page. */
  autoLogin?: string;
  /** Also put the user's scope claims into id_tokens. */
  idTokenUserClaims?: boolean;
  lifetimes?: Partial<TokenLifetimes>;
  /**
   * When set, every `/_mock` call must carry `Authorization: Bearer <token>`, and then callers that
   * are not on loopback are allowed too. Unset: only loopback callers may use the control API.
   */
  controlToken?: string;
  logger?: Logger;
  /** Timestamps of journal entries. */
  clock?: Clock;
}

export interface MockIdp {
  issuer: string;
  /** Where the server listens, `http://host:port`. */
  url: string;
  port: number;
  /** The live users: change them at run time (claims changed here are served at the next request). */
  users: UserDirectory;
  /** Inject failures per endpoint (faults.ts). */
  faults: FaultBook;
  /** Requests and provider events, secrets redacted (journal.ts). */
  journal: Journal;
  clients: readonly MockClient[];
  /** Discovery's endpoint URLs, for printing `GENERIC_*` lines and for tests. */
  endpoints: EndpointUrls;
  /** Milliseconds from the call to startMockIdp until it was ready (for start-up benchmarks). */
  startupMs: number;
  /** The user every authorization signs in as, if any. */
  autoLogin(): string | undefined;
  setAutoLogin(username: string | undefined): void;
  lifetimes(): TokenLifetimes;
  /** Override token lifetimes; applies to tokens issued from now on. */
  setLifetimes(changes: Partial<TokenLifetimes>): TokenLifetimes;
  /** Seconds the IdP's clock is ahead (+) or behind (-) in the tokens it issues. */
  clockOffsetSeconds(): number;
  setClockOffsetSeconds(seconds: number): void;
  /** New RS256 and ES256 keys sign from now on; the previous ones stay published. Returns every kid. */
  rotateKeys(): Promise<string[]>;
  /** Key ids published at the JWKS endpoint, current first. */
  keyIds(): string[];
  /** Back to the start: users, faults, journal, lifetimes, clock offset, auto-login, sessions and tokens. */
  reset(): void;
  close(): Promise<void>;
}

export interface EndpointUrls {
  discovery: string;
  authorization: string;
  token: string;
  userinfo: string;
  jwks: string;
  deviceAuthorization: string;
  introspection: string;
  revocation: string;
  endSession: string;
  health: string;
  control: string;
}

export function endpointUrls(issuer: string): EndpointUrls {
  const at = (path: string) => `${issuer.replace(/\/+$/, '')}${path}`;
  return {
    discovery: at('/.well-known/openid-configuration'),
    authorization: at(ENDPOINT_PATHS.authorization),
    token: at(ENDPOINT_PATHS.token),
    userinfo: at(ENDPOINT_PATHS.userinfo),
    jwks: at(ENDPOINT_PATHS.jwks),
    deviceAuthorization: at(ENDPOINT_PATHS.device_authorization),
    introspection: at(ENDPOINT_PATHS.introspection),
    revocation: at(ENDPOINT_PATHS.revocation),
    endSession: at(ENDPOINT_PATHS.end_session),
    health: at('/health'),
    control: at('/_mock'),
  };
}

/** oidc-provider events worth a journal line (ctx-based events and token model events). */
const JOURNALED_EVENTS = [
  'authorization.accepted',
  'authorization.success',
  'authorization.error',
  'interaction.started',
  'interaction.ended',
  'grant.success',
  'grant.error',
  'grant.revoked',
  'userinfo.error',
  'introspection.error',
  'revocation.error',
  'end_session.success',
  'end_session.error',
  'device_authorization.success',
  'device_authorization.error',
  'code_verification.error',
  'discovery.error',
  'jwks.error',
  'server_error',
  'authorization_code.consumed',
  'refresh_token.consumed',
  'access_token.saved',
  'refresh_token.saved',
] as const;

export async function startMockIdp(options: MockIdpOptions = {}): Promise<MockIdp> {
  const startedAt = performance.now();
  const logger = options.logger ?? silentLogger;
  const clock = options.clock ?? systemClock;
  const initialUsers = options.users ?? builtInCast(options.defaultUser);
  const users = new UserDirectory(initialUsers);
  const clients = options.clients ?? [defaultClient()];
  if (options.autoLogin !== undefined && !users.get(options.autoLogin)) {
    throw new Error(`autoLogin names no known user: ${options.autoLogin}`);
  }
  if (options.controlToken !== undefined && options.controlToken.length < MIN_CONTROL_TOKEN_LENGTH) {
    throw new Error(`controlToken must be at least ${MIN_CONTROL_TOKEN_LENGTH} characters`);
  }
  let lifetimes: TokenLifetimes = { ...DEFAULT_TOKEN_LIFETIMES, ...options.lifetimes };
  let autoLogin = options.autoLogin;
  let clockOffsetSeconds = 0;
  const faults = new FaultBook();
  const journal = new Journal(clock);
  const store = new MemoryStore();
  const notes = new WeakMap<IncomingMessage, RequestNotes>();
  const keys = await SigningKeys.create();
  const cookieKeys = [randomBytes(32).toString('base64url')];

  let app: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = await listen(
    (req, res) => {
      if (app) app(req, res);
      else res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":"temporarily_unavailable"}');
    },
    options.host ?? DEFAULT_HOST,
    options.port ?? DEFAULT_PORT,
  );
  const issuer = options.issuer ?? server.url;

  const initialClaimNames = claimNamesOf(users.list());
  let claimNames = new Set(initialClaimNames);
  const makeProvider = (): Provider => {
    const made = buildProvider({
      issuer,
      clients,
      findUserBySubject: (sub) => users.bySubject(sub),
      claimNames,
      keys,
      store,
      cookieKeys,
      lifetimes: () => lifetimes,
      idTokenUserClaims: options.idTokenUserClaims ?? false,
    });
    installProviderMiddleware(made, {
      faults,
      keys,
      clockOffsetSeconds: () => clockOffsetSeconds,
      notes,
      logger,
      claimsOutsideProvider: (sub) => {
        const user = users.bySubject(sub);
        return user ? claimsOutsideProvider(user) : {};
      },
      idTokenUserClaims: options.idTokenUserClaims ?? false,
    });
    // Every listed event, seen through the plain EventEmitter interface (one listener shape for all).
    const events: EventEmitter = made;
    for (const event of JOURNALED_EVENTS) {
      events.on(event, (subject: unknown, error: unknown) =>
        journal.record({ type: 'event', event, ...eventDetails(subject, error) }),
      );
    }
    return made;
  };
  let provider = makeProvider();
  let providerHandler = provider.callback();
  const replaceProvider = (reason: string) => {
    provider = makeProvider();
    providerHandler = provider.callback();
    logger.info('provider.rebuilt', { reason });
  };
  // oidc-provider fixes the released claim names when it is made (provider.ts): a user with a new
  // claim name needs a new provider. Sessions and tokens live in `store`, so they survive.
  users.onChange(() => {
    const next = claimNamesOf(users.list());
    if ([...next].every((name) => claimNames.has(name))) return;
    claimNames = new Set([...claimNames, ...next]);
    replaceProvider('new claim names');
  });

  const idp: MockIdp = {
    issuer,
    url: server.url,
    port: server.port,
    users,
    faults,
    journal,
    clients,
    endpoints: endpointUrls(issuer),
    startupMs: 0,
    autoLogin: () => autoLogin,
    setAutoLogin(username) {
      if (username !== undefined && !users.get(username)) throw new Error(`no user named ${username}`);
      autoLogin = username;
    },
    lifetimes: () => ({ ...lifetimes }),
    setLifetimes(changes) {
      lifetimes = { ...lifetimes, ...changes };
      return { ...lifetimes };
    },
    clockOffsetSeconds: () => clockOffsetSeconds,
    setClockOffsetSeconds(seconds) {
      clockOffsetSeconds = seconds;
    },
    async rotateKeys() {
      await keys.rotate();
      replaceProvider('key rotation');
      return keys.kids();
    },
    keyIds: () => keys.kids(),
    reset() {
      users.reset();
      // Claim names added since the start are gone with the users that had them.
      if (!sameNames(claimNames, initialClaimNames)) {
        claimNames = new Set(initialClaimNames);
        replaceProvider('reset');
      }
      faults.clear();
      journal.clear();
      store.clear();
      lifetimes = { ...DEFAULT_TOKEN_LIFETIMES, ...options.lifetimes };
      clockOffsetSeconds = 0;
      autoLogin = options.autoLogin;
    },
    close: () => server.close(),
  };

  const front = express();
  front.disable('x-powered-by');
  front.use(journalRequests(journal, notes, logger));
  front.get('/health', (_req, res) => {
    res.json({ status: 'ok', issuer });
  });
  front.use(
    '/_mock',
    controlApiRouter(idp, {
      ...(options.controlToken !== undefined ? { controlToken: options.controlToken } : {}),
      logger,
    }),
  );
  front.use(interactionRouter({ provider: () => provider, users, autoLogin: () => autoLogin, logger }));
  // Last: oidc-provider answers every path it is given (machine-notes.md, section 1).
  front.use((req, res) => {
    providerHandler(req, res);
  });
  app = front;

  idp.startupMs = Math.round(performance.now() - startedAt);
  logger.info('mock_idp.started', { issuer, url: server.url, startupMs: idp.startupMs });
  return idp;
}

/**
 * One journal entry (and one log line) per request, written when the answer is done or the socket
 * dropped. Both redact secrets (journal.ts, common/logger.ts).
 */
function journalRequests(
  journal: Journal,
  notes: WeakMap<IncomingMessage, RequestNotes>,
  logger: Logger,
): express.RequestHandler {
  return (req, res, next) => {
    // The control API's own calls would drown what the tests look for.
    if (req.path.startsWith('/_mock')) {
      next();
      return;
    }
    const started = performance.now();
    let written = false;
    const write = () => {
      if (written) return;
      written = true;
      const entry = journal.record({
        type: 'request',
        method: req.method,
        path: req.originalUrl,
        status: res.writableFinished ? res.statusCode : 0,
        durationMs: Math.round(performance.now() - started),
        ...notes.get(req),
      });
      if (entry.type === 'request') {
        logger.info('request', {
          method: entry.method,
          path: entry.path,
          status: entry.status,
          duration_ms: entry.durationMs,
          ...(entry.fault ? { fault: entry.fault } : {}),
        });
      }
    };
    res.once('finish', write);
    res.once('close', write);
    next();
  };
}

function sameNames(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((name) => b.has(name));
}

function eventDetails(
  subject: unknown,
  error: unknown,
): { clientId?: string; accountId?: string; error?: string; errorDescription?: string } {
  const out: { clientId?: string; accountId?: string; error?: string; errorDescription?: string } = {};
  const source = typeof subject === 'object' && subject !== null && 'oidc' in subject ? subject.oidc : subject;
  if (typeof source === 'object' && source !== null) {
    const clientId =
      'clientId' in source ? source.clientId : 'client' in source ? clientIdOf(source.client) : undefined;
    if (typeof clientId === 'string') out.clientId = clientId;
    const accountId = 'accountId' in source ? source.accountId : undefined;
    if (typeof accountId === 'string') out.accountId = accountId;
  }
  if (typeof error === 'object' && error !== null) {
    if ('error' in error && typeof error.error === 'string') out.error = error.error;
    else if ('message' in error && typeof error.message === 'string') out.error = error.message;
    if ('error_description' in error && typeof error.error_description === 'string')
      out.errorDescription = error.error_description;
  }
  return out;
}

function clientIdOf(client: unknown): string | undefined {
  return typeof client === 'object' && client !== null && 'clientId' in client && typeof client.clientId === 'string'
    ? client.clientId
    : undefined;
}
