/**
 * POST /sso/cli/complete/{login_id} (docs/contract.md section 2): the browser posts the
 * verification code the terminal shows, with the one-time browser token from the callback's form.
 * Both must match their hashes; then the flow is `user_code_verified` and the next poll gets the
 * key.
 *
 * Reference choice: 5 wrong codes from the flow's own browser delete the flow (LiteLLM has no
 * limit); posts without the browser token, and anything after the code was confirmed, do not count.
 */
import type { RequestHandler } from 'express';
import { isValidLoginId, normalizeUserCode } from '../../protocol/cli-sso.ts';
import { CLI_SSO_MESSAGES } from '../../protocol/errors.ts';
import { detailError } from '../http-errors.ts';
import { cliLoginSuccessPage, PAGE_SECURITY_HEADERS } from '../pages.ts';
import type { ProxyContext } from '../proxy-context.ts';
import { matchesHash } from '../secrets.ts';

export const MAX_FAILED_CODE_ATTEMPTS = 5;

type Outcome =
  | 'unknown'
  | 'not_ready'
  | 'not_this_browser'
  | 'wrong_code'
  | 'wrong_code_after_verification'
  | 'deleted_after_wrong_codes'
  | 'verified'
  | 'already_verified';

export function cliComplete(ctx: ProxyContext): RequestHandler {
  return async (req, res) => {
    const loginId = req.params['loginId'];
    if (!isValidLoginId(loginId)) throw detailError(400, CLI_SSO_MESSAGES.invalidSession);
    const form = readForm(req.body);
    const userCode = form.get('user_code') ?? '';
    const browserToken = form.get('browser_complete_token') ?? undefined;

    const outcome = await ctx.flows.update<Outcome>(loginId, (flow) => {
      if (!flow) return { keep: true, result: 'unknown' };
      if (flow.status === 'pending') return { keep: true, result: 'not_ready' };
      // Only the browser the callback sent through this flow holds its token. A post without it
      // is refused and counts for nothing, so a stranger who knows the login id cannot spend the
      // five attempts and end someone else's login (CLISSO-COMPLETE-07).
      if (!matchesHash(browserToken, flow.browserTokenHash ?? undefined))
        return { keep: true, result: 'not_this_browser' };
      const codeMatches = matchesHash(normalizeUserCode(userCode), flow.userCodeHash);
      // Once the code is confirmed nothing counts any more: the flow only waits for its poll.
      if (flow.status === 'user_code_verified') {
        return { keep: true, result: codeMatches ? 'already_verified' : 'wrong_code_after_verification' };
      }
      if (!codeMatches) {
        const failed = flow.failedCodeAttempts + 1;
        return failed >= MAX_FAILED_CODE_ATTEMPTS
          ? { delete: true, result: 'deleted_after_wrong_codes' }
          : { write: { ...flow, failedCodeAttempts: failed }, result: 'wrong_code' };
      }
      return { write: { ...flow, status: 'user_code_verified' }, result: 'verified' };
    });

    switch (outcome) {
      case 'unknown':
        throw detailError(400, CLI_SSO_MESSAGES.invalidSession);
      case 'not_ready':
        throw detailError(400, CLI_SSO_MESSAGES.notReady);
      case 'not_this_browser':
      case 'wrong_code':
      case 'wrong_code_after_verification':
      case 'deleted_after_wrong_codes':
        ctx.logger.warn(
          outcome === 'deleted_after_wrong_codes' ? 'flow_deleted_after_wrong_codes' : 'flow_code_rejected',
          {
            login_id: loginId,
            reason: REJECTION_REASONS[outcome],
          },
        );
        throw detailError(400, CLI_SSO_MESSAGES.invalidCode);
      case 'verified':
      case 'already_verified':
        if (outcome === 'verified') ctx.logger.info('flow_code_verified', { login_id: loginId });
        res.status(200).type('html').set(PAGE_SECURITY_HEADERS).send(cliLoginSuccessPage());
        return;
    }
  };
}

const REJECTION_REASONS = {
  not_this_browser: 'no browser token of this flow (not counted)',
  wrong_code: 'wrong code',
  wrong_code_after_verification: 'wrong code after the code was confirmed (not counted)',
  deleted_after_wrong_codes: 'wrong code, the last one allowed',
} as const;

/** The body as form data whatever its content type (section 2); anything else reads as empty. */
function readForm(body: unknown): URLSearchParams {
  return new URLSearchParams(typeof body === 'string' ? body : '');
}
