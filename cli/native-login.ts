/**
 * The CLI's side of the PKCE-native login (docs/contract.md section 10.6): read and check the
 * discovery document, register a public client, build the authorize URL, and speak to the token
 * and revocation endpoints. Every answer is checked field by field; the code, the verifier, the
 * refresh token and the key travel only in request bodies, never in a URL or a message.
 */
import { createRequire } from 'node:module';
import { z } from 'zod';
import { WireFormatError } from '../protocol/cli-sso.ts';
import { NATIVE_LOGIN_PATHS } from '../protocol/native-login.ts';
import { CliError } from './exit-codes.ts';
import { type Operation, type RequestOptions, requestJson } from './gateway-client.ts';
import { offGatewayRule } from './gateway-link.ts';
import { shown } from './terminal-safe.ts';

/** Where a gateway describes its PKCE-native login, under its base URL. */
export const DISCOVERY_PATH = NATIVE_LOGIN_PATHS.discovery;
/** The discovery document's version this CLI understands. */
export const SUPPORTED_CONTRACT_VERSION = 1;
/** The loopback listener's path; the redirect URI is `http://127.0.0.1:<port>/callback`. */
export const CALLBACK_PATH = '/callback';

export interface Discovery {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  registrationEndpoint: string;
  revocationEndpoint: string;
  resource: string;
}

const OPERATIONS = {
  discovery: { operation: 'reading the PKCE login discovery document', answer: 'discovery document' },
  register: { operation: 'registering the CLI as a client', answer: 'registration answer' },
  token: { operation: 'exchanging the authorization code', answer: 'token answer' },
  refresh: { operation: 'renewing the key', answer: 'token answer' },
  revoke: { operation: 'revoking the refresh token', answer: 'revocation answer' },
} as const satisfies Record<string, Operation>;

const discoverySchema = z.object({
  contract_version: z.number(),
  issuer: z.string(),
  authorization_endpoint: z.string(),
  token_endpoint: z.string(),
  registration_endpoint: z.string(),
  revocation_endpoint: z.string(),
  resource: z.string(),
  code_challenge_methods_supported: z.array(z.string()),
  token_endpoint_auth_methods_supported: z.array(z.string()),
});

/** A discovery document the CLI must not follow: names the field and the rule it breaks. */
function refusedDiscovery(url: string, field: string, rule: string): CliError {
  return new CliError(
    'gatewayError',
    `the gateway's PKCE login discovery document (${url}) cannot be used: field "${field}" ${rule}`,
    'The gateway is misconfigured (behind a proxy, PROXY_BASE_URL must be its public URL), or --base-url points elsewhere; tell its operator, or log in with `cli-sso login --classic`.',
  );
}

/**
 * GET {base}/.well-known/litellm-cli-auth and check it against the base URL the CLI was given:
 * the issuer is that URL (its path included), every endpoint is on its origin and under its path
 * (a code, a verifier or a refresh token must never be sent to another server), S256 and public
 * clients are supported.
 */
export async function discover(baseUrl: string, options: RequestOptions): Promise<Discovery> {
  const url = `${baseUrl}${DISCOVERY_PATH}`;
  const { body } = await requestJson(url, baseUrl, OPERATIONS.discovery, { method: 'GET', headers: {}, ...options });
  const parsed = discoverySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(body)';
    throw refusedDiscovery(url, shown(field), issue ? shown(issue.message) : 'is invalid');
  }
  const d = parsed.data;
  if (d.contract_version !== SUPPORTED_CONTRACT_VERSION) {
    throw refusedDiscovery(
      url,
      'contract_version',
      `must be ${SUPPORTED_CONTRACT_VERSION}, the version this CLI speaks (got ${d.contract_version})`,
    );
  }
  if (d.issuer.replace(/\/+$/, '') !== baseUrl) {
    throw refusedDiscovery(
      url,
      'issuer',
      `must be the gateway URL the CLI was given, ${baseUrl} (got ${shown(JSON.stringify(d.issuer))})`,
    );
  }
  const underIssuer = (field: string, value: string, equalAllowed: boolean): string => {
    const rule = offGatewayRule(baseUrl, value, equalAllowed);
    if (rule !== undefined) throw refusedDiscovery(url, field, rule);
    return value;
  };
  const discovery: Discovery = {
    issuer: baseUrl,
    authorizationEndpoint: underIssuer('authorization_endpoint', d.authorization_endpoint, false),
    tokenEndpoint: underIssuer('token_endpoint', d.token_endpoint, false),
    registrationEndpoint: underIssuer('registration_endpoint', d.registration_endpoint, false),
    revocationEndpoint: underIssuer('revocation_endpoint', d.revocation_endpoint, false),
    resource: underIssuer('resource', d.resource, true),
  };
  if (!d.code_challenge_methods_supported.includes('S256')) {
    throw refusedDiscovery(url, 'code_challenge_methods_supported', 'must include "S256"');
  }
  if (!d.token_endpoint_auth_methods_supported.includes('none')) {
    throw refusedDiscovery(
      url,
      'token_endpoint_auth_methods_supported',
      'must include "none" (the CLI is a public client without a secret)',
    );
  }
  return discovery;
}

