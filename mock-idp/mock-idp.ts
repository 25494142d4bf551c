/**
 * startMockIdp(): the whole mock IdP in one process, in three parts: its state (state.ts: users,
 * claims, faults, clock, journal, keys, sessions and tokens, with a reset back to the start), its
 * app (app.ts: express in front, oidc-provider behind, built from the state) and its listener
 * (listener.ts: a port, any free one with 0). The MockIdp it returns is the public face of the
 * state, the listener's address and the configuration.
 */
import { type Clock, systemClock } from '../common/clock.ts';
import { type createLogger, type Logger, silentLogger } from '../common/logger.ts';
import { createMockIdpApp } from './app.ts';
import { defaultClient, type MockClient } from './clients.ts';
import { MIN_CONTROL_TOKEN_LENGTH } from './control-api.ts';
import type { FaultBook, FaultInput } from './faults.ts';
import type { Journal } from './journal.ts';
import { KeyCache } from './key-cache.ts';
import { Listener } from './listener.ts';
import { DEFAULT_TOKEN_LIFETIMES, ENDPOINT_PATHS, type TokenLifetimes } from './provider.ts';
import type { SignInOptions } from './sign-in.ts';
import { MockIdpState } from './state.ts';
import type { UserDirectory } from './user-directory.ts';
import { builtInCast, type DefaultUserOverrides, type MockUser } from './users.ts';

/** The address the mock listens on unless told otherwise: loopback only. */
export const DEFAULT_HOST = '127.0.0.1';
/**
 * LiteLLM's mock IdP port (docs/contract.md section 9), the default of the `mock-idp` command.
 * {@link startMockIdp} picks a free port unless it is given one.
 */
export const DEFAULT_PORT = 8765;

/** How {@link startMockIdp} sets the mock up. Every option has a default: `startMockIdp()` works. */
export interface MockIdpOptions {
  /**
   * The address to listen on.
   * @defaultValue `'127.0.0.1'`
   */
  host?: string;
  /**
   * The port to listen on; `0` picks a free one (read it from {@link MockIdp.port}), so tests that
   * run side by side never collide. The `mock-idp` command uses {@link DEFAULT_PORT}.
   * @defaultValue `0`
   */
  port?: number;
  /**
   * The issuer URL, in discovery and in every token. Its endpoints are served at the root of the
   * listener, so give an issuer without a path.
   * @defaultValue `http://{host}:{bound port}`
   */
  issuer?: string;
  /**
   * The users who can sign in. Change them later through {@link MockIdp.users}.
   * @defaultValue the built-in cast ({@link builtInCast}): `cli-test-user`, `alice`, `bob`, `mallory`, `carol`
   */
  users?: readonly MockUser[];
  /** Changes to LiteLLM's default user (`cli-test-user`) of the built-in cast; ignored when `users` is given. */
  defaultUser?: DefaultUserOverrides;
  /**
   * The relying parties allowed to use the mock.
   * @defaultValue LiteLLM's `litellm-cli-test` client ({@link defaultClient}), whose loopback
   * redirect URIs accept any port
   */
  clients?: readonly MockClient[];
  /** Sign every authorization in as this user, without a login page. Must name a user. */
  autoLogin?: string;
  /**
   * Also put the user's claims (those of the requested scopes) into id_tokens, not only at userinfo.
   * @defaultValue `false`
   */
  idTokenUserClaims?: boolean;
  /** Token lifetimes in seconds; the ones not given keep {@link DEFAULT_TOKEN_LIFETIMES}. */
  lifetimes?: Partial<TokenLifetimes>;
  /**
   * When set (at least 16 characters), every `/_mock` control API call must carry
   * `Authorization: Bearer <token>`, and callers that are not on loopback are allowed too. Unset:
   * only loopback callers may use the control API. The programmatic API needs no token.
   */
  controlToken?: string;
  /**
   * Where the mock's JSON log lines go (secrets redacted); see {@link createLogger}.
   * @defaultValue a logger that drops everything
   */
  logger?: Logger;
  /**
   * The time stamped on journal entries (tokens are moved with {@link MockIdp.setClockOffsetSeconds}).
   * @defaultValue the system clock
   */
  clock?: Clock;
  /**
   * A private folder (absolute path) where the next start's signing keys are made ahead of time:
   * the start takes the ones a previous run left there (each generation is used by one start only,
   * so keys are still new on every start) and makes the next ones once no request has come for a
   * second, or as it closes. The folder and its file must be this user's alone (0700 and 0600);
   * otherwise the keys are made at start, as without it. The `mock-idp` command uses one in the
   * user's cache folder (`MOCK_IDP_KEY_CACHE`).
   * @defaultValue none: the keys are made at start
   */
  keyCache?: string;
}

