/**
 * startMockIdp(): the whole mock IdP in one process — express in front (health, login pages, control
 * API), oidc-provider behind it for every OpenID endpoint. The server listens first, so the issuer can
 * default to `http://{host}:{bound port}` even on port 0.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import type { Provider } from 'oidc-provider';
import { listen } from '../common/http-server.ts';
import { type Logger, silentLogger } from '../common/logger.ts';
import { defaultClient, type MockClient } from './clients.ts';
import { interactionRouter } from './interactions.ts';
import { MemoryStore } from './memory-store.ts';
import { buildProvider, DEFAULT_TOKEN_LIFETIMES, ENDPOINT_PATHS, type TokenLifetimes } from './provider.ts';
import { SigningKeys } from './signing-keys.ts';
import { UserDirectory } from './user-directory.ts';
import { builtInCast, claimNamesOf, type DefaultUserOverrides, type MockUser } from './users.ts';

export const DEFAULT_HOST = '127.0.0.1';
/** LiteLLM's mock IdP port (protocol.md section 9). Pass 0 in tests. */
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
  logger?: Logger;
}

export interface MockIdp {
  issuer: string;
  /** Where the server listens, `http://host:port`. */
  url: string;
  port: number;
  users: UserDirectory;
  clients: readonly MockClient[];
  /** Discovery's endpoint URLs, for printing `GENERIC_*` lines and for tests. */
  endpoints: EndpointUrls;
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
  };
}

export async function startMockIdp(options: MockIdpOptions = {}): Promise<MockIdp> {
  const logger = options.logger ?? silentLogger;
  const users = new UserDirectory(options.users ?? builtInCast(options.defaultUser));
  const clients = options.clients ?? [defaultClient()];
  const lifetimes: TokenLifetimes = { ...DEFAULT_TOKEN_LIFETIMES, ...options.lifetimes };
  const store = new MemoryStore();
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

  let claimNames = claimNamesOf(users.list());
  const makeProvider = (): Provider =>
    buildProvider({
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
  let provider = makeProvider();
  let providerHandler = provider.callback();
  // oidc-provider fixes the released claim names when it is made (provider.ts): a user with a new
  // claim name needs a new provider. Sessions and tokens live in `store`, so they survive.
  users.onChange(() => {
    const next = claimNamesOf(users.list());
    if ([...next].every((name) => claimNames.has(name))) return;
    claimNames = new Set([...claimNames, ...next]);
    provider = makeProvider();
    providerHandler = provider.callback();
    logger.info('provider.rebuilt', { reason: 'new claim names' });
  });

  const express_ = express();
  express_.disable('x-powered-by');
  express_.get('/health', (_req, res) => {
    res.json({ status: 'ok', issuer });
  });
  express_.use(
    interactionRouter({
      provider: () => provider,
      users,
      autoLogin: () => options.autoLogin,
      logger,
    }),
  );
  // Last: oidc-provider answers every path it is given (machine-notes.md, section 1).
  express_.use((req, res) => {
    providerHandler(req, res);
  });
  app = express_;

  logger.info('mock_idp.started', { issuer, url: server.url });
  return {
    issuer,
    url: server.url,
    port: server.port,
    users,
    clients,
    endpoints: endpointUrls(issuer),
    close: () => server.close(),
  };
}
