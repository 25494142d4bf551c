/**
 * POST /sso/cli/start (docs/contract.md section 2): create a flow and hand the CLI its login id,
 * poll secret and verification code. Only hashes of the secret and the code are stored.
 */
import type { RequestHandler } from 'express';
import { browserLoginUrl, FLOW_TTL_SECONDS, formatUserCode, serializeStartAnswer } from '../../protocol/cli-sso.ts';
import { CLI_SSO_MESSAGES } from '../../protocol/errors.ts';
import { attachLogin } from '../admission.ts';
import { detailError } from '../http-errors.ts';
import type { ProxyContext } from '../proxy-context.ts';
import { clientIp, publicBaseUrl } from '../request-helpers.ts';
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
      // mutation-equivalent: a flow without a session, absent or null, reads alike (`!flow.session`)
      session: null,
      createdAtMs: ctx.clock.nowMs(),
    });
    attachLogin(res, loginId);
    ctx.logger.info('flow_created', { login_id: loginId, client_ip: ip, expires_in: FLOW_TTL_SECONDS });
    const answer = serializeStartAnswer({
      loginId,
      pollSecret,
      userCode: formatUserCode(userCode),
      expiresInSeconds: FLOW_TTL_SECONDS,
    });
    res.json(
      ctx.config.verificationUriComplete
        ? withCompleteUri(answer, verificationUriComplete(req, ctx, loginId, formatUserCode(userCode)))
        : answer,
    );
  };
}

/**
 * The browser URL of docs/contract.md section 1 with the code added (section 10.8,
 * CLISSO-PREFILL-01): the public base URL and its path prefix kept, every value URL-encoded.
 */
function verificationUriComplete(
  req: Parameters<RequestHandler>[0],
  ctx: ProxyContext,
  loginId: string,
  userCode: string,
): string {
  const url = new URL(browserLoginUrl(publicBaseUrl(req, ctx.config), loginId));
  url.searchParams.set('user_code', userCode);
  return url.toString();
}

/** The start answer with `verification_uri_complete` placed before `expires_in`, as LiteLLM orders it. */
function withCompleteUri(answer: Record<string, unknown>, uri: string): Record<string, unknown> {
  const { expires_in, ...rest } = answer;
  return { ...rest, verification_uri_complete: uri, expires_in };
}
