/**
 * GET /sso/callback?code&state (docs/contract.md section 2): the IdP sends the browser back here.
 * CLI branch (state `litellm-session-token:{login_id}`): exchange the code, read userinfo, build the
 * identity (section 4) and attribution metadata (section 5), upsert the user, mark the flow
 * `sso_complete` with a one-time browser token, and show the "Complete CLI Login" form.
 * Any other state: the admin UI login (section 7, ui-login.ts).
 *
 * Every check that needs no IdP runs before the code is exchanged, and an IdP failure never marks a
 * flow complete.
 */
import type { Request, RequestHandler } from 'express';
import {
  CLI_SSO_PATHS,
  CLI_STATE_PREFIX,
  DISPLAYED_USER_CODE_PATTERN,
  isValidLoginId,
} from '../../protocol/cli-sso.ts';
import { CLI_SSO_MESSAGES } from '../../protocol/errors.ts';
import type { ContractProfile } from '../../protocol/profiles.ts';
import { detailError } from '../http-errors.ts';
import { type IdpLogin, SignInError, type SignInFailure, signInAtIdp } from '../idp-sign-in.ts';
import { completeCliLoginPage, PAGE_SECURITY_HEADERS } from '../pages.ts';
import type { ProxyContext } from '../proxy-context.ts';
import { publicBaseUrl, queryString } from '../request-helpers.ts';
import { newSecretToken, sha256Hex } from '../secrets.ts';
import { startUiSession, uiLoginState } from './ui-login.ts';

export function ssoCallback(ctx: ProxyContext): RequestHandler {
  return async (req, res) => {
    const state = queryString(req, 'state') ?? '';
    if (!state.startsWith(CLI_STATE_PREFIX)) {
      const started = await uiLoginState(ctx, req, state);
      const login = await signIn(ctx, req, started.pkceVerifier, { flow: 'ui' });
      await startUiSession(ctx, req, res, login, started.returnTo);
      return;
    }
    // `<login_id>` or `<login_id>:<user_code>` (the code verification_uri_complete carried, section
    // 10.8); the code is only shown in the form, never checked or trusted here.
    const [loginId = '', prefilled] = state.slice(CLI_STATE_PREFIX.length).split(':', 2);
    const prefilledCode =
      ctx.config.verificationUriComplete && prefilled !== undefined && DISPLAYED_USER_CODE_PATTERN.test(prefilled)
        ? prefilled
        : undefined;
    const flow = isValidLoginId(loginId) ? await ctx.flows.get(loginId) : undefined;
    if (!flow || flow.status === 'user_code_verified') throw detailError(400, CLI_SSO_MESSAGES.invalidSession);
    const login = await signIn(ctx, req, flow.pkceVerifier, { login_id: loginId });

    const browserCompleteToken = newSecretToken();
    const marked = await ctx.flows.update(loginId, (current) =>
      !current || current.status === 'user_code_verified'
        ? { keep: true, result: false }
        : {
            write: {
              ...current,
              status: 'sso_complete',
              browserTokenHash: sha256Hex(browserCompleteToken),
              pkceVerifier: null,
              session: {
                userId: login.user.userId,
                userEmail: login.user.email,
                userRole: login.user.role,
                teams: login.user.teams,
                attributionMetadata: login.attribution,
              },
            },
            result: true,
          },
    );
    // mutation-equivalent: reached only by a callback racing the code confirmation between the read above and this update; it answers as the check above does
    if (!marked) throw detailError(400, CLI_SSO_MESSAGES.invalidSession);
    ctx.logger.info('flow_sso_complete', {
      login_id: loginId,
      user_id: login.user.userId,
      teams: login.user.teams,
      attribution_keys: Object.keys(login.attribution),
    });
    res
      .status(200)
      .type('html')
      .set(PAGE_SECURITY_HEADERS)
      .send(
        completeCliLoginPage({
          loginId,
          browserCompleteToken,
          userEmail: login.user.email,
          userId: login.user.userId,
          prefilledCode,
        }),
      );
  };
}

/**
 * How each refused sign-in is answered, with `{"detail": <its message>}`. The contract asks for an
 * error page or a 4xx at the callback and judges no exact status (CLISSO-CALLBACK-02,
 * CLISSO-IDENTITY-06); an IdP that cannot be reached is a bad gateway. An IdP `error=` is 400 under
 * litellm-v3 and 401 under litellm-v4, as each LiteLLM answers it (docs/contract.md section 10.4).
 */
function signInStatus(failure: SignInFailure, profile: ContractProfile): number {
  return failure === 'idp_refused' && profile === 'litellm-v4' ? 401 : SIGN_IN_STATUS[failure];
}

const SIGN_IN_STATUS: Readonly<Record<SignInFailure, number>> = {
  idp_refused: 400,
  // mutation-equivalent: the contract asks for an error page or any 4xx here (CLISSO-CALLBACK-02); 401 instead of 400 is as conformant
  missing_code: 400,
  // mutation-equivalent: the contract asks for an error page or a 4xx when the IdP fails and judges no status
  // there (a 502 for an IdP that fails is fair): 400 or 502 either way conforms
  idp_rejected: 400,
  // mutation-equivalent: as above
  idp_unreachable: 502,
  // mutation-equivalent: any 4xx is conformant here (CLISSO-IDENTITY-06); 401 instead of 400 is as conformant
  identity_refused: 400,
  email_domain_refused: 401,
};

/** Sign in with what the IdP's redirect carried; a refused sign-in is thrown as its HTTP answer. */
async function signIn(
  ctx: ProxyContext,
  req: Request,
  pkceVerifier: string | null,
  logFields: Record<string, unknown>,
): Promise<IdpLogin> {
  const callback = {
    error: queryString(req, 'error'),
    errorDescription: queryString(req, 'error_description'),
    code: queryString(req, 'code'),
    redirectUri: `${publicBaseUrl(req, ctx.config)}${CLI_SSO_PATHS.callback}`,
    pkceVerifier,
  };
  try {
    return await signInAtIdp(ctx, callback, logFields);
  } catch (error) {
    if (error instanceof SignInError) throw detailError(signInStatus(error.failure, ctx.config.profile), error.message);
    throw error;
  }
}
