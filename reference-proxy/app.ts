/**
 * The reference gateway's routes (docs/contract.md sections 2 and 7), one file per protocol step
 * under routes/. Created without listening (architecture.md, convention 11); startReferenceProxy in
 * proxy.ts builds the stores and listens.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type RequestHandler } from 'express';
import { nowSeconds } from '../common/clock.ts';
import { CLI_SESSION_PATHS } from '../protocol/cli-sessions.ts';
import { CLI_SSO_PATHS } from '../protocol/cli-sso.ts';
import { admitStarts } from './admission.ts';
import { answerErrors, detailError } from './http-errors.ts';
import { mountNativeLogin } from './native-login/index.ts';
import type { ProxyContext } from './proxy-context.ts';
import { cliComplete } from './routes/cli-complete.ts';
import { cliPoll } from './routes/cli-poll.ts';
import { listCliSessions, revokeCliSession, revokersFirst } from './routes/cli-sessions.ts';
import { cliStart } from './routes/cli-start.ts';
import { type ModelList, modelList } from './routes/models.ts';
import { ssoCallback } from './routes/sso-callback.ts';
import { ssoKeyGenerate } from './routes/sso-key-generate.ts';
import { UI_HOME_PATH, uiHome } from './routes/ui-login.ts';
import { userInfo } from './routes/user-info.ts';

// Route patterns with the {login_id} parameter (CLI_SSO_PATHS.complete/poll build the concrete paths
// and percent-encode, so the patterns are spelled out here).
const COMPLETE_ROUTE = '/sso/cli/complete/:loginId';
const POLL_ROUTE = '/sso/cli/poll/:loginId';
/** CLI_SESSION_PATHS.revoke as a route pattern. */
const SESSION_REVOKE_ROUTE = '/cli/session/:sessionId/revoke';
/** The path prefix of the registry's routes. */
const SESSION_PREFIX = '/cli/session';

/** Form posts are small: a code and a token. Anything larger is refused with 413. */
const FORM_BODY_LIMIT = '16kb';

/**
 * The gateway as a Node.js request listener: the model list's common case answered before express's
 * router (routes/models.ts says why and how), everything else by the express app.
 */
export function createProxyListener(ctx: ProxyContext): RequestListener {
  const models = modelList(ctx, nowSeconds(ctx.clock));
  const app = createProxyApp(ctx, models);
  return (req, res) => {
    const startedMs = performance.now();
    models.answerBeforeRouter(
      req,
      res,
      () => app(req, res),
      () => logRequest(ctx, req, res, startedMs),
    );
  };
}

export function createProxyApp(
  ctx: ProxyContext,
  models: ModelList = modelList(ctx, nowSeconds(ctx.clock)),
): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(everyRequest(ctx));

  // LiteLLM's health routes; the harness waits on liveliness for readiness.
  app.get('/health/liveliness', (_req, res) => {
    res.json("I'm alive!");
  });
  app.get('/health/readiness', (_req, res) => {
    // mutation-equivalent: the body of LiteLLM's readiness route is outside the contract; the harness waits on liveliness
    res.json({ status: 'healthy' });
  });
  // The API routes clients call most come before the login steps: express tries routes in order.
  app.get([CLI_SSO_PATHS.models, CLI_SSO_PATHS.v1Models], models.route);
  app.get(CLI_SSO_PATHS.userInfo, userInfo(ctx));
  // The CLI session registry (docs/contract.md section 10.7), a litellm-v4 gateway's only: under
  // litellm-v3 its routes are a 404, as a gateway without it answers.
  const v4 = ctx.config.profile === 'litellm-v4';
  if (v4) {
    app.get(CLI_SESSION_PATHS.list, listCliSessions(ctx));
    app.use(SESSION_PREFIX, revokersFirst(ctx));
    app.post(SESSION_REVOKE_ROUTE, revokeCliSession(ctx));
  }

  app.post(CLI_SSO_PATHS.start, admitStarts(ctx.admission), cliStart(ctx));
  app.get(CLI_SSO_PATHS.browserEntry, ssoKeyGenerate(ctx));
  app.get(CLI_SSO_PATHS.callback, ssoCallback(ctx));
  // Section 2: the body is form data whatever the content type, so read it as text of any type.
  app.post(
    COMPLETE_ROUTE,
    express.text({ type: () => true, limit: FORM_BODY_LIMIT, defaultCharset: 'utf-8' }),
    cliComplete(ctx),
  );
  app.get(POLL_ROUTE, cliPoll(ctx));
  app.get(UI_HOME_PATH, uiHome(ctx));
  app.get('/ui', (_req, res) => res.redirect(301, UI_HOME_PATH));
  // The PKCE-native login (docs/contract.md section 10.6), with its own 405s: a litellm-v4 gateway's
  // only; under litellm-v3 the discovery document is a 404, as a gateway without it answers.
  if (v4) mountNativeLogin(app, ctx);

  // A known path with another method is 405 with Allow (RFC 9110 section 15.5.6), as FastAPI answers.
  const postOnly = [CLI_SSO_PATHS.start, COMPLETE_ROUTE, ...(v4 ? [SESSION_REVOKE_ROUTE] : [])];
  const getOnly = [
    CLI_SSO_PATHS.browserEntry,
    CLI_SSO_PATHS.callback,
    POLL_ROUTE,
    CLI_SSO_PATHS.models,
    CLI_SSO_PATHS.v1Models,
    CLI_SSO_PATHS.userInfo,
    ...(v4 ? [CLI_SESSION_PATHS.list] : []),
    UI_HOME_PATH,
    '/health/liveliness',
    '/health/readiness',
  ];
  for (const [paths, allow] of [
    [postOnly, 'POST'],
    [getOnly, 'GET, HEAD'],
  ] as const) {
    app.all(paths, () => {
      throw detailError(405, 'Method Not Allowed', { allow });
    });
  }
  app.use(() => {
    throw detailError(404, 'Not Found');
  });
  // The one place errors become answers (http-errors.ts).
  app.use(answerErrors(ctx.logger));
  return app;
}

/**
 * What every answer gets, in one middleware (each one more is a step of express's router on every
 * request): `X-Content-Type-Options: nosniff`, so no browser takes an answer (a JSON one included)
 * for another type than it says (CLISSO-CALLBACK-07), and one structured log line once it is sent,
 * for operators (the logger redacts secrets in the URL).
 */
function everyRequest(ctx: ProxyContext): RequestHandler {
  return (req, res, next) => {
    res.setHeader('x-content-type-options', 'nosniff');
    const startedMs = performance.now();
    res.on('finish', () => logRequest(ctx, req, res, startedMs));
    next();
  };
}

/** The access log's line for one answered request (the logger redacts secrets in the URL). */
function logRequest(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, startedMs: number): void {
  ctx.logger.info('request', {
    method: req.method,
    // express's originalUrl where express routed the request (a mounted middleware shortens url)
    path: (req as Partial<express.Request>).originalUrl ?? req.url,
    status: res.statusCode,
    duration_ms: Math.round(performance.now() - startedMs),
    client_ip: req.socket.remoteAddress,
  });
}
