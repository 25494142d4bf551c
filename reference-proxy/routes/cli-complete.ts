/**
 * POST /sso/cli/complete/{login_id} (docs/contract.md section 2): the browser posts the
 * verification code the terminal shows, with the one-time browser token from the callback's form.
 * Both must match their hashes; then the flow is `user_code_verified` and the next poll gets the
 * key.
 *
 * Reference choice: 5 failed verifications delete the flow (LiteLLM has no limit).
 */
import type { RequestHandler } from 'express';
import { isValidLoginId, normalizeUserCode } from '../../protocol/cli-sso.ts';
import { CLI_SSO_MESSAGES, detailBody } from '../../protocol/errors.ts';
import { cliLoginSuccessPage } from '../pages.ts';
import type { ProxyContext } from '../proxy-context.ts';
import { matchesHash } from '../secrets.ts';
import { guardStore } from '../store-errors.ts';

export const MAX_FAILED_CODE_ATTEMPTS = 5;

type Outcome = 'unknown' | 'not_ready' | 'wrong_code' | 'deleted_after_wrong_codes' | 'verified' | 'already_verified';

export function cliComplete(ctx: ProxyContext): RequestHandler {
  return async (req, res) => {
    const loginId = req.params['loginId'];
    if (!isValidLoginId(loginId)) {
      res.status(400).json(detailBody(CLI_SSO_MESSAGES.invalidSession));
      return;
    }
    const form = readForm(req.body);
    const userCode = form.get('user_code') ?? '';
    const browserToken = form.get('browser_complete_token') ?? undefined;

    const outcome = await guardStore(ctx.flowStoreName, () =>
      ctx.flows.update<Outcome>(loginId, (flow) => {
        if (!flow) return { keep: true, result: 'unknown' };
        if (flow.status === 'pending') return { keep: true, result: 'not_ready' };
        const codeMatches = matchesHash(normalizeUserCode(userCode), flow.userCodeHash);
        const tokenMatches = matchesHash(browserToken, flow.browserTokenHash ?? undefined);
        if (!codeMatches || !tokenMatches) {
          const failed = flow.failedCodeAttempts + 1;
          return failed >= MAX_FAILED_CODE_ATTEMPTS
            ? { delete: true, result: 'deleted_after_wrong_codes' }
            : { write: { ...flow, failedCodeAttempts: failed }, result: 'wrong_code' };
        }
        if (flow.status === 'user_code_verified') return { keep: true, result: 'already_verified' };
        return { write: { ...flow, status: 'user_code_verified' }, result: 'verified' };
      }),
    );

    switch (outcome) {
      case 'unknown':
        res.status(400).json(detailBody(CLI_SSO_MESSAGES.invalidSession));
        return;
      case 'not_ready':
        res.status(400).json(detailBody(CLI_SSO_MESSAGES.notReady));
        return;
      case 'wrong_code':
      case 'deleted_after_wrong_codes':
        ctx.logger.warn(outcome === 'wrong_code' ? 'flow_code_rejected' : 'flow_deleted_after_wrong_codes', {
          login_id: loginId,
        });
        res.status(400).json(detailBody(CLI_SSO_MESSAGES.invalidCode));
        return;
      case 'verified':
      case 'already_verified':
        if (outcome === 'verified') ctx.logger.info('flow_code_verified', { login_id: loginId });
        res.status(200).type('html').set('cache-control', 'no-store').send(cliLoginSuccessPage());
        return;
    }
  };
}

/** The body as form data whatever its content type (section 2); anything else reads as empty. */
function readForm(body: unknown): URLSearchParams {
  return new URLSearchParams(typeof body === 'string' ? body : '');
}
