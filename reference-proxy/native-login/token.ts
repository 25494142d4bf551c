/**
 * POST /token and POST /revoke of the PKCE-native login (docs/contract.md section 10.6).
 *
 * The access token is a CLI key (key-issuer.ts), the very credential the classic login hands out,
 * so every API route accepts it. The refresh token is sealed (seals.ts) and rotates: each use
 * returns a new one and burns the old. Every token of one login shares a family (the id of the code
 * it started from); a refresh token presented a second time, or an authorization code redeemed a
 * second time, revokes the whole family (RFC 9700 section 4.14.2), so whichever of the thief and the
 * client comes second, the credential both hold stops renewing. Burned tokens and revoked families
 * are names in the flow store (markOnce), which replicas sharing Redis share.
 *
 * Checks that leave a grant usable (a wrong `resource`, the user's team) come before the grant is
 * burned, so a client's mistake does not cost the person a sign-in.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import type { JWTPayload } from 'jose';
import { nowSeconds } from '../../common/clock.ts';
import { oauthError } from '../http-errors.ts';
import type { ProxyContext } from '../proxy-context.ts';
import { publicBaseUrl } from '../request-helpers.ts';
import { type RegisteredClient, requireClient } from './clients.ts';
import { CODE_PREFIX, REFRESH_TOKEN_PREFIX } from './paths.ts';
import { isThisGateway } from './redirect-uris.ts';
import type { Seals } from './seals.ts';
import { formField, modelsForTeam } from './shared.ts';

/** How long a refresh token lives; every rotation starts a new one. */
export const REFRESH_TOKEN_SECONDS = 14 * 24 * 3600;
/** A burned name outlives what it names by this much, so clock skew between replicas cannot reopen it. */
const MARK_MARGIN_MS = 60_000;
/** RFC 7636 section 4.1: 43 to 128 unreserved characters. */
const CODE_VERIFIER_LENGTH = { min: 43, max: 128 } as const;
// mutation-equivalent: LiteLLM checks a verifier's length only, so the contract judges the length
// (CLISSO-NATIVE-11) and the character set is the reference's own care
const CODE_VERIFIER_CHARACTERS = /^[A-Za-z0-9._~-]*$/;

interface Grant {
  /** Who the tokens are for, and for which team. */
  userId: string;
  teamId: string | null;
  clientId: string;
  /** The login the tokens descend from: revoking it stops every refresh token it produced. */
  family: string;
}

export function token(ctx: ProxyContext, seals: Seals): RequestHandler {
  return async (req, res) => {
    const grantType = formField(req, 'grant_type');
    if (grantType !== 'authorization_code' && grantType !== 'refresh_token') {
      throw oauthError(400, 'unsupported_grant_type', 'grant_type must be authorization_code or refresh_token');
    }
    const client = await requireClient(seals, formField(req, 'client_id'));
    if (grantType === 'authorization_code') await redeemCode(ctx, seals, req, res, client);
    else await rotateRefreshToken(ctx, seals, req, res, client);
  };
}

