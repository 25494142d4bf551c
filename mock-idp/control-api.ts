/**
 * The control API under `/_mock`: a thin JSON layer over the programmatic MockIdp,
 * so a test in another process (or language) can do what an in-process test does. Only loopback
 * callers are served unless a control token is configured; then every call needs the token.
 * Bad input gets `400 {"error":"invalid_request","error_description",...}` naming the input and rule.
 */
import { timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import type { Logger } from '../common/logger.ts';
import { MAX_JSON_DEPTH, nestedDeeperThan } from './claims.ts';
import { faultSpecSchema } from './faults.ts';
import { journalFilterSchema } from './journal.ts';
import type { MockIdp } from './mock-idp.ts';
import type { TokenLifetimes } from './provider.ts';
import type { MockUser } from './users.ts';
import { parseClaims, parseUser, parseUsers, UsersFileError } from './users-file.ts';

export interface ControlApiOptions {
  controlToken?: string;
  logger: Logger;
}

const lifetimeSeconds = z
  .number()
  .int()
  .min(1)
  .max(10 * 365 * 24 * 3600);
/** Wire names of the lifetimes (snake_case, seconds). */
const lifetimesBody = z
  .object({
    access_token_seconds: lifetimeSeconds.optional(),
    id_token_seconds: lifetimeSeconds.optional(),
    refresh_token_seconds: lifetimeSeconds.optional(),
    authorization_code_seconds: lifetimeSeconds.optional(),
    device_code_seconds: lifetimeSeconds.optional(),
  })
  .strict();
const clockBody = z
  .object({
    offset_seconds: z
      .number()
      .int()
      .min(-10 * 365 * 24 * 3600)
      .max(10 * 365 * 24 * 3600),
  })
  .strict();
const settingsBody = z.object({ auto_login: z.string().min(1).nullable() }).strict();
const journalQuery = z
  .object({
    type: z.string().optional(),
    endpoint: z.string().optional(),
    event: z.string().optional(),
    path: z.string().optional(),
    method: z.string().optional(),
    status: z.string().optional(),
    client_id: z.string().optional(),
    since: z.string().optional(),
    limit: z.string().optional(),
  })
  .strict();

/** A failure in what the caller sent: answered 400 (or the given status) with the problems listed. */
class BadInput extends Error {
  constructor(
    message: string,
    readonly problems: Array<{ path: string; rule: string; value?: string }> = [],
    readonly status = 400,
  ) {
    super(message);
  }
}

export function controlApiRouter(idp: MockIdp, options: ControlApiOptions): Router {
  const router = express.Router();
  router.use(sameSiteGuard(idp));
  router.use(accessGuard(options.controlToken));
  router.use(jsonOnly);
  router.use(express.json({ limit: '1mb', type: JSON_TYPES }));
  router.use((req, _res, next) => {
    // Checking a body walks it recursively: a deeper one would overflow the stack.
    if (nestedDeeperThan(req.body, MAX_JSON_DEPTH + 3)) {
      return next(new BadInput(`the body must not nest lists and objects more than ${MAX_JSON_DEPTH + 3} levels deep`));
    }
    next();
  });

  router.get('/', (_req, res) => {
    res.json(summary(idp));
  });

  // Users and claims.
  router.get('/users', (_req, res) => {
    res.json({ users: idp.users.list().map(showUser) });
  });
  router.put('/users', (req, res) => {
    const raw: unknown = Array.isArray(req.body)
      ? req.body
      : z.looseObject({ users: z.unknown() }).safeParse(req.body).data?.users;
    idp.users.replaceAll(checked(() => parseUsers(raw, 'body.users')));
    res.json({ users: idp.users.list().map(showUser) });
  });
  router.get('/users/:username', (req, res) => {
    res.json(showUser(userOr404(idp, req.params['username'] ?? '')));
  });
  router.put('/users/:username', (req, res) => {
    const username = req.params['username'] ?? '';
    const body: unknown = req.body;
    const user = checked(() =>
      parseUser(typeof body === 'object' && body !== null ? { username, ...body } : body, 'body'),
    );
    if (user.username !== username) {
      throw new BadInput('body.username must match the username in the path', [
        { path: 'body.username', rule: `must equal ${username}`, value: JSON.stringify(user.username) },
      ]);
    }
    idp.users.put(user);
    res.json(showUser(user));
  });
  router.delete('/users/:username', (req, res) => {
    const username = req.params['username'] ?? '';
    if (!idp.users.remove(username)) throw notFound('user', username);
    if (idp.autoLogin() === username) idp.setAutoLogin(undefined);
    res.status(204).end();
  });
  router.get('/users/:username/claims', (req, res) => {
    res.json(userOr404(idp, req.params['username'] ?? '').claims);
  });
  router.put('/users/:username/claims', (req, res) => {
    const username = req.params['username'] ?? '';
    const claims = checked(() => parseClaims(req.body, 'body'));
    if (!idp.users.setClaims(username, claims)) throw notFound('user', username);
    res.json(userOr404(idp, username).claims);
  });
  // RFC 7396 JSON merge patch on the top-level claims: null removes a claim.
  router.patch('/users/:username/claims', (req, res) => {
    const username = req.params['username'] ?? '';
    const claims = checked(() => parseClaims(req.body, 'body'));
    if (!idp.users.mergeClaims(username, claims)) throw notFound('user', username);
    res.json(userOr404(idp, username).claims);
  });

  // Faults.
  router.get('/faults', (_req, res) => {
    res.json({ faults: idp.faults.list() });
  });
  router.post('/faults', (req, res) => {
    const parsed = faultSpecSchema.safeParse(req.body);
    if (!parsed.success) throw zodProblems('the fault', parsed.error, req.body);
    res.status(201).json(idp.faults.add(parsed.data));
  });
  router.delete('/faults', (_req, res) => {
    idp.faults.clear();
    res.status(204).end();
  });
  router.delete('/faults/:id', (req, res) => {
    const id = req.params['id'] ?? '';
    if (!idp.faults.remove(id)) throw notFound('fault', id);
    res.status(204).end();
  });

  // Token lifetimes, clock, keys, settings.
  router.get('/lifetimes', (_req, res) => {
    res.json(showLifetimes(idp.lifetimes()));
  });
  router.put('/lifetimes', (req, res) => {
    const parsed = lifetimesBody.safeParse(req.body);
    if (!parsed.success) throw zodProblems('the lifetimes', parsed.error, req.body);
    const b = parsed.data;
    const updated = idp.setLifetimes({
      ...(b.access_token_seconds ? { accessTokenSeconds: b.access_token_seconds } : {}),
      ...(b.id_token_seconds ? { idTokenSeconds: b.id_token_seconds } : {}),
      ...(b.refresh_token_seconds ? { refreshTokenSeconds: b.refresh_token_seconds } : {}),
      ...(b.authorization_code_seconds ? { authorizationCodeSeconds: b.authorization_code_seconds } : {}),
      ...(b.device_code_seconds ? { deviceCodeSeconds: b.device_code_seconds } : {}),
    });
    res.json(showLifetimes(updated));
  });
  router.get('/clock', (_req, res) => {
    res.json({ offset_seconds: idp.clockOffsetSeconds() });
  });
  router.put('/clock', (req, res) => {
    const parsed = clockBody.safeParse(req.body);
    if (!parsed.success) throw zodProblems('the clock', parsed.error, req.body);
    idp.setClockOffsetSeconds(parsed.data.offset_seconds);
    res.json({ offset_seconds: idp.clockOffsetSeconds() });
  });
  router.get('/keys', (_req, res) => {
    res.json({ kids: idp.keyIds() });
  });
  router.post('/keys/rotate', async (_req, res) => {
    res.json({ kids: await idp.rotateKeys() });
  });
  router.get('/settings', (_req, res) => {
    res.json({ auto_login: idp.autoLogin() ?? null });
  });
  router.put('/settings', (req, res) => {
    const parsed = settingsBody.safeParse(req.body);
    if (!parsed.success) throw zodProblems('the settings', parsed.error, req.body);
    const wanted = parsed.data.auto_login ?? undefined;
    if (wanted !== undefined && !idp.users.get(wanted)) {
      throw new BadInput('auto_login must name a known user', [
        {
          path: 'body.auto_login',
          rule: `must be one of ${idp.users.usernames().join(', ')}`,
          value: JSON.stringify(wanted),
        },
      ]);
    }
    idp.setAutoLogin(wanted);
    res.json({ auto_login: idp.autoLogin() ?? null });
  });

  // Journal and reset.
  router.get('/journal', (req, res) => {
    const query = journalQuery.safeParse(req.query);
    if (!query.success) throw zodProblems('the journal query', query.error, req.query);
    const { client_id: clientId, ...rest } = query.data;
    const filter = journalFilterSchema.safeParse({ ...rest, ...(clientId !== undefined ? { clientId } : {}) });
    if (!filter.success) throw zodProblems('the journal query', filter.error, req.query);
    res.json({ last_seq: idp.journal.lastSeq(), entries: idp.journal.query(filter.data) });
  });
  router.delete('/journal', (_req, res) => {
    idp.journal.clear();
    res.status(204).end();
  });
  router.post('/reset', (_req, res) => {
    idp.reset();
    res.json(summary(idp));
  });

  router.use((req, _res, next) => {
    next(new BadInput(`no control API route ${req.method} /_mock${req.path}`, [], 404));
  });
  router.use(errorAnswer(options.logger));
  return router;
}

function summary(idp: MockIdp) {
  return {
    issuer: idp.issuer,
    users: idp.users.usernames(),
    clients: idp.clients.map((c) => c.clientId),
    auto_login: idp.autoLogin() ?? null,
    lifetimes: showLifetimes(idp.lifetimes()),
    clock_offset_seconds: idp.clockOffsetSeconds(),
    faults: idp.faults.list(),
    kids: idp.keyIds(),
    journal_last_seq: idp.journal.lastSeq(),
  };
}

/** Passwords are test fixtures, but still not echoed: the answer says only whether there is one. */
function showUser(user: MockUser) {
  return { username: user.username, has_password: user.password !== undefined, claims: user.claims };
}

function showLifetimes(l: TokenLifetimes) {
  return {
    access_token_seconds: l.accessTokenSeconds,
    id_token_seconds: l.idTokenSeconds,
    refresh_token_seconds: l.refreshTokenSeconds,
    authorization_code_seconds: l.authorizationCodeSeconds,
    device_code_seconds: l.deviceCodeSeconds,
  };
}

function userOr404(idp: MockIdp, username: string): MockUser {
  const user = idp.users.get(username);
  if (!user) throw notFound('user', username);
  return user;
}

function notFound(what: string, name: string): BadInput {
  return new BadInput(`no ${what} named ${JSON.stringify(name)}`, [], 404);
}

function checked<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof UsersFileError) {
      throw new BadInput(
        error.problems.map((p) => `${p.file}${p.path ? `.${p.path}` : ''}: ${p.rule}`).join('; '),
        error.problems.map((p) => ({ path: `${p.file}${p.path ? `.${p.path}` : ''}`, rule: p.rule, value: p.value })),
      );
    }
    throw error;
  }
}

