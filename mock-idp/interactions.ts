/**
 * The sign-in step of an authorization (oidc-provider "interactions"): the login page, the
 * username/password form, the per-user buttons, the Deny button, `login_hint` and auto-login.
 * Consent is always granted without a page. Every form posts under `/interaction/<uid>`, the path
 * of the interaction cookie (machine-notes.md, gotcha 2).
 */
import { timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Provider } from 'oidc-provider';
import { z } from 'zod';
import type { Logger } from '../common/logger.ts';
import { errorPage, loginPage } from './pages.ts';
import type { UserDirectory } from './user-directory.ts';
import { type MockUser, subjectOf } from './users.ts';

export interface InteractionDeps {
  provider(): Provider;
  users: UserDirectory;
  /** Username that is signed in at once for every authorization, if any. */
  autoLogin(): string | undefined;
  logger: Logger;
}

const loginForm = z.object({
  method: z.enum(['quick', 'password']).default('password'),
  username: z.string().trim().min(1, 'Username is required'),
  password: z.string().optional(),
});

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

/** How a user is signed in without the login page. */
export type SignedInVia = 'auto-login' | 'login_hint';

/**
 * Who signs in without the login page: the auto-login user, else the user a `login_hint` names.
 * `user` is absent when that username names nobody (the login page then says so). Undefined when
 * neither applies: the login page is shown.
 */
export function userWithoutPage(
  deps: Pick<InteractionDeps, 'users' | 'autoLogin'>,
  loginHint: unknown,
): { username: string; user: MockUser | undefined; via: SignedInVia } | undefined {
  const auto = deps.autoLogin();
  const hint = typeof loginHint === 'string' ? loginHint : undefined;
  const username = auto ?? hint;
  if (username === undefined) return undefined;
  return { username, user: deps.users.get(username), via: auto !== undefined ? 'auto-login' : 'login_hint' };
}

export function interactionRouter(deps: InteractionDeps): Router {
  const router = express.Router();
  const urlencoded = express.urlencoded({ extended: false, limit: '16kb' });

  router.get('/interaction/:uid', async (req, res) => {
    const provider = deps.provider();
    const details = await provider.interactionDetails(req, res);
    if (details.prompt.name !== 'login') {
      await finishConsent(provider, req, res, details);
      return;
    }
    const wanted = userWithoutPage(deps, details.params['login_hint']);
    if (wanted?.user) {
      deps.logger.info('interaction.login', { uid: details.uid, username: wanted.user.username, via: wanted.via });
      await finishLogin(provider, req, res, details, wanted.user);
      return;
    }
    if (wanted) {
      sendLoginPage(res, 400, details, deps, `No user named "${wanted.username}".`, wanted.username);
      return;
    }
    sendLoginPage(res, 200, details, deps);
  });

  router.post('/interaction/:uid/login', urlencoded, async (req, res) => {
    const provider = deps.provider();
    const details = await provider.interactionDetails(req, res);
    const form = loginForm.safeParse(req.body ?? {});
    if (!form.success) {
      sendLoginPage(res, 400, details, deps, form.error.issues.map((i) => i.message).join('; '));
      return;
    }
    const { method, username, password } = form.data;
    const user = deps.users.get(username);
    if (!user) {
      sendLoginPage(res, 401, details, deps, `No user named "${username}".`, username);
      return;
    }
    // The per-user buttons are a testing shortcut and skip the password; the form checks it.
    if (method === 'password' && !passwordAccepted(user, password ?? '')) {
      deps.logger.info('interaction.login_refused', { uid: details.uid, username, reason: 'wrong password' });
      sendLoginPage(res, 401, details, deps, 'Wrong username or password.', username);
      return;
    }
    deps.logger.info('interaction.login', { uid: details.uid, username, via: method });
    await finishLogin(provider, req, res, details, user);
  });

  router.post('/interaction/:uid/deny', async (req, res) => {
    const provider = deps.provider();
    const details = await provider.interactionDetails(req, res);
    deps.logger.info('interaction.denied', { uid: details.uid });
    // OpenID Connect Core section 3.1.2.6: the client gets error=access_denied at its redirect URI.
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'The user denied the sign-in request' },
      { mergeWithLastSubmission: false },
    );
  });

  router.use('/interaction', interactionErrorHandler(deps.logger));
  return router;
}

