/**
 * Middleware inside oidc-provider (a Koa app): it sees each OpenID request before and after the
 * provider handles it. Here faults fire, id_tokens are re-signed for the id_token faults and the
 * clock offset, and the journal learns the endpoint, client and OAuth parameters of the request.
 */
import type { IncomingMessage } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { decodeJwt, decodeProtectedHeader, importJWK, SignJWT } from 'jose';
import type { KoaContextWithOIDC, Provider } from 'oidc-provider';
import { z } from 'zod';
import type { Logger } from '../common/logger.ts';
import type { Claims } from './claims.ts';
import type { Fault, FaultBook, FaultEndpoint } from './faults.ts';
import type { RequestEntry } from './journal.ts';
import { ENDPOINT_PATHS } from './provider.ts';
import { makeSigningKey, type SigningAlgorithm, type SigningKeys } from './signing-keys.ts';

/** What the provider middleware learned about a request, read by the journal at the express layer. */
export type RequestNotes = Pick<RequestEntry, 'endpoint' | 'clientId' | 'params' | 'fault'>;

export interface ProviderMiddlewareDeps {
  faults: FaultBook;
  keys: SigningKeys;
  /** Seconds added to the IdP's notion of "now" in issued id_tokens and introspection answers. */
  clockOffsetSeconds(): number;
  notes: WeakMap<IncomingMessage, RequestNotes>;
  logger: Logger;
  /** The user's claims oidc-provider cannot release (claims.ts NAMES_OUTSIDE_PROVIDER), by subject. */
  claimsOutsideProvider(sub: string): Claims;
  /** The id_token carries the user's claims too (provider.ts idTokenUserClaims). */
  idTokenUserClaims: boolean;
  /**
   * Clients registered with client_secret_post: their token requests authenticated with HTTP Basic
   * are refused (oidc-provider takes either method from any client with a secret).
   */
  secretInBodyClients?: ReadonlySet<string>;
}

const PATH_TO_ENDPOINT = new Map<string, FaultEndpoint>([
  ['/.well-known/openid-configuration', 'discovery'],
  [ENDPOINT_PATHS.jwks, 'jwks'],
  [ENDPOINT_PATHS.authorization, 'authorization'],
  [ENDPOINT_PATHS.token, 'token'],
  [ENDPOINT_PATHS.userinfo, 'userinfo'],
  [ENDPOINT_PATHS.introspection, 'introspection'],
  [ENDPOINT_PATHS.revocation, 'revocation'],
  [ENDPOINT_PATHS.device_authorization, 'device_authorization'],
  [ENDPOINT_PATHS.end_session, 'end_session'],
]);

export function endpointOfPath(path: string): FaultEndpoint | undefined {
  return PATH_TO_ENDPOINT.get(path);
}

/** The Koa context oidc-provider hands to its middleware (`ctx.oidc` exists only after routing). */
type ProviderContext = Parameters<Parameters<Provider['use']>[0]>[0] & Partial<Pick<KoaContextWithOIDC, 'oidc'>>;

const withIdToken = z.looseObject({ id_token: z.string() });
const withIssuer = z.looseObject({ issuer: z.string() });
const introspectionTimes = z.looseObject({
  active: z.literal(true),
  iat: z.number().optional(),
  exp: z.number().optional(),
});

export function installProviderMiddleware(provider: Provider, deps: ProviderMiddlewareDeps): void {
  provider.use(async (ctx: ProviderContext, next) => {
    ignoreResumeQuery(ctx);
    const endpoint = endpointOfPath(ctx.path);
    if (endpoint === 'token' && basicAuthClientIn(ctx, deps.secretInBodyClients)) {
      ctx.status = 401;
      ctx.body = {
        error: 'invalid_client',
        error_description: 'this client is registered with client_secret_post: send its id and secret in the form body',
      };
      return;
    }
    const fault = endpoint ? deps.faults.take(endpoint) : undefined;
    if (fault) deps.logger.info('fault.fired', { id: fault.id, endpoint, kind: fault.spec.kind });
    // Added before any fault re-signs the id_token, so a fault's defect is the only one.
    const nextWithOwnClaims = async () => {
      await next();
      await releaseClaimsOutsideProvider(ctx, endpoint, deps);
    };
    try {
      await handleWithFault(ctx, nextWithOwnClaims, fault, provider, deps);
      if (endpoint === 'token' || endpoint === 'introspection') await shiftClock(ctx, deps);
    } finally {
      const oidc = ctx.oidc;
      deps.notes.set(ctx.req, {
        ...(endpoint ? { endpoint } : {}),
        ...(oidc?.client?.clientId ? { clientId: oidc.client.clientId } : {}),
        ...(oidc?.params ? { params: definedParams(oidc.params) } : {}),
        ...(fault ? { fault: fault.spec.kind } : {}),
      });
    }
  });
}