/**
 * A running mock IdP, as {@link startMockIdp} returns it: where it is, and every knob a test turns
 * while it runs. Changes apply to the next request; {@link MockIdp.reset} undoes them all.
 */
export interface MockIdp {
  /** The issuer URL, as in discovery and the `iss` of its tokens. */
  issuer: string;
  /** Where the server listens, `http://host:port`. */
  url: string;
  /** The port actually bound (the free one picked for port `0`). */
  port: number;
  /**
   * The live users: add, change and remove users and their claims at run time; a change is served
   * from the next request on (userinfo, id_tokens), new claim names included.
   * @example
   * ```ts
   * idp.users.put({ username: 'dana', claims: { sub: 'dana', email: 'dana@example.com', groups: ['ops'] } });
   * idp.users.mergeClaims('alice', { department: 'Sales', groups: null }); // null removes a claim
   * ```
   */
  users: UserDirectory;
  /**
   * Failures to plant per endpoint: an HTTP status, an OAuth error, a delay, a dropped connection,
   * a malformed body, or an id_token with the wrong issuer, audience, signing key or expiry. See
   * {@link FaultInput}.
   * @example
   * ```ts
   * idp.faults.inject({ endpoint: 'token', kind: 'oauth_error', error: 'invalid_grant', times: 2 });
   * ```
   */
  faults: FaultBook;
  /**
   * What reached the mock: every request (endpoint, status, OAuth parameters, secrets redacted) and
   * every provider event, numbered.
   * @example
   * ```ts
   * const mark = idp.journal.lastSeq();
   * // ... the code under test talks to the IdP ...
   * const tokenCalls = idp.journal.requests({ endpoint: 'token', since: mark });
   * ```
   */
  journal: Journal;
  /** The registered relying parties. */
  clients: readonly MockClient[];
  /** The URL of every endpoint: discovery, authorization, token, userinfo, JWKS, ... */
  endpoints: EndpointUrls;
  /** Milliseconds from the call to {@link startMockIdp} until it was ready (for start-up benchmarks). */
  startupMs: number;
  /** The user every authorization signs in as without a page, if any. */
  autoLogin(): string | undefined;
  /**
   * Sign every authorization in as this user from now on, without a page; `undefined` shows the
   * login page again.
   * @param username - a known user, or `undefined`
   * @throws Error when no user has that username
   */
  setAutoLogin(username: string | undefined): void;
  /** The token lifetimes in force, in seconds. */
  lifetimes(): TokenLifetimes;
  /**
   * Change token lifetimes for the tokens issued from now on.
   * @param changes - the lifetimes to change, in seconds
   * @returns every lifetime now in force
   */
  setLifetimes(changes: Partial<TokenLifetimes>): TokenLifetimes;
  /** Seconds the IdP's clock is ahead (+) or behind (-) in the tokens it issues. */
  clockOffsetSeconds(): number;
  /**
   * Move the IdP's clock: the `iat`, `exp` and `auth_time` of the id_tokens it issues from now on,
   * and the times of introspection answers, are shifted by this many seconds, as if its clock were
   * off by that much. `-7200` with the default one-hour id_token makes an id_token that expired an
   * hour ago; `+300` one issued five minutes in the future. The IdP's own checks (code and token
   * expiry) keep the real time.
   * @param seconds - the offset from the real time; `0` puts the clock right
   */
  setClockOffsetSeconds(seconds: number): void;
  /**
   * New RS256 and ES256 keys sign from now on; the previous ones stay published at the JWKS
   * endpoint, as in a real key rollover.
   * @returns every key id now published, current first
   */
  rotateKeys(): Promise<string[]>;
  /** Key ids published at the JWKS endpoint, current first. */
  keyIds(): string[];
  /**
   * The user's part of an authorization, without a browser: open `authorizationUrl` (the one the
   * relying party under test built), sign in on the login page as `options.username` (or let
   * auto-login or a `login_hint` do it), and return the URL the IdP then sends the browser to,
   * without visiting it: the relying party's redirect URI with `code` and `state`, or with `error`
   * (a denied or failed authorization, an `oauth_error` fault).
   * @param authorizationUrl - the authorization request, as the relying party redirects a browser to it
   * @param options - who signs in, and how
   * @returns the redirect back to the relying party
   * @throws {@link SignInError} when the IdP answers with a page instead (an unknown client or
   * redirect URI, an unknown user, a wrong password, a `status` fault), naming the status and the IdP's words
   * @example
   * ```ts
   * const back = await idp.signIn(relyingParty.authorizationUrl(), { username: 'alice' });
   * await relyingParty.handleCallback(back); // back.searchParams has code and state
   * ```
   */
  signIn(authorizationUrl: string | URL, options?: SignInOptions): Promise<URL>;
  /**
   * The variables that point a LiteLLM-style gateway (LiteLLM itself, or the reference gateway
   * through `loadProxyConfig`) at this IdP: `GENERIC_CLIENT_ID`, `GENERIC_CLIENT_SECRET` (when the
   * client has one), `GENERIC_AUTHORIZATION_ENDPOINT`, `GENERIC_TOKEN_ENDPOINT` and
   * `GENERIC_USERINFO_ENDPOINT`. The same lines the `mock-idp` command prints at start.
   * @param clientId - the registered client to use
   * @defaultValue clientId: the first registered client
   * @throws Error when no client has that id
   */
  gatewayEnv(clientId?: string): Record<string, string>;
  /**
   * Back to the start, as a fresh instance with the same options: users and the claim names
   * released, faults (ids from `fault-1`), journal (numbered from 1), lifetimes, clock offset,
   * auto-login, signing keys, sessions and tokens. Call it between tests that share one mock.
   */
  reset(): void;
  /** Stop listening and close open connections. */
  close(): Promise<void>;
}

