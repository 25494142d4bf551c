/**
 * The reference gateway's routes (docs/contract.md sections 2 and 7), one file per protocol step
 * under routes/. Created without listening (architecture.md, convention 11); startReferenceProxy in
 * proxy.ts builds the stores and listens.
 */
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { nowSeconds } from '../common/clock.ts';
import { CLI_SSO_PATHS } from '../protocol/cli-sso.ts';
import { detailBody } from '../protocol/errors.ts';
import { admitStarts } from './admission.ts';
import type { ProxyContext } from './proxy-context.ts';
import { cliComplete } from './routes/cli-complete.ts';
import { cliPoll } from './routes/cli-poll.ts';
import { cliStart } from './routes/cli-start.ts';
import { listModels } from './routes/models.ts';
import { ssoCallback } from './routes/sso-callback.ts';
import { ssoKeyGenerate } from './routes/sso-key-generate.ts';
import { UI_HOME_PATH, uiHome } from './routes/ui-login.ts';
import { userInfo } from './routes/user-info.ts';
import { StoreUnavailableError } from './store-errors.ts';

// Route patterns with the {login_id} parameter (CLI_SSO_PATHS.complete/poll build the concrete paths
// and percent-encode, so the patterns are spelled out here).
const COMPLETE_ROUTE = '/sso/cli/complete/:loginId';
const POLL_ROUTE = '/sso/cli/poll/:loginId';

/** Form posts are small: a code and a token. Anything larger is refused with 413. */
const FORM_BODY_LIMIT = '16kb';

export function createProxyApp(ctx: ProxyContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(logEachRequest(ctx));
  // No browser may take an answer (a JSON one included) for another type than it says (CLISSO-CALLBACK-07).
  app.use((_req, res, next) => {
    res.set('x-content-type-options', 'nosniff');
    next();
  });

  // LiteLLM's health routes; the harness waits on liveliness for readiness.
  app.get('/health/liveliness', (_req, res) => {
    res.json("I'm alive!");
  });
  app.get('/health/readiness', (_req, res) => {
    res.json({ status: 'healthy' });
  });

  app.post(
    CLI_SSO_PATHS.start,
    admitStarts(ctx.admission, (event, fields) => ctx.logger.warn(event, fields)),
    cliStart(ctx),
  );
  app.get(CLI_SSO_PATHS.browserEntry, ssoKeyGenerate(ctx));
  app.get(CLI_SSO_PATHS.callback, ssoCallback(ctx));
  // Section 2: the body is form data whatever the content type, so read it as text of any type.
  app.post(
    COMPLETE_ROUTE,
    express.text({ type: () => true, limit: FORM_BODY_LIMIT, defaultCharset: 'utf-8' }),
    cliComplete(ctx),
  );
  app.get(POLL_ROUTE, cliPoll(ctx));

  const startedAtSeconds = nowSeconds(ctx.clock);
  app.get(CLI_SSO_PATHS.models, listModels(ctx, startedAtSeconds));
  app.get(CLI_SSO_PATHS.v1Models, listModels(ctx, startedAtSeconds));
  app.get(CLI_SSO_PATHS.userInfo, userInfo(ctx));
  app.get(UI_HOME_PATH, uiHome(ctx));
  app.get('/ui', (_req, res) => res.redirect(301, UI_HOME_PATH));

  // A known path with another method is 405 with Allow (RFC 9110 section 15.5.6), as FastAPI answers.
  const postOnly = [CLI_SSO_PATHS.start, COMPLETE_ROUTE];
  const getOnly = [
    CLI_SSO_PATHS.browserEntry,
    CLI_SSO_PATHS.callback,
    POLL_ROUTE,
    CLI_SSO_PATHS.models,
    CLI_SSO_PATHS.v1Models,
    CLI_SSO_PATHS.userInfo,
    UI_HOME_PATH,
    '/health/liveliness',
    '/health/readiness',
  ];
  for (const [paths, allow] of [
    [postOnly, 'POST'],
    [getOnly, 'GET, HEAD'],
  ] as const) {
    app.all(paths, (_req, res) => {
      res.status(405).set('allow', allow).json(detailBody('Method Not Allowed'));
    });
  }
  app.use((_req, res) => {
    res.status(404).json(detailBody('Not Found'));
  });
  app.use(answerErrors(ctx));
  return app;
}

/** One structured line per request (issue 4, point 7); the logger redacts secrets in the URL. */
function logEachRequest(ctx: ProxyContext): RequestHandler {
  return (req, res, next) => {
    const startedMs = performance.now();
    res.once('finish', () => {
      ctx.logger.info('request', {
        method: req.method,
        path: req.originalUrl,
        status: res.statusCode,
        duration_ms: Math.round(performance.now() - startedMs),
        client_ip: req.socket.remoteAddress,
      });
    });
    next();
  };
}

/**
 * The one place errors become responses (architecture.md, convention 2): a store that cannot answer
 * is 503 with a clear detail; a bad request body keeps its 4xx; anything else is a 500 that says
 * nothing internal (and is logged).
 */
function answerErrors(ctx: ProxyContext): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (error instanceof StoreUnavailableError) {
      ctx.logger.error('store_unavailable', { store: error.store, path: req.path, cause: describeCause(error.cause) });
      res
        .status(503)
        .set('retry-after', '5')
        .json(detailBody(`Service temporarily unavailable: the ${error.store} cannot be reached. Try again shortly.`));
      return;
    }
    const status = clientErrorStatus(error);
    if (status !== undefined) {
      res.status(status).json(detailBody(`Bad request: ${error instanceof Error ? error.message : 'unreadable'}`));
      return;
    }
    ctx.logger.error('unexpected_error', { path: req.path, error: describeCause(error) });
    res.status(500).json(detailBody('Internal server error'));
  };
}

/** body-parser errors carry a 4xx `status` (413 too large, 415 charset, 400 aborted...). */
function clientErrorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('status' in error)) return undefined;
  const status = error.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

function describeCause(cause: unknown): string {
  return cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
}