/** The resume routes of oidc-provider: `/authorize/{uid}` and `/device/{uid}`. */
const RESUME_PATH = new RegExp(
  `^(${ENDPOINT_PATHS.authorization}|${ENDPOINT_PATHS.code_verification})/[^/]+/?$`.replaceAll('.', '\\.'),
);

/**
 * A resume takes its parameters from the stored interaction, never from its query (oidc-provider
 * builds resume URLs without one). When a resume fails with a `client_id` in the query,
 * oidc-provider's error handler finds that client, looks for the request's redirect_uri among
 * parameters the resume never assembled and throws a TypeError: a 500 instead of its 400 page for an
 * unknown or expired interaction. Unrecognised parameters are ignored (RFC 6749 section 3.1), so the
 * query is dropped before the provider sees it.
 */
function ignoreResumeQuery(ctx: ProviderContext): void {
  if (ctx.querystring !== '' && RESUME_PATH.test(ctx.path)) ctx.querystring = '';
}

async function handleWithFault(
  ctx: ProviderContext,
  next: () => Promise<unknown>,
  fault: Fault | undefined,
  provider: Provider,
  deps: ProviderMiddlewareDeps,
): Promise<void> {
  if (!fault) {
    await next();
    return;
  }
  const spec = fault.spec;
  switch (spec.kind) {
    case 'status':
      ctx.status = spec.status;
      ctx.body = spec.body === undefined ? '' : JSON.stringify(spec.body);
      if (spec.body !== undefined) ctx.type = 'application/json';
      return;
    case 'oauth_error':
      await oauthError(ctx, provider, spec.status, spec.error, spec.error_description);
      return;
    case 'delay':
      await delay(spec.delay_ms);
      await next();
      return;
    case 'drop_connection':
      // The client sees a reset socket and no answer at all.
      ctx.respond = false;
      ctx.req.socket.destroy();
      return;
    case 'malformed_body':
      await next();
      ctx.type = 'application/json';
      ctx.body = '{"this is": not JSON';
      return;
    case 'wrong_issuer': {
      await next();
      const discovery = withIssuer.safeParse(ctx.body);
      if (ctx.path === '/.well-known/openid-configuration' && discovery.success) {
        ctx.body = { ...discovery.data, issuer: spec.issuer };
      } else {
        await resignIdToken(ctx, deps.keys, (claims) => ({ ...claims, iss: spec.issuer }));
      }
      return;
    }
    case 'wrong_audience':
      await next();
      await resignIdToken(ctx, deps.keys, (claims) => ({ ...claims, aud: spec.audience }));
      return;
    case 'wrong_signing_key':
      await next();
      await resignIdToken(ctx, deps.keys, (claims) => claims, { foreignKey: true });
      return;
    case 'expired_id_token':
      await next();
      await resignIdToken(ctx, deps.keys, (claims) => {
        const now = Math.floor(Date.now() / 1000) + deps.clockOffsetSeconds();
        const exp = now - spec.expired_seconds_ago;
        return { ...claims, exp, iat: Math.min(Number(claims['iat'] ?? exp), exp - 60) };
      });
      return;
  }
}

/**
 * An OAuth error answer. At the authorization endpoint the error goes back to the client's redirect
 * URI when that URI is registered (RFC 6749 section 4.1.2.1, with `iss` per RFC 9207); elsewhere it is
 * a JSON body (RFC 6749 section 5.2).
 */
async function oauthError(
  ctx: ProviderContext,
  provider: Provider,
  status: number,
  error: string,
  description: string | undefined,
): Promise<void> {
  if (ctx.path === ENDPOINT_PATHS.authorization) {
    const clientId = ctx.query['client_id'];
    const redirectUri = ctx.query['redirect_uri'];
    const client = typeof clientId === 'string' ? await provider.Client.find(clientId) : undefined;
    if (client && typeof redirectUri === 'string' && client.redirectUriAllowed(redirectUri)) {
      const target = new URL(redirectUri);
      target.searchParams.set('error', error);
      if (description) target.searchParams.set('error_description', description);
      const state = ctx.query['state'];
      if (typeof state === 'string') target.searchParams.set('state', state);
      target.searchParams.set('iss', provider.issuer);
      ctx.redirect(target.toString());
      return;
    }
  }
  ctx.status = status;
  ctx.body = { error, ...(description ? { error_description: description } : {}) };
}

