/**
 * The PKCE-native login (docs/contract.md section 10.6): a small OAuth 2.1
 * authorization server inside the gateway for public CLI clients. Discovery, stateless
 * registration, authorize through the gateway's SSO sign-in and a consent page, the token endpoint
 * with refresh-token rotation, and revocation. Every error is an OAuth `{"error",
 * "error_description"}` body thrown to the gateway's one error handler (http-errors.ts).
 */
import express, { type RequestHandler } from 'express';
import { detailError, oauthError, STORE_RETRY_AFTER_SECONDS } from '../http-errors.ts';
import type { ProxyContext } from '../proxy-context.ts';
import { publicBaseUrl } from '../request-helpers.ts';
import { StoreUnavailableError } from '../store-errors.ts';
import { authorize, authorizeComplete } from './authorize.ts';
import { GRANT_TYPES, register } from './clients.ts';
import { NATIVE_LOGIN_PATHS } from './paths.ts';
import { Seals } from './seals.ts';
import { revoke, token } from './token.ts';

export { NATIVE_LOGIN_PATHS } from './paths.ts';

/** The discovery document's version: it changes only when a field changes meaning or goes away. */
export const NATIVE_LOGIN_CONTRACT_VERSION = 1;

/** Registrations, forms and token requests are small; anything larger is refused with 413. */
const BODY_LIMIT = '16kb';

/**
 * GET /.well-known/litellm-cli-auth: what a CLI needs to log in, all under the gateway's public
 * base URL (PROXY_BASE_URL, a path prefix included), so a CLI can check it talks to the gateway it
 * was pointed at.
 */
function discovery(ctx: ProxyContext): RequestHandler {
  return (req, res) => {
    const base = publicBaseUrl(req, ctx.config);
    res.set('cache-control', 'no-store').json({
      contract_version: NATIVE_LOGIN_CONTRACT_VERSION,
      issuer: base,
      authorization_endpoint: `${base}${NATIVE_LOGIN_PATHS.authorize}`,
      token_endpoint: `${base}${NATIVE_LOGIN_PATHS.token}`,
      registration_endpoint: `${base}${NATIVE_LOGIN_PATHS.register}`,
      revocation_endpoint: `${base}${NATIVE_LOGIN_PATHS.revoke}`,
      resource: base,
      response_types_supported: ['code'],
      grant_types_supported: GRANT_TYPES,
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['none'],
      revocation_endpoint_auth_methods_supported: ['none'],
    });
  };
}

/**
 * A store that cannot be reached is 503 `temporarily_unavailable` here (an OAuth client reads no
 * `detail`), with Retry-After; everything else goes on to the one error handler as it is.
 */
function oauthStoreErrors(ctx: ProxyContext, handler: RequestHandler): RequestHandler {
  return async (req, res, next) => {
    try {
      await handler(req, res, next);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      ctx.logger.error('store_unavailable', { store: error.store, path: req.path });
      throw oauthError(503, 'temporarily_unavailable', `the ${error.store} cannot be reached; try again shortly`, {
        'retry-after': String(STORE_RETRY_AFTER_SECONDS),
      });
    }
  };
}

/** Register the PKCE-native login's routes (and their 405s) on the gateway's app. */
export function mountNativeLogin(app: express.Express, ctx: ProxyContext): void {
  const seals = new Seals(ctx.config.signingSecret, ctx.clock);
  const form = express.urlencoded({ extended: false, type: () => true, limit: BODY_LIMIT });
  const json = express.text({ type: () => true, limit: BODY_LIMIT, defaultCharset: 'utf-8' });
  const P = NATIVE_LOGIN_PATHS;
  app.get(P.discovery, discovery(ctx));
  app.post(P.register, json, oauthStoreErrors(ctx, register(ctx, seals)));
  app.get(P.authorize, oauthStoreErrors(ctx, authorize(ctx, seals)));
  app.post(P.complete, form, oauthStoreErrors(ctx, authorizeComplete(ctx, seals)));
  app.post(P.token, form, oauthStoreErrors(ctx, token(ctx, seals)));
  app.post(P.revoke, form, oauthStoreErrors(ctx, revoke(ctx, seals)));
  for (const [paths, allow] of [
    [[P.register, P.complete, P.token, P.revoke], 'POST'],
    [[P.discovery, P.authorize], 'GET, HEAD'],
  ] as const) {
    app.all([...paths], () => {
      throw detailError(405, 'Method Not Allowed', { allow });
    });
  }
}
