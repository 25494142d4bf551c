/**
 * startMockIdp(): the whole mock IdP in one process, in three parts: its state (state.ts: users,
 * claims, faults, clock, journal, keys, sessions and tokens, with a reset back to the start), its
 * app (app.ts: express in front, oidc-provider behind, built from the state) and its listener
 * (listener.ts: a port, any free one with 0). The MockIdp it returns is the public face of the
 * state, the listener's address and the configuration.
 */
import { type Clock, systemClock } from '../common/clock.ts';
import { type Logger, silentLogger } from '../common/logger.ts';
import { createMockIdpApp } from './app.ts';
import { defaultClient, type MockClient } from './clients.ts';
import { MIN_CONTROL_TOKEN_LENGTH } from './control-api.ts';
import type { FaultBook } from './faults.ts';
import type { Journal } from './journal.ts';
import { Listener } from './listener.ts';
import { DEFAULT_TOKEN_LIFETIMES, ENDPOINT_PATHS, type TokenLifetimes } from './provider.ts';
import { MockIdpState } from './state.ts';
import type { UserDirectory } from './user-directory.ts';
import { builtInCast, type DefaultUserOverrides, type MockUser } from './users.ts';

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
   * When set (at least 16 characters), every `/_mock` call must carry `Authorization: Bearer <token>`,
   * and callers that are not on loopback are allowed too. Unset: only loopback callers may use the
   * control API.
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
  /**
   * Back to the start: users and the claim names released, faults (ids from `fault-1`), journal
   * (numbered from 1), lifetimes, clock offset, auto-login, signing keys, sessions and tokens.
   */
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

export async function startMockIdp(options: MockIdpOptions = {}): Promise<MockIdp> {
  const startedAt = performance.now();
  const logger = options.logger ?? silentLogger;
  if (options.controlToken !== undefined && options.controlToken.length < MIN_CONTROL_TOKEN_LENGTH) {
    throw new Error(`controlToken must be at least ${MIN_CONTROL_TOKEN_LENGTH} characters`);
  }
  const state = await MockIdpState.create({
    users: options.users ?? builtInCast(options.defaultUser),
    autoLogin: options.autoLogin,
    lifetimes: { ...DEFAULT_TOKEN_LIFETIMES, ...options.lifetimes },
    clock: options.clock ?? systemClock,
  });
  const listener = await Listener.open(options.host ?? DEFAULT_HOST, options.port ?? DEFAULT_PORT);
  const issuer = options.issuer ?? listener.url;
  const clients = options.clients ?? [defaultClient()];
  const idp = publicFace(state, listener, issuer, clients);
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

function publicFace(state: MockIdpState, listener: Listener, issuer: string, clients: readonly MockClient[]): MockIdp {
  return {
    issuer,
    url: listener.url,
    port: listener.port,
    users: state.users,
    faults: state.faults,
    journal: state.journal,
    clients,
    endpoints: endpointUrls(issuer),
    startupMs: 0,
    autoLogin: () => state.autoLogin(),
    setAutoLogin: (username) => state.setAutoLogin(username),
    lifetimes: () => state.lifetimes(),
    setLifetimes: (changes) => state.setLifetimes(changes),
    clockOffsetSeconds: () => state.clockOffsetSeconds(),
    setClockOffsetSeconds: (seconds) => state.setClockOffsetSeconds(seconds),
    rotateKeys: () => state.rotateKeys(),
    keyIds: () => state.keys.kids(),
    reset: () => state.reset(),
    close: () => listener.close(),
  };
}