/** The absolute URL of each of the mock's endpoints. */
export interface EndpointUrls {
  /** `/.well-known/openid-configuration` */
  discovery: string;
  /** `/authorize` (LiteLLM's mock path) */
  authorization: string;
  /** `/token` */
  token: string;
  /** `/userinfo` (LiteLLM's mock path) */
  userinfo: string;
  /** `/jwks`: the public signing keys */
  jwks: string;
  /** `/device/auth`: device authorization grant (RFC 8628) */
  deviceAuthorization: string;
  /** `/token/introspection` (RFC 7662) */
  introspection: string;
  /** `/token/revocation` (RFC 7009) */
  revocation: string;
  /** `/session/end`: RP-initiated logout */
  endSession: string;
  /** `/health`: `200 {"status":"ok"}` */
  health: string;
  /** `/_mock`: the HTTP control API (users, faults, journal, clock, reset) */
  control: string;
}

/**
 * The endpoint URLs of a mock IdP with this issuer, without starting one (e.g. to configure a
 * gateway before the IdP starts on a known port).
 * @param issuer - the issuer URL, with or without a trailing slash
 */
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

/**
 * Start a mock OpenID Connect provider in this process (oidc-provider behind express), listening on
 * a free loopback port unless told otherwise, and ready when the promise resolves. Stop it with
 * {@link MockIdp.close}.
 * @param options - everything has a default: LiteLLM's `litellm-cli-test` client and the built-in users
 * @returns the running mock, with its URLs and the knobs tests turn (users, faults, clock, journal)
 * @throws Error when the port is taken, `autoLogin` names no user or `controlToken` is too short
 * @example
 * ```ts
 * import { startMockIdp } from 'cli-sso-harness/mock-idp';
 *
 * const idp = await startMockIdp();
 * console.log(idp.endpoints.discovery); // http://127.0.0.1:40123/.well-known/openid-configuration
 * await idp.close();
 * ```
 */