/** Users without a password accept any password. */
function passwordAccepted(user: MockUser, given: string): boolean {
  if (user.password === undefined) return true;
  const expected = Buffer.from(user.password);
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * Sign the user in and, in the same step, consent to the OpenID scopes the client asked for: the
 * browser goes straight back to the client, as from an IdP that remembers the user's consent (two
 * redirects and two requests fewer per login than a separate consent step). A request the grant
 * does not cover (a `claims` parameter, offline_access) still gets the consent step below.
 */
async function finishLogin(
  provider: Provider,
  req: Request,
  res: Response,
  details: Details,
  user: MockUser,
): Promise<void> {
  const accountId = subjectOf(user);
  const grant = new provider.Grant({ accountId, clientId: String(details.params['client_id'] ?? '') });
  const scope = details.params['scope'];
  if (typeof scope === 'string') grant.addOIDCScope(scope);
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

/** Grant whatever the client asked for (oidc-provider's consent prompt details). */
async function finishConsent(provider: Provider, req: Request, res: Response, details: Details): Promise<void> {
  const accountId = details.session?.accountId;
  const clientId = String(details.params['client_id'] ?? '');
  const grant =
    (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
    new provider.Grant({ accountId, clientId });
  const missing = details.prompt.details;
  if (Array.isArray(missing['missingOIDCScope'])) grant.addOIDCScope(missing['missingOIDCScope'].join(' '));
  if (Array.isArray(missing['missingOIDCClaims'])) grant.addOIDCClaims(missing['missingOIDCClaims'].map(String));
  const resourceScopes = missing['missingResourceScopes'];
  if (typeof resourceScopes === 'object' && resourceScopes !== null) {
    for (const [indicator, scopes] of Object.entries(resourceScopes)) {
      if (Array.isArray(scopes)) grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

function sendLoginPage(
  res: Response,
  status: number,
  details: Details,
  deps: InteractionDeps,
  error?: string,
  username?: string,
): void {
  res
    .status(status)
    .type('html')
    .send(
      loginPage({
        uid: details.uid,
        clientId: String(details.params['client_id'] ?? ''),
        usernames: deps.users.usernames(),
        ...(error !== undefined ? { error } : {}),
        ...(username !== undefined ? { username } : {}),
      }),
    );
}

/**
 * An interaction that is unknown or expired (SessionNotFound, no cookie) is the user's problem, not
 * the server's: answer 400 with a page saying so. Express 5 passes rejected promises here.
 */
function interactionErrorHandler(logger: Logger) {
  return (error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const known = oidcErrorOf(error);
    logger.warn('interaction.error', { error: known?.error ?? 'server_error', status: known?.status ?? 500 });
    if (res.headersSent) return;
    const status = known?.status ?? 500;
    res
      .status(status)
      .type('html')
      .send(
        errorPage('Sign-in failed', {
          error: known?.error ?? 'server_error',
          error_description: known?.description ?? 'The mock IdP could not handle this sign-in step.',
        }),
      );
  };
}

/** oidc-provider errors carry `error` (+ `error_description`); body-parser errors only a 4xx `status`. */
const clientError = z.object({
  status: z.number().int().min(400).max(499),
  error: z.string().optional(),
  error_description: z.string().optional(),
});

function oidcErrorOf(error: unknown): { status: number; error: string; description?: string } | undefined {
  const parsed = clientError.safeParse(error);
  if (!parsed.success) return undefined;
  return {
    status: parsed.data.status,
    error: parsed.data.error ?? 'invalid_request',
    ...(parsed.data.error_description !== undefined ? { description: parsed.data.error_description } : {}),
  };
}