async function redeemCode(
  ctx: ProxyContext,
  seals: Seals,
  req: Request,
  res: Response,
  client: RegisteredClient,
): Promise<void> {
  const code = formField(req, 'code');
  const redirectUri = formField(req, 'redirect_uri');
  const verifier = formField(req, 'code_verifier');
  if (!code || !redirectUri || !verifier) {
    throw oauthError(400, 'invalid_request', 'code, redirect_uri and code_verifier are required');
  }
  const { min, max } = CODE_VERIFIER_LENGTH;
  if (verifier.length < min || verifier.length > max || !CODE_VERIFIER_CHARACTERS.test(verifier)) {
    throw oauthError(
      400,
      'invalid_request',
      'code_verifier must be 43 to 128 characters of A-Z, a-z, 0-9, "-", ".", "_", "~" (RFC 7636)',
    );
  }
  const opened = await seals.open('code', code.startsWith(CODE_PREFIX) ? code.slice(CODE_PREFIX.length) : undefined);
  if (!opened.ok) {
    // mutation-equivalent: the error is invalid_grant either way (CLISSO-NATIVE-18); the words only say why
    throw oauthError(
      400,
      'invalid_grant',
      opened.reason === 'expired' ? 'the authorization code has expired' : 'the authorization code is not valid',
    );
  }
  const c = opened.claims;
  if (c.client_id !== client.clientId || c.redirect_uri !== redirectUri) {
    throw oauthError(400, 'invalid_grant', 'the authorization code was issued to another client or redirect_uri');
  }
  if (typeof c.code_challenge !== 'string' || !sameText(s256(verifier), c.code_challenge)) {
    throw oauthError(
      400,
      'invalid_grant',
      'PKCE verification failed: the code_verifier does not match the code_challenge',
    );
  }
  checkResource(ctx, req);
  const grant: Grant = {
    userId: String(c.user_id),
    teamId: sealedTeamId(c),
    clientId: client.clientId,
    family: String(c.jti),
  };
  const mint = await prepareTokens(ctx, grant);
  // mutation-equivalent: every code this gateway seals has an exp (120 s), and only its key seals one: the
  // fallback is never used
  const codeLeftMs = ((c.exp ?? 0) - nowSeconds(ctx.clock)) * 1000;
  if (!(await ctx.flows.markOnce(`code:${grant.family}`, codeLeftMs + MARK_MARGIN_MS))) {
    // A code redeemed twice was intercepted or replayed: whatever the first redemption got stops renewing.
    await revokeFamily(ctx, grant.family);
    ctx.logger.warn('native_code_replayed', { user_id: grant.userId });
    throw oauthError(400, 'invalid_grant', 'the authorization code was already used');
  }
  await answerTokens(ctx, seals, res, grant, mint, 'native_code_redeemed');
}

async function rotateRefreshToken(
  ctx: ProxyContext,
  seals: Seals,
  req: Request,
  res: Response,
  client: RegisteredClient,
): Promise<void> {
  const presented = formField(req, 'refresh_token');
  if (!presented) throw oauthError(400, 'invalid_request', 'refresh_token is required');
  checkResource(ctx, req);
  const refresh = await openRefreshToken(seals, presented, client, ctx.clock.nowMs());
  if (!refresh) throw oauthError(400, 'invalid_grant', 'the refresh token is not valid for this client');
  if (await ctx.flows.isMarked(`family:${refresh.grant.family}`)) {
    throw oauthError(400, 'invalid_grant', 'the refresh token was revoked: sign in again');
  }
  const mint = await prepareTokens(ctx, refresh.grant);
  if (!(await ctx.flows.markOnce(`refresh:${refresh.jti}`, refresh.leftMs + MARK_MARGIN_MS))) {
    // Reference choice (docs/choices.md, docs/contract.md section 10.6): a refresh token used twice
    // was copied; its successor, whoever holds it, is revoked with it.
    await revokeFamily(ctx, refresh.grant.family);
    ctx.logger.warn('native_refresh_token_replayed', { user_id: refresh.grant.userId });
    throw oauthError(400, 'invalid_grant', 'the refresh token was already used');
  }
  await answerTokens(ctx, seals, res, refresh.grant, mint, 'native_refresh_token_rotated');
}

/** `resource`, when sent, must name this gateway's API (RFC 8707); absent means this gateway. */
function checkResource(ctx: ProxyContext, req: Request): void {
  const resource = formField(req, 'resource');
  const base = publicBaseUrl(req, ctx.config);
  if (resource !== undefined && !isThisGateway(resource, base)) {
    throw oauthError(400, 'invalid_target', `resource must be this gateway's API, ${base}`);
  }
}

interface RefreshToken {
  jti: string;
  grant: Grant;
  leftMs: number;
}

