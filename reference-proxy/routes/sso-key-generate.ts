/**
 * GET /sso/key/generate (docs/contract.md section 2): the browser's entry point. With
 * `source=litellm-cli` it starts the IdP login for an existing CLI flow; without it, the admin UI
 * login (section 7). A client-chosen key (`sk-...`, the first-generation flow) never starts a CLI
 * login: only a login id made by POST /sso/cli/start does, so an attacker cannot make a victim's
 * browser sign in to the attacker's session.
 */
import type { Request, RequestHandler } from 'express';
import {
  CLI_SOURCE,
  CLI_SSO_PATHS,
  CLI_STATE_PREFIX,
  DISPLAYED_USER_CODE_PATTERN,
  isValidLoginId,
} from '../../protocol/cli-sso.ts';
import { CLI_SSO_MESSAGES } from '../../protocol/errors.ts';
import { detailError } from '../http-errors.ts';
import { authorizationUrl, newPkce, type Pkce, pkceFor } from '../idp-client.ts';
import type { ProxyContext } from '../proxy-context.ts';
import { publicBaseUrl, queryParam } from '../request-helpers.ts';
import { newSecretToken } from '../secrets.ts';
import { isSafeReturnTo, RETURN_TO_MAX_LENGTH, UI_LOGIN_STATE_COOKIE, UI_LOGIN_STATE_SECONDS } from '../ui-session.ts';

export function ssoKeyGenerate(ctx: ProxyContext): RequestHandler {
  return async (req, res) => {
    const redirectUri = `${publicBaseUrl(req, ctx.config)}${CLI_SSO_PATHS.callback}`;
    if (queryParam(req, 'source') !== CLI_SOURCE) {
      await startUiLogin(ctx, redirectUri, returnToOf(req), res);
      return;
    }
    const loginId = queryParam(req, 'key');
    // One PKCE verifier per flow, made at the first visit and reused by later ones: a stranger who
    // opens the link between the person's visit and the IdP's callback must not replace the
    // verifier that the person's code will be redeemed with.
    // mutation-equivalent: a malformed login id is never a stored one: without this early answer the store
    // finds no flow and the browser gets the same 400 Invalid CLI login session
    if (!isValidLoginId(loginId)) throw detailError(400, CLI_SSO_MESSAGES.invalidSession);
    const found = await ctx.flows.update<Pkce | null | false>(loginId, (flow) => {
      // A verified flow only waits for its poll; a new IdP login must not replace its user.
      if (!flow || flow.status === 'user_code_verified') return { keep: true, result: false };
      if (!ctx.config.idp.usePkce) return { keep: true, result: null };
      if (flow.pkceVerifier !== null) return { keep: true, result: pkceFor(flow.pkceVerifier) };
      const pkce = newPkce();
      return { write: { ...flow, pkceVerifier: pkce.verifier }, result: pkce };
    });
    if (found === false) throw detailError(400, CLI_SSO_MESSAGES.invalidSession);
    const prefill = prefilledCodeOf(ctx, req);
    ctx.logger.info('flow_sent_to_idp', { login_id: loginId, pkce: found !== null, code_prefilled: prefill !== '' });
    res.redirect(
      303,
      authorizationUrl(ctx.config.idp, {
        redirectUri,
        state: `${CLI_STATE_PREFIX}${loginId}${prefill === '' ? '' : `:${prefill}`}`,
        codeChallenge: found?.challenge,
      }),
    );
  };
}

/**
 * The code that `verification_uri_complete` carries (docs/contract.md section 10.8), to show on the
 * completion page: read only when the setting is on and only in the exact `XXXX-XXXX` form of the
 * code alphabet (CLISSO-PREFILL-04); anything else is ignored, never an error. Empty for none.
 */
function prefilledCodeOf(ctx: ProxyContext, req: Request): string {
  if (!ctx.config.verificationUriComplete) return '';
  const code = queryParam(req, 'user_code');
  return typeof code === 'string' && DISPLAYED_USER_CODE_PATTERN.test(code) ? code : '';
}

/**
 * `return_to`: where the browser goes once signed in (the PKCE-native login's /authorize sends it
 * here and expects it back), a path under the gateway's base URL; anything else is refused, so the
 * sign-in is no open redirect.
 */
function returnToOf(req: Request): string | null {
  const value = queryParam(req, 'return_to');
  if (value === undefined) return null;
  // mutation-equivalent: the login state's reader checks return_to again (ui-session.ts) and the redirect is
  // built under the base URL, so a return_to let through here still never leads off the gateway
  // (CLISSO-NATIVE-17)
  if (typeof value !== 'string' || !isSafeReturnTo(value)) {
    // mutation-equivalent: CLISSO-NATIVE-17 lets a gateway refuse such a return_to with any 4xx, and the
    // message only words it
    throw detailError(
      400,
      `Invalid return_to: it must be one path on this gateway starting with a single "/" (at most ${RETURN_TO_MAX_LENGTH} characters)`,
    );
  }
  return value;
}

/** Section 7: the same IdP login for the admin UI; the state travels in a signed cookie. */
async function startUiLogin(
  ctx: ProxyContext,
  redirectUri: string,
  returnTo: string | null,
  res: Parameters<RequestHandler>[1],
): Promise<void> {
  const pkce = ctx.config.idp.usePkce ? newPkce() : undefined;
  const state = newSecretToken();
  const cookie = await ctx.uiSessions.createLoginState({ state, pkceVerifier: pkce?.verifier ?? null, returnTo });
  res.cookie(UI_LOGIN_STATE_COOKIE, cookie, {
    httpOnly: true,
    sameSite: 'lax',
    // The callback's own path: under a path prefix (PROXY_BASE_URL=https://host/litellm) the browser
    // comes back to /litellm/sso/callback, where a cookie of path /sso/callback is not sent.
    path: new URL(redirectUri).pathname,
    // mutation-equivalent: a millisecond more or less on the login-state cookie's lifetime is not observable
    maxAge: UI_LOGIN_STATE_SECONDS * 1000,
    secure: redirectUri.startsWith('https:'),
  });
  ctx.logger.info('ui_login_sent_to_idp', { pkce: pkce !== undefined, returns_to_gateway_page: returnTo !== null });
  res.redirect(303, authorizationUrl(ctx.config.idp, { redirectUri, state, codeChallenge: pkce?.challenge }));
}
