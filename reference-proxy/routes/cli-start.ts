/**
 * POST /sso/cli/start (docs/contract.md section 2): create a flow and hand the CLI its login id,
 * poll secret and verification code. Only hashes of the secret and the code are stored.
 */
import type { RequestHandler } from 'express';
import { FLOW_TTL_SECONDS, formatUserCode, serializeStartAnswer } from '../../protocol/cli-sso.ts';
import { CLI_SSO_MESSAGES } from '../../protocol/errors.ts';
import { attachLogin } from '../admission.ts';
import { detailError } from '../http-errors.ts';
import type { ProxyContext } from '../proxy-context.ts';
import { clientIp } from '../request-helpers.ts';
import { newLoginId, newSecretToken, newUserCode, sha256Hex, userCodeHash } from '../secrets.ts';

export function cliStart(ctx: ProxyContext): RequestHandler {
  return async (req, res) => {
    const ip = clientIp(req);
    const decision = await ctx.startLimit.tryStart(ip);
    if (!decision.allowed) {
      ctx.logger.warn('cli_start_rate_limited', { client_ip: ip, retry_after_s: decision.retryAfterSeconds });
      // Retry-After (RFC 6585 section 4): when the oldest start leaves the window (CLISSO-START-09).
      throw detailError(429, CLI_SSO_MESSAGES.tooManyStarts, { 'retry-after': String(decision.retryAfterSeconds) });
    }
    const loginId = newLoginId();
    const pollSecret = newSecretToken();
    const userCode = newUserCode();
    await ctx.flows.create({
      loginId,
      status: 'pending',
      pollSecretHash: sha256Hex(pollSecret),
      userCodeHash: userCodeHash(userCode),
      browserTokenHash: null,
      pkceVerifier: null,
      failedCodeAttempts: 0,
      session: null,
      createdAtMs: ctx.clock.nowMs(),
    });
    attachLogin(res, loginId);
    ctx.logger.info('flow_created', { login_id: loginId, client_ip: ip, expires_in: FLOW_TTL_SECONDS });
    res.json(
      serializeStartAnswer({
        loginId,
        pollSecret,
        userCode: formatUserCode(userCode),
        expiresInSeconds: FLOW_TTL_SECONDS,
      }),
    );
  };
}