async function openRefreshToken(
  seals: Seals,
  presented: string,
  client: RegisteredClient,
  nowMs: number,
): Promise<RefreshToken | undefined> {
  if (!presented.startsWith(REFRESH_TOKEN_PREFIX)) return undefined;
  const opened = await seals.open('refresh', presented.slice(REFRESH_TOKEN_PREFIX.length));
  if (!opened.ok) return undefined;
  const c = opened.claims;
  if (typeof c.jti !== 'string' || typeof c.user_id !== 'string' || typeof c.family !== 'string') return undefined;
  // Another client's refresh token is no token at all to this one.
  if (c.client_id !== client.clientId) return undefined;
  return {
    jti: c.jti,
    grant: {
      userId: c.user_id,
      teamId: sealedTeamId(c),
      clientId: client.clientId,
      family: c.family,
    },
    leftMs: Math.max(0, (c.exp ?? 0) * 1000 - nowMs),
  };
}

interface Mint {
  role: string;
}

/**
 * The team a sealed code or refresh token names. Only this gateway can seal one (A256GCM), and it
 * seals a team id or null, so the claim is taken as it is.
 */
function sealedTeamId(claims: JWTPayload): string | null {
  return (claims.team_id as string | null | undefined) ?? null;
}

/** The user as stored now: a user who is gone, or left the grant's team, gets no new token. */
async function prepareTokens(ctx: ProxyContext, grant: Grant): Promise<Mint> {
  const user = await ctx.users.get(grant.userId);
  // mutation-equivalent: nor to delete a user (see below)
  if (!user) throw oauthError(400, 'invalid_grant', 'the user of this grant is no longer known to the gateway');
  // mutation-equivalent: the contract gives a client no way to take a user out of a team (LiteLLM does it
  // through its admin API, this gateway at the user's next sign-in from the IdP's groups), so no
  // scenario can reach this for any gateway
  if (grant.teamId !== null && !user.teams.includes(grant.teamId)) {
    throw oauthError(400, 'invalid_grant', 'the user is no longer a member of the team this grant was issued for');
  }
  return { role: user.role };
}

async function answerTokens(
  ctx: ProxyContext,
  seals: Seals,
  res: Response,
  grant: Grant,
  mint: Mint,
  event: string,
): Promise<void> {
  const issued = await ctx.keys.issue({
    userId: grant.userId,
    teamId: grant.teamId,
    userRole: mint.role,
    models: modelsForTeam(ctx, grant.teamId),
  });
  const refreshToken = `${REFRESH_TOKEN_PREFIX}${await seals.seal(
    'refresh',
    {
      jti: randomUUID(),
      family: grant.family,
      client_id: grant.clientId,
      user_id: grant.userId,
      team_id: grant.teamId,
    },
    REFRESH_TOKEN_SECONDS,
  )}`;
  ctx.logger.info(event, { user_id: grant.userId, team_id: grant.teamId });
  res.set({ 'cache-control': 'no-store', pragma: 'no-cache' }).json({
    access_token: issued.key,
    token_type: 'Bearer',
    expires_in: issued.expiresInSeconds,
    refresh_token: refreshToken,
    user_id: grant.userId,
    team_id: grant.teamId,
  });
}

async function revokeFamily(ctx: ProxyContext, family: string): Promise<void> {
  await ctx.flows.markOnce(`family:${family}`, REFRESH_TOKEN_SECONDS * 1000 + MARK_MARGIN_MS);
}

/**
 * POST /revoke (RFC 7009): a refresh token of this client is burned with its family; anything else
 * (garbage, another client's token, an access token, one already burned) is answered 200 alike, so
 * the endpoint tells nobody which tokens exist.
 */
export function revoke(ctx: ProxyContext, seals: Seals): RequestHandler {
  return async (req, res) => {
    const client = await requireClient(seals, formField(req, 'client_id'));
    const presented = formField(req, 'token') ?? '';
    const refresh = await openRefreshToken(seals, presented, client, ctx.clock.nowMs());
    if (refresh) {
      await ctx.flows.markOnce(`refresh:${refresh.jti}`, refresh.leftMs + MARK_MARGIN_MS);
      await revokeFamily(ctx, refresh.grant.family);
      ctx.logger.info('native_refresh_token_revoked', { user_id: refresh.grant.userId });
    }
    res.set('cache-control', 'no-store').json({});
  };
}

function s256(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
