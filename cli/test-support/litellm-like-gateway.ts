/**
 * A small real HTTP gateway for the CLI's tests that answers the way LiteLLM's does
 * (docs/contract.md section 2): start, poll pending then ready once, FastAPI `detail`
 * errors on the CLI SSO routes, LiteLLM `error` bodies on /models, no `expires_in` in the ready
 * answer and no long poll, unless a test turns our extensions on. It skips the IdP: the browser
 * entry (or complete()) marks a flow done at once.
 *
 * Faults make it a broken gateway: any HTTP status with any body, a hang, a non-JSON answer or a
 * dropped connection, for the next N requests of a route or for all of them.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignJWT } from 'jose';
import { listen, type RunningServer } from '../../common/http-server.ts';
import { writePaddedPendingAnswer } from '../../common/padded-answer.ts';
import {
  CLI_SOURCE,
  CLI_SSO_PATHS,
  isValidLoginId,
  POLL_SECRET_HEADER,
  type PollAnswer,
  serializePollAnswer,
  serializeStartAnswer,
  type TeamDetail,
  USER_CODE_ALPHABET,
} from '../../protocol/cli-sso.ts';
import { apiErrorBody, CLI_SSO_MESSAGES, detailBody } from '../../protocol/errors.ts';
import { NATIVE_LOGIN_PATHS } from '../../protocol/native-login.ts';
import { makeTempHome, type TempHome } from './cli-process.ts';

/** `discovery` is the PKCE login's document, which this gateway lacks (404) unless a fault answers it. */
export type GatewayRoute = 'start' | 'poll' | 'models' | 'browser' | 'discovery';

export type GatewayFault =
  /** `body` may be made from the request, as a gateway that repeats what it was sent does. */
  (
    | { kind: 'status'; status: number; body?: unknown | ((req: IncomingMessage) => unknown) }
    | { kind: 'hang' }
    | { kind: 'malformed' }
    | { kind: 'reset' }
    /**
     * A 200 answer of `bytes` bytes (valid JSON if read whole), written as fast as the client reads
     * it; with `chunked` no Content-Length is declared, so only reading tells the size.
     */
    | { kind: 'flood'; bytes: number; chunked?: boolean }
  ) & {
    /** Apply to the next N requests of the route only; forever when absent. */
    times?: number;
  };

export interface LiteLlmLikeGatewayOptions {
  userId?: string;
  userEmail?: string;
  /** More than one team: the poll answers with a team selection first (section 2, step 4). */
  teams?: TeamDetail[];
  models?: string[];
  /** Server-side lifetime of issued keys. */
  keyLifetimeSeconds?: number;
  /** `opaque` like LiteLLM (default) or an HS256 JWT with `exp`, like the reference proxy. */
  keyFormat?: 'opaque' | 'jwt';
  /** Our extensions, off by default so the gateway speaks only LiteLLM's contract. */
  extensions?: { readyExpiresIn?: boolean; preferWait?: boolean };
  faults?: Partial<Record<GatewayRoute, GatewayFault>>;
  /**
   * Serve every route under this path (`/litellm`), as a gateway behind a reverse proxy is; a request
   * outside it is answered 404 and journalled as `other`.
   */
  pathPrefix?: string;
  /**
   * The start answer's `verification_uri_complete` (docs/contract.md section 10.8), made from the
   * gateway's URL (with its path prefix) and the new flow; absent when not given.
   */
  verificationUriComplete?: (flow: { baseUrl: string; loginId: string; userCode: string }) => string;
}

export interface JournalEntry {
  route: GatewayRoute | 'other';
  method: string;
  /** Path and query exactly as received. */
  url: string;
  prefer: string | undefined;
  hasPollSecret: boolean;
  authorization: string | undefined;
  atMs: number;
  status?: number;
  /** Bytes of the answer's body written to the connection (kept up to date while a flood runs). */
  bytesSent?: number;
  /** The client closed the connection before the whole answer was written. */
  abandoned?: boolean;
}