export async function startMockIdp(options: MockIdpOptions = {}): Promise<MockIdp> {
  const startedAt = performance.now();
  const logger = options.logger ?? silentLogger;
  if (options.controlToken !== undefined && options.controlToken.length < MIN_CONTROL_TOKEN_LENGTH) {
    throw new Error(`controlToken must be at least ${MIN_CONTROL_TOKEN_LENGTH} characters`);
  }
  const keyCache = options.keyCache === undefined ? undefined : new KeyCache(options.keyCache, logger);
  const state = await MockIdpState.create({
    users: options.users ?? builtInCast(options.defaultUser),
    autoLogin: options.autoLogin,
    lifetimes: { ...DEFAULT_TOKEN_LIFETIMES, ...options.lifetimes },
    clock: options.clock ?? systemClock,
    keys: await keyCache?.take(),
  });
  const listener = await Listener.open(options.host ?? DEFAULT_HOST, options.port ?? 0);
  const issuer = options.issuer ?? listener.url;
  const clients = options.clients ?? [defaultClient()];
  const nextKeys = keyCache ? nextKeysWhenIdle(keyCache, listener) : undefined;
  const idp = publicFace(state, listener, issuer, clients, async () => {
    await nextKeys?.now();
    await listener.close();
  });
  listener.serve(
    createMockIdpApp(
      state,
      {
        issuer,
        clients,
        idTokenUserClaims: options.idTokenUserClaims ?? false,
        controlToken: options.controlToken,
        logger,
      },
      idp,
    ),
  );
  idp.startupMs = Math.round(performance.now() - startedAt);
  logger.info('mock_idp.started', { issuer, url: listener.url, startupMs: idp.startupMs });
  return idp;
}

/** The next start's keys are made once no request has come for this long (or at close). */
const IDLE_BEFORE_NEXT_KEYS_MS = 1000;

/**
 * Make the next start's keys (100-500 ms of CPU) when the mock is idle: no request for a second,
 * looked at every second by a timer that does not keep the process alive; or at once when `now()`
 * is called (on close), for a mock that was never idle. Once either way.
 */
function nextKeysWhenIdle(cache: KeyCache, listener: Listener): { now(): Promise<void> } {
  let made: Promise<void> | undefined;
  const make = () => {
    clearInterval(timer);
    made ??= cache.refill();
    return made;
  };
  const timer = setInterval(() => {
    if (listener.idleMs() >= IDLE_BEFORE_NEXT_KEYS_MS) void make();
  }, IDLE_BEFORE_NEXT_KEYS_MS).unref();
  return { now: make };
}

function publicFace(
  state: MockIdpState,
  listener: Listener,
  issuer: string,
  clients: readonly MockClient[],
  close: () => Promise<void>,
): MockIdp {
  const endpoints = endpointUrls(issuer);
  return {
    issuer,
    url: listener.url,
    port: listener.port,
    users: state.users,
    faults: state.faults,
    journal: state.journal,
    clients,
    endpoints,
    startupMs: 0,
    autoLogin: () => state.autoLogin(),
    setAutoLogin: (username) => state.setAutoLogin(username),
    lifetimes: () => state.lifetimes(),
    setLifetimes: (changes) => state.setLifetimes(changes),
    clockOffsetSeconds: () => state.clockOffsetSeconds(),
    setClockOffsetSeconds: (seconds) => state.setClockOffsetSeconds(seconds),
    rotateKeys: () => state.rotateKeys(),
    keyIds: () => state.keys.kids(),
    // Loaded when first used: its cookie jar (tough-cookie) is not needed to start.
    signIn: async (authorizationUrl, options) =>
      (await import('./sign-in.ts')).signInAt(
        [...new Set([new URL(listener.url).origin, new URL(issuer).origin])],
        authorizationUrl,
        options,
      ),
    gatewayEnv: (clientId) => gatewayEnv(clients, endpoints, clientId),
    reset: () => state.reset(),
    close,
  };
}

function gatewayEnv(
  clients: readonly MockClient[],
  endpoints: EndpointUrls,
  clientId: string | undefined,
): Record<string, string> {
  const client = clientId === undefined ? clients[0] : clients.find((c) => c.clientId === clientId);
  if (!client) {
    throw new Error(
      clientId === undefined
        ? 'the mock IdP has no client'
        : `no client ${clientId} (known: ${clients.map((c) => c.clientId).join(', ')})`,
    );
  }
  return {
    GENERIC_CLIENT_ID: client.clientId,
    ...(client.clientSecret !== undefined && client.authMethod !== 'none'
      ? { GENERIC_CLIENT_SECRET: client.clientSecret }
      : {}),
    GENERIC_AUTHORIZATION_ENDPOINT: endpoints.authorization,
    GENERIC_TOKEN_ENDPOINT: endpoints.token,
    GENERIC_USERINFO_ENDPOINT: endpoints.userinfo,
  };
}
