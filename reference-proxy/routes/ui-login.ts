/**
 * The admin UI login (docs/contract.md section 7): the callback branch for a state that is not a
 * CLI login, and GET /ui/, a small page that shows who is signed in and when the session ends
 * (10 minutes under EXPERIMENTAL_UI_LOGIN, else LITELLM_UI_SESSION_DURATION).
 */
import type { Request, RequestHandler, Response } from 'express';
import { CLI_SSO_PATHS } from '../../protocol/cli-sso.ts';
import { detailError } from '../http-errors.ts';
import type { IdpLogin } from '../idp-sign-in.ts';
import { PAGE_SECURITY_HEADERS, uiHomePage } from '../pages.ts';
import type { ProxyContext } from '../proxy-context.ts';
import { publicBaseUrl, readCookie } from '../request-helpers.ts';
import { UI_LOGIN_STATE_COOKIE, UI_SESSION_COOKIE, type UiLoginState } from '../ui-session.ts';

export const UI_HOME_PATH = '/ui/';

/**
 * The callback's state checked against the signed cookie this browser got when it started the UI
 * login; returns that login's state: the PKCE verifier to redeem the code with, where to go after.
 */
export async function uiLoginState(ctx: ProxyContext, req: Request, state: string): Promise<UiLoginState> {
  const expected = await ctx.uiSessions.readLoginState(readCookie(req, UI_LOGIN_STATE_COOKIE));
  if (!expected || state === '' || expected.state !== state) {
    // RFC 6749 section 10.12: a callback this browser did not start is refused (login CSRF).
    throw detailError(400, 'Invalid SSO state: start the login again from /sso/key/generate');
  }
  return expected;
}

/**
 * After the sign-in: the session cookie, and on to the UI's page, or to the gateway page the login
 * was started for (`returnTo`, a path under the public base URL, checked when the login started).
 */
export async function startUiSession(
  ctx: ProxyContext,
  req: Request,
  res: Response,
  login: IdpLogin,
  returnTo: string | null = null,
): Promise<void> {
  const { cookie, session } = await ctx.uiSessions.createSession({
    userId: login.user.userId,
    email: login.user.email,
    role: login.user.role,
  });
  const secure = req.protocol === 'https';
  // Cleared at the path it was set at: the callback's under the public base URL (sso-key-generate.ts).
  const statePath = new URL(`${publicBaseUrl(req, ctx.config)}${CLI_SSO_PATHS.callback}`).pathname;
  res.clearCookie(UI_LOGIN_STATE_COOKIE, { path: statePath, httpOnly: true, sameSite: 'lax', secure });
  res.cookie(UI_SESSION_COOKIE, cookie, {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    maxAge: ctx.uiSessions.sessionSeconds * 1000,
    secure,
  });
  ctx.logger.info('ui_session_started', {
    user_id: session.userId,
    session_seconds: ctx.uiSessions.sessionSeconds,
    expires_at: new Date(session.expiresAtMs).toISOString(),
  });
  res.redirect(303, returnTo === null ? UI_HOME_PATH : `${publicBaseUrl(req, ctx.config)}${returnTo}`);
}

export function uiHome(ctx: ProxyContext): RequestHandler {
  return async (req, res) => {
    const session = await ctx.uiSessions.readSession(readCookie(req, UI_SESSION_COOKIE));
    res
      .status(session ? 200 : 401)
      .type('html')
      .set(PAGE_SECURITY_HEADERS)
      .send(uiHomePage(session && { ...session, nowMs: ctx.clock.nowMs() }, CLI_SSO_PATHS.browserEntry));
  };
}