interface Flow {
  loginId: string;
  pollSecret: string;
  userCode: string;
  done: boolean;
  waiters: Set<() => void>;
}

interface IssuedKey {
  expiresAtMs: number;
}

export interface LiteLlmLikeGateway {
  url: string;
  journal: JournalEntry[];
  /** Login ids of the flows still known, oldest first. */
  loginIds(): string[];
  /** The browser part succeeded for this flow (as after the IdP and the code confirmation). */
  complete(loginId: string): void;
  setFault(route: GatewayRoute, fault: GatewayFault | undefined): void;
  /** Make a key the gateway knows, expiring at the given instant (for expiry tests). */
  issueKey(expiresAtMs: number): Promise<string>;
  /** Every key issued so far is now expired on the gateway. */
  expireAllKeys(): void;
  close(): Promise<void>;
}

const JWT_SECRET = new TextEncoder().encode(randomBytes(32).toString('hex'));

function randomUserCode(): string {
  const bytes = randomBytes(8);
  return [...bytes].map((b) => USER_CODE_ALPHABET.charAt(b % USER_CODE_ALPHABET.length)).join('');
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A pending poll answer padded to `bytes`, written with backpressure; the journal entry counts what left. */
function flood(res: ServerResponse, entry: JournalEntry, bytes: number, chunked: boolean): void {
  entry.bytesSent = 0;
  res.on('close', () => {
    entry.abandoned = !res.writableFinished;
  });
  res.writeHead(200, { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': String(bytes) }) });
  writePaddedPendingAnswer(res, bytes, (size) => {
    entry.bytesSent = (entry.bytesSent ?? 0) + size;
  });
}

function routeOf(method: string, path: string): GatewayRoute | 'other' {
  if (method === 'POST' && path === CLI_SSO_PATHS.start) return 'start';
  if (method === 'GET' && path.startsWith('/sso/cli/poll/')) return 'poll';
  if (method === 'GET' && (path === CLI_SSO_PATHS.models || path === CLI_SSO_PATHS.v1Models)) return 'models';
  if (method === 'GET' && path === CLI_SSO_PATHS.browserEntry) return 'browser';
  if (method === 'GET' && path === NATIVE_LOGIN_PATHS.discovery) return 'discovery';
  return 'other';
}

export async function startLiteLlmLikeGateway(options: LiteLlmLikeGatewayOptions = {}): Promise<LiteLlmLikeGateway> {
  const userId = options.userId ?? 'cli-test-user';
  const teams = options.teams ?? [];
  const models = options.models ?? ['gpt-4o', 'claude-sonnet'];
  const keyLifetimeMs = (options.keyLifetimeSeconds ?? 24 * 3600) * 1000;
  const faults = new Map<GatewayRoute, GatewayFault>(
    Object.entries(options.faults ?? {}) as [GatewayRoute, GatewayFault][],
  );
  const flows = new Map<string, Flow>();
  const keys = new Map<string, IssuedKey>();
  const journal: JournalEntry[] = [];

  const notify = (flow: Flow) => {
    for (const wake of flow.waiters) wake();
    flow.waiters.clear();
  };

  const issueKey = async (expiresAtMs: number): Promise<string> => {
    const key =
      options.keyFormat === 'jwt'
        ? await new SignJWT({ user_role: 'internal_user', email: options.userEmail ?? 'cli-test@example.com' })
            .setProtectedHeader({ alg: 'HS256' })
            .setSubject(userId)
            .setIssuedAt()
            .setExpirationTime(Math.floor(expiresAtMs / 1000))
            .sign(JWT_SECRET)
        : `sk-${randomBytes(24).toString('base64url')}`;
    keys.set(key, { expiresAtMs });
    return key;
  };

  /** Answer with a fault if one is set for this route; true when it did. */
  const applyFault = (route: GatewayRoute, req: IncomingMessage, res: ServerResponse, entry: JournalEntry): boolean => {
    const fault = faults.get(route);
    if (!fault) return false;
    if (fault.times !== undefined) {
      if (fault.times <= 1) faults.delete(route);
      else faults.set(route, { ...fault, times: fault.times - 1 });
    }
    switch (fault.kind) {
      case 'status':
        if (fault.body === undefined) {
          res.writeHead(fault.status, { 'content-type': 'text/plain' });
          res.end(fault.status >= 500 ? 'Internal Server Error' : 'Error');
        } else sendJson(res, fault.status, typeof fault.body === 'function' ? fault.body(req) : fault.body);
        return true;
      case 'malformed':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"login_id": "cli-');
        return true;
      case 'reset':
        req.socket.destroy();
        return true;
      case 'hang':
        return true;
      case 'flood':
        flood(res, entry, fault.bytes, fault.chunked === true);
        return true;
    }
  };

  const poll = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const loginId = decodeURIComponent(url.pathname.slice('/sso/cli/poll/'.length));
    const flow = isValidLoginId(loginId) ? flows.get(loginId) : undefined;
    if (!flow) return sendJson(res, 400, detailBody(CLI_SSO_MESSAGES.invalidSession));
    if (req.headers[POLL_SECRET_HEADER] !== flow.pollSecret) {
      return sendJson(res, 403, detailBody(CLI_SSO_MESSAGES.invalidPollSecret));
    }
    const headers: Record<string, string> = {};
    const wait = /^\s*wait\s*=\s*(\d+)\s*$/i.exec(String(req.headers['prefer'] ?? ''));
    if (!flow.done && options.extensions?.preferWait && wait) {
      const seconds = Math.min(Number(wait[1]), 30);
      headers['preference-applied'] = `wait=${seconds}`;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, seconds * 1000);
        flow.waiters.add(() => {
          clearTimeout(timer);
          resolve();
        });
        res.once('close', () => clearTimeout(timer));
      });
    }
    if (!flow.done) return sendJson(res, 200, serializePollAnswer({ status: 'pending' }), headers);
    const teamId = url.searchParams.get('team_id');
    const teamIds = teams.map((t) => t.teamId);
    if (teamId === null && teams.length > 1) {
      const answer: PollAnswer = { status: 'team_selection', userId, teams: teamIds, teamDetails: teams };
      return sendJson(res, 200, serializePollAnswer(answer), headers);
    }
    if (teamId !== null && !teamIds.includes(teamId)) {
      return sendJson(res, 403, detailBody(CLI_SSO_MESSAGES.notInTeam(teamId)));
    }
    flows.delete(flow.loginId);
    const key = await issueKey(Date.now() + keyLifetimeMs);
    const answer: PollAnswer = {
      status: 'ready',
      key,
      userId,
      teamId: teamId ?? teamIds[0] ?? null,
      teams: teamIds,
      teamDetails: teams,
      ...(options.extensions?.readyExpiresIn ? { expiresInSeconds: keyLifetimeMs / 1000 } : {}),
    };
    sendJson(res, 200, serializePollAnswer(answer), headers);
  };

  const listModels = (req: IncomingMessage, res: ServerResponse): void => {
    const header = req.headers.authorization ?? '';
    const key = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    const issued = keys.get(key);
    if (!issued) {
      sendJson(res, 401, apiErrorBody(401, 'auth_error', 'Authentication Error, Invalid proxy server token passed.'));
      return;
    }
    if (Date.now() > issued.expiresAtMs) {
      const message = `Authentication Error - Expired Key. Key Expiry time ${new Date(issued.expiresAtMs).toISOString()}`;
      sendJson(res, 400, apiErrorBody(400, 'expired_key', message));
      return;
    }
    sendJson(res, 200, {
      object: 'list',
      data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'openai' })),
    });
  };

  const prefix = options.pathPrefix ?? '';
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    const method = req.method ?? 'GET';
    const underPrefix = prefix === '' || url.pathname.startsWith(`${prefix}/`);
    if (underPrefix) url.pathname = url.pathname.slice(prefix.length);
    const route = underPrefix ? routeOf(method, url.pathname) : 'other';
    const entry: JournalEntry = {
      route,
      method,
      url: req.url ?? '/',
      prefer: typeof req.headers['prefer'] === 'string' ? req.headers['prefer'] : undefined,
      hasPollSecret: typeof req.headers[POLL_SECRET_HEADER] === 'string',
      authorization: req.headers.authorization,
      atMs: Date.now(),
    };
    journal.push(entry);
    res.once('finish', () => {
      entry.status = res.statusCode;
    });
    if (route === 'other') return sendJson(res, 404, detailBody('Not Found'));
    if (applyFault(route, req, res, entry)) return;
    // A gateway of LiteLLM's documented (v3) contract has no PKCE login.
    if (route === 'discovery') return sendJson(res, 404, detailBody('Not Found'));
    if (route === 'start') {
      const flow: Flow = {
        loginId: `cli-${randomBytes(24).toString('base64url')}`,
        pollSecret: randomBytes(32).toString('base64url'),
        userCode: randomUserCode(),
        done: false,
        waiters: new Set(),
      };
      flows.set(flow.loginId, flow);
      return sendJson(
        res,
        200,
        serializeStartAnswer({
          loginId: flow.loginId,
          pollSecret: flow.pollSecret,
          userCode: flow.userCode,
          ...(options.verificationUriComplete
            ? {
                verificationUriComplete: options.verificationUriComplete({
                  baseUrl: `${server.url}${prefix}`,
                  loginId: flow.loginId,
                  userCode: flow.userCode,
                }),
              }
            : {}),
          expiresInSeconds: 600,
        }),
      );
    }
    if (route === 'poll') return poll(req, res, url);
    if (route === 'models') return listModels(req, res);
    // The browser entry: no IdP here, the login succeeds at once.
    const flow =
      url.searchParams.get('source') === CLI_SOURCE ? flows.get(url.searchParams.get('key') ?? '') : undefined;
    if (!flow) return sendJson(res, 400, detailBody(CLI_SSO_MESSAGES.invalidSession));
    flow.done = true;
    notify(flow);
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>LiteLLM CLI Login</title><h1>Authentication Successful!</h1>');
  };

  const server: RunningServer = await listen(
    (req, res) => {
      handle(req, res).catch(() => {
        if (!res.headersSent) sendJson(res, 500, detailBody('test gateway failure'));
      });
    },
    '127.0.0.1',
    0,
  );

  return {
    url: server.url,
    journal,
    loginIds: () => [...flows.keys()],
    complete: (loginId) => {
      const flow = flows.get(loginId);
      if (!flow) throw new Error(`no flow ${loginId}`);
      flow.done = true;
      notify(flow);
    },
    setFault: (route, fault) => {
      if (fault) faults.set(route, fault);
      else faults.delete(route);
    },
    issueKey,
    expireAllKeys: () => {
      for (const issued of keys.values()) issued.expiresAtMs = Date.now() - 1000;
    },
    close: () => server.close(),
  };
}

/**
 * A gateway and a temporary HOME for one test, both added to `cleanups` (run after the tests): the
 * set-up every CLI test that logs in starts with.
 */
export async function gatewayAndHome(
  cleanups: Array<() => Promise<void>>,
  options: LiteLlmLikeGatewayOptions = {},
): Promise<{ gateway: LiteLlmLikeGateway; home: TempHome }> {
  const gateway = await startLiteLlmLikeGateway(options);
  const home = await makeTempHome();
  cleanups.push(
    () => gateway.close(),
    () => home.remove(),
  );
  return { gateway, home };
}