/** Re-sign the id_token of a token answer with changed claims (and the real key unless `foreignKey`). */
async function resignIdToken(
  ctx: ProviderContext,
  keys: SigningKeys,
  change: (claims: Record<string, unknown>) => Record<string, unknown>,
  options: { foreignKey?: boolean } = {},
): Promise<void> {
  const answer = withIdToken.safeParse(ctx.body);
  if (!answer.success) return;
  const idToken = await resign(answer.data.id_token, keys, change, options.foreignKey ?? false);
  if (idToken) ctx.body = { ...answer.data, id_token: idToken };
}

async function resign(
  token: string,
  keys: SigningKeys,
  change: (claims: Record<string, unknown>) => Record<string, unknown>,
  foreignKey: boolean,
): Promise<string | undefined> {
  const header = decodeProtectedHeader(token);
  const alg = header.alg === 'ES256' || header.alg === 'RS256' ? (header.alg satisfies SigningAlgorithm) : undefined;
  const kid = header.kid;
  const ownKey = kid ? keys.find(kid) : undefined;
  if (!alg || !kid || !ownKey) return undefined;
  // A foreign key keeps the real kid, so the RP finds a key and the signature check itself fails.
  const jwk = foreignKey ? await makeSigningKey(alg) : ownKey;
  const key = await importJWK(jwk, alg);
  return new SignJWT(change({ ...decodeJwt(token) })).setProtectedHeader({ ...header, alg, kid }).sign(key);
}

/**
 * Claims oidc-provider cannot carry (claims.ts NAMES_OUTSIDE_PROVIDER) join the answer where the
 * user's other custom claims are: userinfo, and the id_token when it carries user claims; both only
 * under the `profile` scope, which declares every custom claim (provider.ts scopeClaims).
 */
async function releaseClaimsOutsideProvider(
  ctx: ProviderContext,
  endpoint: FaultEndpoint | undefined,
  deps: ProviderMiddlewareDeps,
): Promise<void> {
  if (ctx.status !== 200) return;
  if (endpoint === 'userinfo') {
    const answer = userinfoAnswer.safeParse(ctx.body);
    const scope = ctx.oidc?.params?.['scope'] ?? ctx.oidc?.accessToken?.scope;
    if (!answer.success || !hasProfileScope(scope)) return;
    const extra = Object.entries(deps.claimsOutsideProvider(answer.data.sub));
    // Object.fromEntries makes own properties whatever the name (assignment would not).
    if (extra.length > 0) ctx.body = Object.fromEntries([...Object.entries(answer.data), ...extra]);
    return;
  }
  if (endpoint === 'token' && deps.idTokenUserClaims) {
    const answer = withIdToken.safeParse(ctx.body);
    if (!answer.success || !hasProfileScope(answer.data['scope'])) return;
    const sub = decodeJwt(answer.data.id_token).sub;
    const extra = Object.entries(sub === undefined ? {} : deps.claimsOutsideProvider(sub));
    if (extra.length > 0) {
      await resignIdToken(ctx, deps.keys, (claims) => Object.fromEntries([...Object.entries(claims), ...extra]));
    }
  }
}

const userinfoAnswer = z.looseObject({ sub: z.string() });

function hasProfileScope(scope: unknown): boolean {
  return typeof scope === 'string' && scope.split(' ').includes('profile');
}

/** The clock offset moves every time claim the IdP issues, as if its clock were off by that much. */
async function shiftClock(ctx: ProviderContext, deps: ProviderMiddlewareDeps): Promise<void> {
  const offset = deps.clockOffsetSeconds();
  if (offset === 0) return;
  const shift = (value: unknown) => (typeof value === 'number' ? value + offset : value);
  const introspection = introspectionTimes.safeParse(ctx.body);
  if (introspection.success) {
    ctx.body = { ...introspection.data, iat: shift(introspection.data.iat), exp: shift(introspection.data.exp) };
    return;
  }
  await resignIdToken(ctx, deps.keys, (claims) => ({
    ...claims,
    iat: shift(claims['iat']),
    exp: shift(claims['exp']),
    ...(claims['auth_time'] !== undefined ? { auth_time: shift(claims['auth_time']) } : {}),
  }));
}

function definedParams(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([, value]) => value !== undefined));
}

/** A request authenticated with HTTP Basic as one of `clients`. */
function basicAuthClientIn(ctx: ProviderContext, clients: ReadonlySet<string> | undefined): boolean {
  const header = ctx.get('authorization');
  if (!clients || clients.size === 0 || !/^basic /i.test(header)) return false;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const user = decoded.slice(0, Math.max(0, decoded.indexOf(':')));
  try {
    return clients.has(decodeURIComponent(user));
  } catch {
    return false;
  }
}