const registrationSchema = z.object({ client_id: z.string().min(1).max(4096) });

/** POST /register: a public client for this one loopback redirect URI. */
export async function registerClient(
  discovery: Discovery,
  redirectUri: string,
  options: RequestOptions,
): Promise<string> {
  const { body } = await requestJson(discovery.registrationEndpoint, discovery.issuer, OPERATIONS.register, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'cli-sso',
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }),
    ...options,
  });
  return parseOrThrow(registrationSchema, body, OPERATIONS.register.answer).client_id;
}

export interface PkcePair {
  verifier: string;
  challenge: string;
}

/** RFC 7636: a 43-character verifier (32 random bytes, base64url) and its S256 challenge. */
export function newPkcePair(): PkcePair {
  const { createHash, randomBytes } = nodeCrypto();
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** A fresh `state`: ties the loopback answer to this sign-in (RFC 6749 section 10.12). */
export function newState(): string {
  return nodeCrypto().randomBytes(24).toString('base64url');
}

/**
 * node:crypto when a PKCE login needs it, not at every start (cli/README.md, Start-up time); through
 * require, as token-store.ts does, because the bundle is compiled through node:vm.
 */
function nodeCrypto(): typeof import('node:crypto') {
  return createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
}

export function authorizeUrl(
  discovery: Discovery,
  params: { clientId: string; redirectUri: string; state: string; challenge: string },
): string {
  const url = new URL(discovery.authorizationEndpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', params.clientId);
  url.searchParams.set('redirect_uri', params.redirectUri);
  url.searchParams.set('state', params.state);
  url.searchParams.set('code_challenge', params.challenge);
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('resource', discovery.resource);
  return url.toString();
}

const tokensSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().regex(/^bearer$/i, 'must be "Bearer"'),
  expires_in: z.number().int().positive().optional(),
  refresh_token: z.string().min(1),
  user_id: z.string().nullable().optional(),
  team_id: z.string().nullable().optional(),
});

export interface Tokens {
  accessToken: string;
  expiresInSeconds: number | undefined;
  refreshToken: string;
  userId: string | null;
  teamId: string | null;
}

function parseTokens(body: unknown): Tokens {
  const t = parseOrThrow(tokensSchema, body, OPERATIONS.token.answer);
  return {
    accessToken: t.access_token,
    expiresInSeconds: t.expires_in,
    refreshToken: t.refresh_token,
    userId: t.user_id ?? null,
    teamId: t.team_id ?? null,
  };
}

function postForm(
  url: string,
  issuer: string,
  operation: Operation,
  fields: Record<string, string>,
  options: RequestOptions,
) {
  return requestJson(url, issuer, operation, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    ...options,
  });
}

/** POST /token, grant authorization_code: the code and the verifier that proves this CLI asked for it. */
export async function redeemCode(
  discovery: Discovery,
  params: { clientId: string; code: string; verifier: string; redirectUri: string },
  options: RequestOptions,
): Promise<Tokens> {
  const { body } = await postForm(
    discovery.tokenEndpoint,
    discovery.issuer,
    OPERATIONS.token,
    {
      grant_type: 'authorization_code',
      code: params.code,
      code_verifier: params.verifier,
      redirect_uri: params.redirectUri,
      client_id: params.clientId,
      resource: discovery.resource,
    },
    options,
  );
  return parseTokens(body);
}

export interface StoredGrant {
  baseUrl: string;
  clientId: string;
  refreshToken: string;
  tokenEndpoint: string;
  revocationEndpoint: string;
  resource: string;
}

/** POST /token, grant refresh_token: a new key and a new refresh token (the old one is spent). */
export async function refreshTokens(grant: StoredGrant, options: RequestOptions): Promise<Tokens> {
  const { body } = await postForm(
    grant.tokenEndpoint,
    grant.baseUrl,
    OPERATIONS.refresh,
    {
      grant_type: 'refresh_token',
      refresh_token: grant.refreshToken,
      client_id: grant.clientId,
      resource: grant.resource,
    },
    options,
  );
  return parseTokens(body);
}

/** POST /revoke (RFC 7009): the refresh token, so nobody can renew the key any more. */
export async function revokeRefreshToken(grant: StoredGrant, options: RequestOptions): Promise<void> {
  await postForm(
    grant.revocationEndpoint,
    grant.baseUrl,
    OPERATIONS.revoke,
    { token: grant.refreshToken, token_type_hint: 'refresh_token', client_id: grant.clientId },
    options,
  );
}

function parseOrThrow<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(body)';
    throw new WireFormatError(what, field, issue ? issue.message : 'is invalid');
  }
  return result.data;
}