function zodProblems(what: string, error: z.ZodError, raw: unknown): BadInput {
  const problems = error.issues.map((issue) => {
    const path = ['body', ...issue.path.map(String)].join('.');
    const value = issue.path.reduce<unknown>(
      (current, part) => (typeof current === 'object' && current !== null ? Reflect.get(current, part) : undefined),
      raw,
    );
    return { path, rule: issue.message, value: value === undefined ? 'nothing' : JSON.stringify(value) };
  });
  return new BadInput(`${what} is invalid: ${problems.map((p) => `${p.path}: ${p.rule}`).join('; ')}`, problems);
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;

/** Shortest control token accepted (config.ts refuses a shorter one at start-up). */
export const MIN_CONTROL_TOKEN_LENGTH = 16;

/** Host names that are this machine whatever DNS says: `localhost`, 127.0.0.0/8, ::1. */
function isLoopbackName(hostname: string): boolean {
  const bare = hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return bare === 'localhost' || bare.endsWith('.localhost') || LOOPBACK.test(bare);
}

function hostnameOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * A web page must not drive the control API through someone's browser. A cross-site form or
 * `fetch` carries the page's `Origin`: only the IdP's own origin and loopback origins pass. A page
 * on a name the attacker made resolve to 127.0.0.1 (DNS rebinding) is same-origin to itself, so
 * sends no foreign Origin, but its `Host` is that name: only the IdP's own host names and loopback
 * names pass.
 */
function sameSiteGuard(idp: MockIdp) {
  const ownHosts = new Set([hostnameOf(idp.issuer), hostnameOf(idp.url)].filter((h) => h !== undefined));
  const ownOrigins = new Set([new URL(idp.issuer).origin, new URL(idp.url).origin]);
  return (req: Request, _res: Response, next: NextFunction) => {
    const host = req.get('host');
    // A Host is a name or an address and a port, nothing else (`evil@127.0.0.1` would parse as 127.0.0.1).
    const hostname = host !== undefined && HOST_HEADER.test(host) ? hostnameOf(`http://${host}`) : undefined;
    if (hostname === undefined || !(ownHosts.has(hostname) || isLoopbackName(hostname))) {
      return next(
        new BadInput(
          `the control API answers only requests addressed to the IdP's own host or a loopback name (Host: ${JSON.stringify(host ?? '')}); set the issuer to the URL you call it by`,
          [],
          403,
        ),
      );
    }
    const origin = req.get('origin');
    if (origin !== undefined) {
      const originHost = hostnameOf(origin);
      const sameSite =
        ownOrigins.has(origin) ||
        (originHost !== undefined && /^https?:$/.test(new URL(origin).protocol) && isLoopbackName(originHost));
      if (!sameSite) {
        return next(
          new BadInput(
            `the control API refuses calls made by web pages of other sites (Origin: ${JSON.stringify(origin)})`,
            [],
            403,
          ),
        );
      }
    }
    next();
  };
}

const HOST_HEADER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

const JSON_TYPES = ['application/json', 'application/*+json'];

function isJsonType(contentType: string | undefined): boolean {
  const media = contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
  return media === 'application/json' || /^application\/[\w.-]+\+json$/.test(media);
}

/**
 * Bodies are JSON, said so in `Content-Type`: a cross-site HTML form or a "simple" `fetch` can only
 * send `text/plain`, form or multipart bodies, so refusing those (415) keeps such posts out even
 * from a loopback origin. A call without a body (`curl -X POST .../reset`) needs no type.
 */
function jsonOnly(req: Request, _res: Response, next: NextFunction) {
  const type = req.get('content-type');
  const hasBody = req.get('transfer-encoding') !== undefined || Number(req.get('content-length') ?? '0') > 0;
  if ((type !== undefined || hasBody) && !isJsonType(type)) {
    return next(
      new BadInput(
        `the control API takes JSON bodies only: Content-Type must be application/json (got ${JSON.stringify(type ?? 'none')})`,
        [],
        415,
      ),
    );
  }
  next();
}

function accessGuard(controlToken: string | undefined) {
  const expected = controlToken ? Buffer.from(`Bearer ${controlToken}`) : undefined;
  return (req: Request, _res: Response, next: NextFunction) => {
    if (expected) {
      const given = Buffer.from(req.get('authorization') ?? '');
      if (given.length === expected.length && timingSafeEqual(given, expected)) return next();
      return next(new BadInput('the control API needs Authorization: Bearer <control token>', [], 401));
    }
    if (LOOPBACK.test(req.socket.remoteAddress ?? '')) return next();
    next(new BadInput('the control API answers only loopback callers unless a control token is configured', [], 403));
  };
}

function errorAnswer(logger: Logger) {
  return (error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof BadInput) {
      const code =
        error.status === 404
          ? 'not_found'
          : error.status === 401
            ? 'invalid_token'
            : error.status === 403
              ? 'access_denied'
              : 'invalid_request';
      res.status(error.status).json({
        error: code,
        error_description: error.message,
        ...(error.problems.length > 0 ? { problems: error.problems } : {}),
      });
      return;
    }
    // express.json() failures carry a 4xx status (http-errors), most with a `type` such as
    // entity.parse.failed; a body that does not decompress as its Content-Encoding says has none.
    const parseFailure = z
      .object({ status: z.number().int().min(400).max(499), type: z.string().optional(), message: z.string() })
      .safeParse(error);
    if (parseFailure.success) {
      const { status, type, message } = parseFailure.data;
      res.status(status).json({
        error: 'invalid_request',
        error_description: `the body must be JSON, readable as its Content-Type and Content-Encoding say (${type ?? message})`,
      });
      return;
    }
    logger.error('control_api.error', { error });
    res
      .status(500)
      .json({ error: 'server_error', error_description: 'the mock IdP failed to handle this control call' });
  };
}
