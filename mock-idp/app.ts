/**
 * The mock IdP's HTTP app, built from its state (state.ts): express in front (health, login pages,
 * control API, journal), oidc-provider behind it for every OpenID endpoint. oidc-provider fixes
 * claim names and keys when it is made, so the app makes a new one whenever the state says they
 * changed; sessions and tokens live in the state's store and survive.
 */
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express from 'express';
import type { Provider } from 'oidc-provider';
import type { Logger } from '../common/logger.ts';
import type { MockClient } from './clients.ts';
import { controlApiRouter } from './control-api.ts';
import { interactionRouter, userWithoutPage } from './interactions.ts';
import type { Journal } from './journal.ts';
import type { MockIdp } from './mock-idp.ts';
import { buildProvider } from './provider.ts';
import { installProviderMiddleware, type RequestNotes } from './provider-middleware.ts';
import type { MockIdpState } from './state.ts';
import { claimsOutsideProvider } from './users.ts';

export interface AppSettings {
  issuer: string;
  clients: readonly MockClient[];
  idTokenUserClaims: boolean;
  controlToken: string | undefined;
  logger: Logger;
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

/**
 * The request handler for the listener. `control` is what the control API drives (the public
 * MockIdp over the same state).
 */
export function createMockIdpApp(state: MockIdpState, settings: AppSettings, control: MockIdp): RequestListener {
  const { logger } = settings;
  const notes = new WeakMap<IncomingMessage, RequestNotes>();
  // Cookie keys outlive provider instances, so a rebuild does not log anyone out mid-flow.
  const cookieKeys = [randomBytes(32).toString('base64url')];

  const makeProvider = (): Provider => {
    const made = buildProvider({
      issuer: settings.issuer,
      clients: settings.clients,
      findUserBySubject: (sub) => state.users.bySubject(sub),
      claimNames: state.claimNames(),
      keys: state.keys,
      store: state.store,
      cookieKeys,
      lifetimes: () => state.lifetimes(),
      idTokenUserClaims: settings.idTokenUserClaims,
      userSignedInWithoutPage: (loginHint) => {
        const wanted = userWithoutPage({ users: state.users, autoLogin: () => state.autoLogin() }, loginHint);
        if (wanted?.user) logger.info('interaction.login', { username: wanted.user.username, via: wanted.via });
        return wanted?.user;
      },
    });
    installProviderMiddleware(made, {
      faults: state.faults,
      keys: state.keys,
      clockOffsetSeconds: () => state.clockOffsetSeconds(),
      notes,
      logger,
      claimsOutsideProvider: (sub) => {
        const user = state.users.bySubject(sub);
        return user ? claimsOutsideProvider(user) : {};
      },
      idTokenUserClaims: settings.idTokenUserClaims,
      secretInBodyClients: new Set(
        settings.clients.filter((c) => c.authMethod === 'client_secret_post').map((c) => c.clientId),
      ),
    });
    // Every listed event, seen through the plain EventEmitter interface (one listener shape for all).
    const events: EventEmitter = made;
    for (const event of JOURNALED_EVENTS) {
      events.on(event, (subject: unknown, error: unknown) =>
        state.journal.record({ type: 'event', event, ...eventDetails(subject, error) }),
      );
    }
    return made;
  };
  let provider = makeProvider();
  let providerHandler = provider.callback();
  state.onProviderChange((reason) => {
    provider = makeProvider();
    providerHandler = provider.callback();
    logger.info('provider.rebuilt', { reason });
  });

  // Health, the control API and the login pages are express routes; every other path goes to
  // oidc-provider without passing through express 5, whose routing alone measured about a quarter
  // of a millisecond of CPU per request here (as much as node:http's own work). EXPRESS_ROUTES
  // matches at least every path express would give to one of its routes (express matches paths
  // case-insensitively); what it sends to express and no route takes still reaches the provider.
  const front = express();
  front.disable('x-powered-by');
  front.get('/health', (_req, res) => {
    res.json({ status: 'ok', issuer: settings.issuer });
  });
  front.use(
    '/_mock',
    controlApiRouter(control, {
      ...(settings.controlToken !== undefined ? { controlToken: settings.controlToken } : {}),
      logger,
    }),
  );
  front.use(
    interactionRouter({ provider: () => provider, users: state.users, autoLogin: () => state.autoLogin(), logger }),
  );
  // oidc-provider answers every path it is given (machine-notes.md, section 1).
  front.use((req, res) => {
    providerHandler(req, res);
  });
  const journal = journalRequests(state.journal, notes, logger);
  const validHost = lastValidHost();
  return (req, res) => {
    const path = pathOf(req.url ?? '/');
    // The control API's own calls would drown what the tests look for.
    if (!path.startsWith('/_mock')) journal(req, res);
    if (!validHost(req.headers.host)) {
      refuseInvalidHost(res, req.headers.host ?? '');
      return;
    }
    if (EXPRESS_ROUTES.test(path)) front(req, res);
    else providerHandler(req, res);
  };
}

/** The paths of the express routes (case-insensitive, as express matches them). */
const EXPRESS_ROUTES = /^\/(?:health|_mock|interaction)(?:[/.?]|$)/i;

function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * oidc-provider makes its URLs from the Host header: one no URL can be made of (`%`, `a b`,
 * `[::1`, `x:99999`) throws inside it and answers 500. It is the client's mistake (RFC 9112
 * section 3.2: a Host that is not a valid host is answered 400), so it is answered so here, for
 * every route. A request without Host (HTTP/1.0) is left to the routes.
 */
function refuseInvalidHost(res: ServerResponse, host: string): void {
  const shown = JSON.stringify(host.length > 100 ? `${host.slice(0, 97)}...` : host);
  const body = JSON.stringify({
    error: 'invalid_request',
    error_description: `the Host header must be a host name or address with an optional port (got ${shown})`,
  });
  res.writeHead(400, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Whether a Host header is valid (or absent), remembering the last valid one: nearly every request
 * carries the same Host, and the check is a pure function of the header, so one remembered value is
 * always right and never grows.
 */
function lastValidHost(): (host: string | undefined) => boolean {
  let remembered: string | undefined;
  return (host) => {
    if (host === undefined || host === remembered) return true;
    if (!isValidHost(host)) return false;
    remembered = host;
    return true;
  };
}

function isValidHost(host: string): boolean {
  try {
    const url = new URL(`http://${host}/`);
    return url.host !== '' && url.pathname === '/' && url.search === '' && url.hash === '';
  } catch {
    return false;
  }
}

/**
 * One journal entry (and one log line) per request, written when the answer is done or the socket
 * dropped. Both redact secrets (journal.ts, common/logger.ts).
 */
function journalRequests(
  journal: Journal,
  notes: WeakMap<IncomingMessage, RequestNotes>,
  logger: Logger,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = performance.now();
    let written = false;
    const write = () => {
      if (written) return;
      written = true;
      const entry = journal.record({
        type: 'request',
        method: req.method ?? 'GET',
        path: req.url ?? '/',
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
  };
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
