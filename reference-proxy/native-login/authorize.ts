/**
 * GET /authorize and POST /authorize/complete of the PKCE-native login (docs/contract.md
 * section 10.6).
 *
 * /authorize checks the request in a fixed order and answers every mistake with a 400 JSON body,
 * never a redirect: until the client and its redirect URI are known good, a redirect would hand an
 * error (and the browser) to whoever wrote the link (RFC 6749 section 4.1.2.1). A browser without a
 * session goes through the gateway's SSO sign-in and comes back; with one, it sees the consent page
 * carrying a sealed, short-lived flow handle bound to the signed-in user.
 *
 * /authorize/complete turns the person's decision into a redirect to the client: a code (sealed,
 * 120 s, single use at the token endpoint) or `error=access_denied`. Each flow handle is used once.
 */
import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import { nowSeconds } from '../../common/clock.ts';
import { CLI_SSO_PATHS } from '../../protocol/cli-sso.ts';
import { oauthError } from '../http-errors.ts';
import { consentPage, consentPageHeaders } from '../pages.ts';
import type { ProxyContext } from '../proxy-context.ts';
import { publicBaseUrl, readCookie } from '../request-helpers.ts';
import { isSafeReturnTo, RETURN_TO_MAX_LENGTH, UI_SESSION_COOKIE } from '../ui-session.ts';
import { openClient, unknownClient } from './clients.ts';
import { CODE_PREFIX, NATIVE_LOGIN_PATHS } from './paths.ts';
import { isLoopbackRedirect, isThisGateway } from './redirect-uris.ts';
import type { Seals } from './seals.ts';
import { formField, queryField, teamAliasOf } from './shared.ts';

/** How long a consent page may stay open before its flow handle expires. */
export const CONSENT_FLOW_SECONDS = 600;
/** How long an authorization code may wait for the token request. */
export const CODE_SECONDS = 120;
/** A PKCE S256 challenge: base64url of a SHA-256 digest, 43 characters (RFC 7636 section 4.2). */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const MAX_STATE_LENGTH = 1024;

export function authorize(ctx: ProxyContext, seals: Seals): RequestHandler {
  return async (req, res) => {
    const base = publicBaseUrl(req, ctx.config);
    const client = await openClient(seals, queryField(req, 'client_id'));
    if (!client) throw unknownClient(400);
    const redirectUri = queryField(req, 'redirect_uri');
    if (redirectUri === undefined || !client.redirectUris.includes(redirectUri)) {
      throw oauthError(400, 'invalid_request', 'redirect_uri must be exactly one of the URIs this client registered');
    }
    if (queryField(req, 'response_type') !== 'code') {
      throw oauthError(400, 'unsupported_response_type', "response_type must be 'code'");
    }
    const codeChallenge = queryField(req, 'code_challenge');
    if (queryField(req, 'code_challenge_method') !== 'S256' || !S256_CHALLENGE.test(codeChallenge ?? '')) {
      throw oauthError(
        400,
        'invalid_request',
        'PKCE with S256 is required: send a 43-character code_challenge and code_challenge_method=S256 (plain is refused)',
      );
    }
    const state = queryField(req, 'state') ?? '';
    if (state.length > MAX_STATE_LENGTH) {
      throw oauthError(400, 'invalid_request', `state must be at most ${MAX_STATE_LENGTH} characters`);
    }
    const resource = queryField(req, 'resource');
    if (resource !== undefined && !isThisGateway(resource, base)) {
      throw oauthError(400, 'invalid_target', `resource must be this gateway's API, ${base}`);
    }
    // A credential for the gateway's API goes only to a program on the person's own machine.
    if (!isLoopbackRedirect(redirectUri)) {
      throw oauthError(
        400,
        'invalid_request',
        'a grant for the gateway API may only be sent to a loopback redirect_uri (127.0.0.1, [::1] or localhost)',
      );
    }

    const session = await ctx.uiSessions.readSession(readCookie(req, UI_SESSION_COOKIE));
    if (!session) {
      // Through the gateway's SSO sign-in and back here, with the same query (ui-login.ts).
      const returnTo = `${NATIVE_LOGIN_PATHS.authorize}?${new URL(req.originalUrl, 'http://x').search.slice(1)}`;
      if (!isSafeReturnTo(returnTo)) {
        // It travels in a cookie through the sign-in (ui-session.ts); said here, not after the IdP.
        throw oauthError(
          400,
          'invalid_request',
          `the authorization request is too long to carry through the sign-in (at most ${RETURN_TO_MAX_LENGTH} characters of path and query)`,
        );
      }
      const entry = new URL(`${base}${CLI_SSO_PATHS.browserEntry}`);
      entry.searchParams.set('return_to', returnTo);
      ctx.logger.info('native_authorize_needs_sign_in', {});
      res.set('cache-control', 'no-store').redirect(303, entry.toString());
      return;
    }
    const user = await ctx.users.get(session.userId);
    if (!user) throw oauthError(403, 'access_denied', 'the signed-in user is not known to this gateway');
    const flow = await seals.seal(
      'consent-flow',
      {
        jti: randomUUID(),
        user_id: user.userId,
        client_id: client.clientId,
        redirect_uri: redirectUri,
        state,
        code_challenge: codeChallenge,
        teams: user.teams,
      },
      CONSENT_FLOW_SECONDS,
    );
    const clientOrigin = new URL(redirectUri).origin;
    ctx.logger.info('native_consent_shown', { user_id: user.userId, client_origin: clientOrigin });
    res
      .status(200)
      .type('html')
      .set(consentPageHeaders(clientOrigin))
      .send(
        consentPage({
          clientOrigin,
          userId: user.userId,
          userEmail: user.email,
          credentialHours: Math.round(ctx.config.cliKeyLifetimeSeconds / 360) / 10,
          teams: user.teams.map((teamId) => ({ teamId, teamAlias: teamAliasOf(ctx, teamId) })),
          action: `${base}${NATIVE_LOGIN_PATHS.complete}`,
          flow,
        }),
      );
  };
}

