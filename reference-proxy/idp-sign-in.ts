/**
 * The part of GET /sso/callback that both branches share (docs/contract.md section 2): read the
 * IdP's answer, exchange the code, build the identity (section 4) and attribution metadata
 * (section 5), check ALLOWED_EMAIL_DOMAINS and upsert the user.
 */
import type { Request, Response } from 'express';
import { buildAttributionMetadata, type MetadataScalar, nestAttributionMetadata } from '../protocol/claim-map.ts';
import { CLI_SSO_PATHS } from '../protocol/cli-sso.ts';
import { detailBody } from '../protocol/errors.ts';
import { buildIdentity, captureExtraAttributes, type IdpIdentity, isEmailDomainAllowed } from './identity.ts';
import { fetchUserinfoForCode, IdpError } from './idp-client.ts';
import type { ProxyContext } from './proxy-context.ts';
import { publicBaseUrl, queryString } from './request-helpers.ts';
import type { UserRecord } from './user-store.ts';

export interface IdpLogin {
  identity: IdpIdentity;
  user: UserRecord;
  /** Flat attribution metadata for the poll answer (section 5). */
  attribution: Record<string, MetadataScalar>;
}

/**
 * The part both branches share: read the IdP's answer, exchange the code, check the identity and
 * upsert the user. Answers the request itself and returns undefined when the login cannot go on.
 */
export async function signInAtIdp(
  ctx: ProxyContext,
  req: Request,
  res: Response,
  pkceVerifier: string | null,
  logFields: Record<string, unknown>,
): Promise<IdpLogin | undefined> {
  const idpError = queryString(req, 'error');
  if (idpError !== undefined) {
    // RFC 6749 section 4.1.2.1: the IdP refused (e.g. access_denied); the flow stays as it was.
    ctx.logger.warn('idp_login_refused', { ...logFields, error: idpError });
    res.status(400).json(detailBody(`SSO login failed at the identity provider: ${idpError}`));
    return undefined;
  }
  const code = queryString(req, 'code');
  if (code === undefined || code === '') {
    // mutation-equivalent: the contract asks for an error page or any 4xx here (CLISSO-CALLBACK-02); 401 instead of 400 is as conformant
    res.status(400).json(detailBody('Missing authorization code: the callback needs a single "code" query parameter'));
    return undefined;
  }
  let userinfo: Record<string, unknown>;
  try {
    userinfo = await fetchUserinfoForCode(ctx.config.idp, {
      code,
      redirectUri: `${publicBaseUrl(req, ctx.config)}${CLI_SSO_PATHS.callback}`,
      codeVerifier: pkceVerifier,
    });
  } catch (error) {
    if (!(error instanceof IdpError)) throw error;
    ctx.logger.warn('idp_exchange_failed', { ...logFields, reason: error.message });
    // mutation-equivalent: the contract asks for an error page or a 4xx when the IdP fails and judges no status
    // there (a 502 for an IdP that fails is fair): 400 or 502 either way conforms
    res.status(error.kind === 'rejected' ? 400 : 502).json(detailBody(`SSO login failed: ${error.message}`));
    return undefined;
  }

  const built = buildIdentity(userinfo, ctx.config.identity);
  if (!built.ok) {
    // mutation-equivalent: any 4xx is conformant here (CLISSO-IDENTITY-06); 401 instead of 400 is as conformant
    ctx.logger.warn('identity_refused', { ...logFields, reason: built.reason });
    res.status(400).json(detailBody(`SSO login failed: ${built.reason}`));
    return undefined;
  }
  const identity = built.identity;
  if (identity.emailNotUsed !== null) {
    ctx.logger.warn('email_not_used', { ...logFields, user_id: identity.userId, reason: identity.emailNotUsed });
  }
  if (!isEmailDomainAllowed(identity.email, ctx.config.allowedEmailDomains)) {
    ctx.logger.warn('email_domain_refused', { ...logFields, user_id: identity.userId, email: identity.email });
    const whose =
      identity.emailNotUsed !== null
        ? `this user's email: ${identity.emailNotUsed}`
        : `the email domain of ${identity.email ?? '(no email)'}`;
    res.status(401).json(detailBody(`ALLOWED_EMAIL_DOMAINS does not let in ${whose}`));
    return undefined;
  }
  const captured = captureExtraAttributes(userinfo, ctx.config.identity.extra);
  const attribution = buildAttributionMetadata(ctx.config.claimMap, captured);
  const user = await ctx.users.upsertLogin(identity, nestAttributionMetadata(attribution), ctx.clock.nowMs());
  ctx.logger.info('user_upserted', { ...logFields, user_id: user.userId, role: user.role });
  return { identity, user, attribution };
}
