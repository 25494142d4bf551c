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
import type { RequestHandler } from 'express';
import { CLI_STATE_PREFIX, isValidLoginId } from '../../protocol/cli-sso.ts';
import { CLI_SSO_MESSAGES, detailBody } from '../../protocol/errors.ts';
import { signInAtIdp } from '../idp-sign-in.ts';
import { completeCliLoginPage, PAGE_SECURITY_HEADERS } from '../pages.ts';
import type { ProxyContext } from '../proxy-context.ts';
import { queryString } from '../request-helpers.ts';
import { newSecretToken, sha256Hex } from '../secrets.ts';
import { guardStore } from '../store-errors.ts';
import { finishUiLogin } from './ui-login.ts';

export function ssoCallback(ctx: ProxyContext): RequestHandler {
  return async (req, res) => {
    const state = queryString(req, 'state') ?? '';
    if (!state.startsWith(CLI_STATE_PREFIX)) {
      await finishUiLogin(ctx, req, res, state);
      return;
    }
    const loginId = state.slice(CLI_STATE_PREFIX.length);
    const flow = isValidLoginId(loginId)
      ? await guardStore(ctx.flowStoreName, () => ctx.flows.get(loginId))
      : undefined;
    if (!flow || flow.status === 'user_code_verified') {
      res.status(400).json(detailBody(CLI_SSO_MESSAGES.invalidSession));
      return;
    }
    const login = await signInAtIdp(ctx, req, res, flow.pkceVerifier, { login_id: loginId });
    if (!login) return;

    const browserCompleteToken = newSecretToken();
    const marked = await guardStore(ctx.flowStoreName, () =>
      ctx.flows.update(loginId, (current) =>
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
      ),
    );
    // mutation-equivalent: reached only by a callback racing the code confirmation between the read above and this update; it answers as the check above does
    if (!marked) {
      res.status(400).json(detailBody(CLI_SSO_MESSAGES.invalidSession));
      return;
    }
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
        }),
      );
  };
}
