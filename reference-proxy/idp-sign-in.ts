/**
 * The part of GET /sso/callback that both branches share (docs/contract.md section 2): read the
 * IdP's answer, exchange the code, build the identity (section 4) and attribution metadata
 * (section 5), check ALLOWED_EMAIL_DOMAINS and upsert the user.
 *
 * Plain logic: it takes what the callback carried and returns who signed in, or throws a
 * SignInError saying why the login cannot go on; the callback route turns that into its answer.
 */
import { buildAttributionMetadata, type MetadataScalar, nestAttributionMetadata } from '../protocol/claim-map.ts';
import { buildIdentity, captureExtraAttributes, type IdpIdentity, isEmailDomainAllowed } from './identity.ts';
import { fetchUserinfoForCode, IdpError } from './idp-client.ts';
import type { ProxyContext } from './proxy-context.ts';
import type { UserRecord } from './user-store.ts';

export interface IdpLogin {
  identity: IdpIdentity;
  user: UserRecord;
  /** Flat attribution metadata for the poll answer (section 5). */
  attribution: Record<string, MetadataScalar>;
}

/** What the IdP's redirect to the callback carried, and what the code is redeemed with. */
export interface IdpCallback {
  /** The `error` query parameter (RFC 6749 section 4.1.2.1), when the IdP refused. */
  error: string | undefined;
  /** The `error_description` query parameter, which may come with `error`. */
  errorDescription: string | undefined;
  /** The `code` query parameter. */
  code: string | undefined;
  /** The redirect_uri the authorization request used; the token request repeats it. */
  redirectUri: string;
  /** PKCE code_verifier (RFC 7636), or null without PKCE. */
  pkceVerifier: string | null;
}

/** Why a sign-in cannot go on. */
export type SignInFailure =
  /** The IdP sent an `error` instead of a code (e.g. access_denied). */
  | 'idp_refused'
  /** No code, or an empty one. */
  | 'missing_code'
  /** The IdP refused the code exchange or the userinfo request. */
  | 'idp_rejected'
  /** The IdP could not be reached, or answered something unusable. */
  | 'idp_unreachable'
  /** Userinfo holds no usable identity (section 4). */
  | 'identity_refused'
  /** ALLOWED_EMAIL_DOMAINS does not let this user in. */
  | 'email_domain_refused';

/** A sign-in that cannot go on; `message` is safe to show the browser. */
export class SignInError extends Error {
  constructor(
    readonly failure: SignInFailure,
    message: string,
  ) {
    super(message);
    this.name = 'SignInError';
  }
}

/**
 * Read the IdP's answer, exchange the code, check the identity and upsert the user. Throws
 * SignInError when the login cannot go on (each refusal is logged with `logFields`); a store that
 * cannot be reached throws StoreUnavailableError.
 */
export async function signInAtIdp(
  ctx: ProxyContext,
  callback: IdpCallback,
  logFields: Record<string, unknown>,
): Promise<IdpLogin> {
  if (callback.error !== undefined) {
    // RFC 6749 section 4.1.2.1: the IdP refused (e.g. access_denied); the flow stays as it was.
    ctx.logger.warn('idp_login_refused', { ...logFields, error: callback.error });
    // litellm-v4 words it as LiteLLM's newest callback does (docs/contract.md section 10.4).
    // mutation-equivalent: only words the refusal's message; the suite judges its status (CLISSO-CALLBACK-02)
    const description = callback.errorDescription ? `, error_description: ${callback.errorDescription}` : '';
    throw new SignInError(
      'idp_refused',
      ctx.config.profile === 'litellm-v3'
        ? `SSO login failed at the identity provider: ${callback.error}`
        : `OAuth error: ${callback.error}${description}`,
    );
  }
  const code = callback.code;
  // mutation-equivalent: an empty code sent on to the IdP is refused there: the callback still answers a 4xx
  // and completes nothing (CLISSO-CALLBACK-02)
  if (code === undefined || code === '') {
    throw new SignInError(
      'missing_code',
      'Missing authorization code: the callback needs a single "code" query parameter',
    );
  }
  let userinfo: Record<string, unknown>;
  try {
    userinfo = await fetchUserinfoForCode(ctx.config.idp, {
      code,
      redirectUri: callback.redirectUri,
      codeVerifier: callback.pkceVerifier,
    });
  } catch (error) {
    // mutation-equivalent: the contract does not judge the status of a sign-in whose IdP exchange failed
    // (CLISSO-CALLBACK-02: a 502 is fair, a 500 from the error answer too), only that no page and no key follow
    if (!(error instanceof IdpError)) throw error;
    ctx.logger.warn('idp_exchange_failed', { ...logFields, reason: error.message });
    throw new SignInError(
      error.kind === 'rejected' ? 'idp_rejected' : 'idp_unreachable',
      `SSO login failed: ${error.message}`,
    );
  }

  const built = buildIdentity(userinfo, ctx.config.identity);
  if (!built.ok) {
    ctx.logger.warn('identity_refused', { ...logFields, reason: built.reason });
    throw new SignInError('identity_refused', `SSO login failed: ${built.reason}`);
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
    throw new SignInError('email_domain_refused', `ALLOWED_EMAIL_DOMAINS does not let in ${whose}`);
  }
  const captured = captureExtraAttributes(userinfo, ctx.config.identity.extra);
  const rules = ctx.config.claimRules;
  const attribution = buildAttributionMetadata(ctx.config.claimMap, captured, rules);
  const user = await ctx.users.upsertLogin(identity, nestAttributionMetadata(attribution, rules), ctx.clock.nowMs());
  ctx.logger.info('user_upserted', { ...logFields, user_id: user.userId, role: user.role });
  return { identity, user, attribution };
}