interface ConsentFlow {
  jti: string;
  userId: string;
  clientId: string;
  redirectUri: string;
  state: string;
  codeChallenge: string;
  teams: string[];
  exp: number;
}

async function openFlow(seals: Seals, handle: string | undefined): Promise<ConsentFlow> {
  const opened = await seals.open('consent-flow', handle);
  if (!opened.ok) {
    // mutation-equivalent: CLISSO-NATIVE-19 judges any 4xx for a flow handle that does not open, and the words
    // only say why
    throw oauthError(
      400,
      'invalid_request',
      opened.reason === 'expired'
        ? 'this consent page has expired: start the sign-in again from the CLI'
        : 'unknown or malformed consent flow: start the sign-in again from the CLI',
    );
  }
  const c = opened.claims;
  const strings = [c.jti, c.user_id, c.client_id, c.redirect_uri, c.state, c.code_challenge];
  if (!strings.every((v) => typeof v === 'string') || !Array.isArray(c.teams) || typeof c.exp !== 'number') {
    throw oauthError(400, 'invalid_request', 'unknown or malformed consent flow: start the sign-in again from the CLI');
  }
  return {
    jti: c.jti as string,
    userId: c.user_id as string,
    clientId: c.client_id as string,
    redirectUri: c.redirect_uri as string,
    state: c.state as string,
    codeChallenge: c.code_challenge as string,
    teams: c.teams.filter((t): t is string => typeof t === 'string'),
    exp: c.exp,
  };
}

export function authorizeComplete(ctx: ProxyContext, seals: Seals): RequestHandler {
  return async (req, res) => {
    const decision = formField(req, 'decision') ?? 'approve';
    if (decision !== 'approve' && decision !== 'deny') {
      throw oauthError(400, 'invalid_request', "decision must be 'approve' or 'deny'");
    }
    const session = await ctx.uiSessions.readSession(readCookie(req, UI_SESSION_COOKIE));
    if (!session) throw oauthError(401, 'login_required', 'sign in to the gateway to finish authorizing the CLI');
    const flow = await openFlow(seals, formField(req, 'flow'));
    if (flow.userId !== session.userId) {
      throw oauthError(403, 'access_denied', 'this consent page was shown to another user than the one signed in');
    }
    // mutation-equivalent: the consent form sends one of the offered teams with a denial too, so checking it
    // then refuses nothing a browser sends
    const teamId = decision === 'approve' ? chosenTeam(req, flow) : null;
    const remainingMs = (flow.exp - nowSeconds(ctx.clock)) * 1000;
    // Last, after every check that leaves the flow usable: a refused post can be corrected and sent again.
    if (!(await ctx.flows.markOnce(`consent-flow:${flow.jti}`, remainingMs + 60_000))) {
      // mutation-equivalent: the status and words only: CLISSO-NATIVE-19 asks a 4xx that issues no code
      throw oauthError(
        400,
        'invalid_request',
        'this consent was already answered: start the sign-in again from the CLI',
      );
    }
    const target = new URL(flow.redirectUri);
    if (decision === 'deny') {
      target.searchParams.set('error', 'access_denied');
      ctx.logger.info('native_consent_denied', { user_id: flow.userId });
    } else {
      const code = await seals.seal(
        'code',
        {
          jti: randomUUID(),
          user_id: flow.userId,
          client_id: flow.clientId,
          redirect_uri: flow.redirectUri,
          code_challenge: flow.codeChallenge,
          team_id: teamId,
        },
        CODE_SECONDS,
      );
      target.searchParams.set('code', `${CODE_PREFIX}${code}`);
      ctx.logger.info('native_code_issued', { user_id: flow.userId, team_id: teamId });
    }
    if (flow.state !== '') target.searchParams.set('state', flow.state);
    res.set('cache-control', 'no-store').redirect(303, target.toString());
  };
}

/** The team the person picked: one of the flow's teams when the user has any, else none. */
function chosenTeam(req: Request, flow: ConsentFlow): string | null {
  const picked = formField(req, 'team_id') ?? '';
  if (flow.teams.length === 0) {
    if (picked !== '') throw oauthError(400, 'invalid_request', 'this user has no team: send no team_id');
    return null;
  }
  if (!flow.teams.includes(picked)) {
    throw oauthError(400, 'invalid_request', `team_id must be one of the user's teams: ${flow.teams.join(', ')}`);
  }
  return picked;
}
